package zeek

import "net/netip"

// likelyServerPort is Zeek's IsLikelyServerPort for TCP: whether a port
// is in likely_server_ports as Zeek's base protocol scripts, loaded by
// default, redefine it (each adds the ports its analyzer registers for).
// Zeek orients a connection whose first packet is not a SYN by it.
func likelyServerPort(p uint16) bool {
	switch p {
	case 21, 2811, // FTP, GridFTP
		22,      // SSH
		25, 587, // SMTP
		53,                                        // DNS
		79,                                        // Finger
		80, 81, 631, 1080, 3128, 8000, 8080, 8888, // HTTP
		88,       // Kerberos
		110,      // POP3
		135,      // DCE-RPC
		139, 445, // SMB
		143,       // IMAP
		389, 3268, // LDAP
		443, 563, 585, 614, 636, 989, 990, 992, 993, 995, 5223, // SSL
		502,        // Modbus
		1434, 3306, // MySQL
		1883,       // MQTT
		3389,       // RDP
		5222, 5269, // XMPP
		5432,                   // PostgreSQL
		6379,                   // Redis
		6666, 6667, 6668, 6669, // IRC
		20000: // DNP3
		return true
	}
	return false
}

// privateSpace is Zeek's Site::private_address_space (base/utils/site.zeek),
// which Zeek, since version 6, takes for local unless told otherwise
// (Site::private_address_space_is_local): it decides conn.log's
// local_orig and local_resp.
var privateSpace = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "2002::/24",
		"10.0.0.0/8", "2002:a00::/24",
		"100.64.0.0/10", "2002:6440::/26",
		"127.0.0.0/8", "2002:7f00::/24",
		"169.254.0.0/16", "2002:a9fe::/32",
		"172.16.0.0/12", "2002:ac10::/28",
		"192.0.0.0/24", "2002:c000::/40",
		"192.0.2.0/24", "2002:c000:200::/40",
		"192.168.0.0/16", "2002:c0a8::/32",
		"198.18.0.0/15", "2002:c612::/31",
		"198.51.100.0/24", "2002:c633:6400::/40",
		"203.0.113.0/24", "2002:cb00:7100::/40",
		"240.0.0.0/4", "2002:f000::/20",
		"255.255.255.255/32", "2002:ffff:ffff::/48",
		"::/128", "::1/128", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:2::/48", "2001:db8::/32",
		"fc00::/7", "fe80::/10",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// Local says whether Zeek, as it is configured out of the box, takes a
// for an address of the local site (Site::is_local_addr).
func Local(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range privateSpace {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
