package bpf

import (
	"fmt"
	"strconv"
	"strings"
)

// Service names, for port and portrange. tcpdump resolves them with
// getaddrinfo, from the machine's /etc/services; tcplens keeps its own
// table, so that a filter means the same on every machine (and in a -F
// file handed from one to another): the names, aliases and port numbers
// of the /etc/services of Debian 12 (netbase 6.4), IANA's registry
// entries, which tcpdump on Debian and Ubuntu reads. A name missing here
// is refused; give the number.
//
// Each entry is "name port" for a service of TCP and UDP alike, or
// "name port/tcp", "name port/udp", or both when they differ.
var serviceTable = "tcpmux 1/tcp;echo 7;discard 9;sink 9;null 9;systat 11/tcp;users 11/tcp;daytime 13;netstat 15/tcp;" +
	"qotd 17/tcp;quote 17/tcp;chargen 19;ttytst 19;source 19;ftp-data 20/tcp;ftp 21/tcp;fsp 21/udp;" +
	"fspd 21/udp;ssh 22/tcp;telnet 23/tcp;smtp 25/tcp;mail 25/tcp;time 37;timserver 37;whois 43/tcp;" +
	"nicname 43/tcp;tacacs 49;domain 53;bootps 67/udp;bootpc 68/udp;tftp 69/udp;gopher 70/tcp;" +
	"finger 79/tcp;http 80/tcp;www 80/tcp;kerberos 88;kerberos5 88;krb5 88;kerberos-sec 88;" +
	"iso-tsap 102/tcp;tsap 102/tcp;acr-nema 104/tcp;dicom 104/tcp;pop3 110/tcp;pop-3 110/tcp;" +
	"sunrpc 111;portmapper 111;auth 113/tcp;authentication 113/tcp;tap 113/tcp;ident 113/tcp;" +
	"nntp 119/tcp;readnews 119/tcp;untp 119/tcp;ntp 123/udp;epmap 135/tcp;loc-srv 135/tcp;" +
	"netbios-ns 137/udp;netbios-dgm 138/udp;netbios-ssn 139/tcp;imap2 143/tcp;imap 143/tcp;snmp 161;" +
	"snmp-trap 162;snmptrap 162;cmip-man 163;cmip-agent 164;mailq 174/tcp;xdmcp 177/udp;bgp 179/tcp;" +
	"smux 199/tcp;qmtp 209/tcp;z3950 210/tcp;wais 210/tcp;ipx 213/udp;ptp-event 319/udp;" +
	"ptp-general 320/udp;pawserv 345/tcp;zserv 346/tcp;rpc2portmap 369;codaauth2 370;" +
	"clearcase 371/udp;Clearcase 371/udp;ldap 389;svrloc 427;https 443;snpp 444/tcp;" +
	"microsoft-ds 445/tcp;kpasswd 464;submissions 465/tcp;ssmtp 465/tcp;smtps 465/tcp;urd 465/tcp;" +
	"saft 487/tcp;isakmp 500/udp;rtsp 554;nqs 607/tcp;asf-rmcp 623/udp;qmqp 628/tcp;ipp 631/tcp;" +
	"ldp 646;exec 512/tcp;biff 512/udp;comsat 512/udp;login 513/tcp;who 513/udp;whod 513/udp;" +
	"shell 514/tcp;cmd 514/tcp;syslog 514;printer 515/tcp;spooler 515/tcp;talk 517/udp;ntalk 518/udp;" +
	"route 520/udp;router 520/udp;routed 520/udp;gdomap 538;uucp 540/tcp;uucpd 540/tcp;klogin 543/tcp;" +
	"kshell 544/tcp;krcmd 544/tcp;dhcpv6-client 546/udp;dhcpv6-server 547/udp;afpovertcp 548/tcp;" +
	"nntps 563/tcp;snntp 563/tcp;submission 587/tcp;ldaps 636;tinc 655;silc 706/tcp;" +
	"kerberos-adm 749/tcp;domain-s 853;rsync 873/tcp;ftps-data 989/tcp;ftps 990/tcp;telnets 992/tcp;" +
	"imaps 993/tcp;pop3s 995/tcp;socks 1080/tcp;proofd 1093/tcp;rootd 1094/tcp;openvpn 1194;" +
	"rmiregistry 1099/tcp;lotusnote 1352/tcp;lotusnotes 1352/tcp;ms-sql-s 1433/tcp;ms-sql-m 1434/udp;" +
	"ingreslock 1524/tcp;datametrics 1645;old-radius 1645;sa-msg-port 1646;old-radacct 1646;" +
	"kermit 1649/tcp;groupwise 1677/tcp;l2f 1701/udp;l2tp 1701/udp;radius 1812;radius-acct 1813;" +
	"radacct 1813;cisco-sccp 2000/tcp;nfs 2049;gnunet 2086;rtcm-sc104 2101;gsigatekeeper 2119/tcp;" +
	"gris 2135/tcp;cvspserver 2401/tcp;venus 2430;venus-se 2431;codasrv 2432;codasrv-se 2433;mon 2583;" +
	"dict 2628/tcp;f5-globalsite 2792/tcp;gsiftp 2811/tcp;gpsd 2947/tcp;gds-db 3050/tcp;" +
	"gds_db 3050/tcp;icpv2 3130/udp;icp 3130/udp;isns 3205;iscsi-target 3260/tcp;mysql 3306/tcp;" +
	"ms-wbt-server 3389/tcp;nut 3493;distcc 3632/tcp;daap 3689/tcp;svn 3690/tcp;subversion 3690/tcp;" +
	"suucp 4031/tcp;sysrqd 4094/tcp;sieve 4190/tcp;epmd 4369/tcp;remctl 4373/tcp;f5-iquery 4353/tcp;" +
	"ntske 4460/tcp;ipsec-nat-t 4500/udp;iax 4569/udp;mtn 4691/tcp;radmin-port 4899/tcp;sip 5060;" +
	"sip-tls 5061;xmpp-client 5222/tcp;jabber-client 5222/tcp;xmpp-server 5269/tcp;" +
	"jabber-server 5269/tcp;cfengine 5308/tcp;mdns 5353/udp;postgresql 5432/tcp;postgres 5432/tcp;" +
	"freeciv 5556/tcp;rptp 5556/tcp;amqps 5671/tcp;amqp 5672/tcp;x11 6000/tcp;x11-0 6000/tcp;" +
	"x11-1 6001/tcp;x11-2 6002/tcp;x11-3 6003/tcp;x11-4 6004/tcp;x11-5 6005/tcp;x11-6 6006/tcp;" +
	"x11-7 6007/tcp;gnutella-svc 6346;gnutella-rtr 6347;redis 6379/tcp;sge-qmaster 6444/tcp;" +
	"sge_qmaster 6444/tcp;sge-execd 6445/tcp;sge_execd 6445/tcp;mysql-proxy 6446/tcp;babel 6696/udp;" +
	"ircs-u 6697/tcp;bbs 7000/tcp;afs3-fileserver 7000/udp;afs3-callback 7001/udp;" +
	"afs3-prserver 7002/udp;afs3-vlserver 7003/udp;afs3-kaserver 7004/udp;afs3-volser 7005/udp;" +
	"afs3-bos 7007/udp;afs3-update 7008/udp;afs3-rmtsys 7009/udp;font-service 7100/tcp;xfs 7100/tcp;" +
	"http-alt 8080/tcp;webcache 8080/tcp;puppet 8140/tcp;bacula-dir 9101/tcp;bacula-fd 9102/tcp;" +
	"bacula-sd 9103/tcp;xmms2 9667/tcp;nbd 10809/tcp;zabbix-agent 10050/tcp;zabbix-trapper 10051/tcp;" +
	"amanda 10080/tcp;hkp 11371/tcp;db-lsp 17500/tcp;dcap 22125/tcp;gsidcap 22128/tcp;wnn6 22273/tcp;" +
	"kerberos4 750;kerberos-iv 750;kdc 750;kerberos-master 751;kerberos_master 751/udp;" +
	"passwd-server 752/udp;passwd_server 752/udp;krb-prop 754/tcp;krb_prop 754/tcp;krb5_prop 754/tcp;" +
	"hprop 754/tcp;zephyr-srv 2102/udp;zephyr-clt 2103/udp;zephyr-hm 2104/udp;iprop 2121/tcp;" +
	"supfilesrv 871/tcp;supfiledbg 1127/tcp;poppassd 106/tcp;moira-db 775/tcp;moira_db 775/tcp;" +
	"moira-update 777/tcp;moira_update 777/tcp;moira-ureg 779/udp;moira_ureg 779/udp;spamd 783/tcp;" +
	"skkserv 1178/tcp;predict 1210/udp;rmtcfg 1236/tcp;xtel 1313/tcp;xtelw 1314/tcp;zebrasrv 2600/tcp;" +
	"zebra 2601/tcp;ripd 2602/tcp;ripngd 2603/tcp;ospfd 2604/tcp;bgpd 2605/tcp;ospf6d 2606/tcp;" +
	"ospfapi 2607/tcp;isisd 2608/tcp;fax 4557/tcp;hylafax 4559/tcp;munin 4949/tcp;lrrd 4949/tcp;" +
	"rplay 5555/udp;nrpe 5666/tcp;nsca 5667/tcp;canna 5680/tcp;syslog-tls 6514/tcp;sane-port 6566/tcp;" +
	"sane 6566/tcp;saned 6566/tcp;ircd 6667/tcp;zope-ftp 8021/tcp;tproxy 8081/tcp;omniorb 8088/tcp;" +
	"clc-build-daemon 8990/tcp;xinetd 9098/tcp;git 9418/tcp;zope 9673/tcp;webmin 10000/tcp;" +
	"kamanda 10081/tcp;amandaidx 10082/tcp;amidxtape 10083/tcp;sgi-cmsd 17001/udp;sgi-crsd 17002/udp;" +
	"sgi-gcd 17003/udp;sgi-cad 17004/tcp;binkp 24554/tcp;asp 27374;csync2 30865/tcp;" +
	"dircproxy 57000/tcp;tfido 60177/tcp;fido 60179/tcp;"

// A service's protocols, as libpcap's pcap_nametoport resolves them.
const (
	protoAny = 0 // TCP and UDP on the same port: SCTP, TCP and UDP are looked for
	protoTCP = 6
	protoUDP = 17
)

var services = map[string]struct{ tcp, udp int32 }{}

func init() {
	for _, e := range strings.Split(strings.TrimSuffix(serviceTable, ";"), ";") {
		f := strings.Fields(e)
		s := struct{ tcp, udp int32 }{-1, -1}
		for _, port := range f[1:] {
			n, proto, _ := strings.Cut(port, "/")
			v, _ := strconv.Atoi(n)
			switch proto {
			case "tcp":
				s.tcp = int32(v)
			case "udp":
				s.udp = int32(v)
			default:
				s.tcp, s.udp = int32(v), int32(v)
			}
		}
		services[f[0]] = s
	}
}

// lookupService is pcap_nametoport: the TCP port if the name has one
// (both protocols if UDP's is the same), else the UDP port.
func lookupService(name string) (port uint32, proto int, ok bool) {
	s, ok := services[name]
	switch {
	case !ok:
		return 0, 0, false
	case s.tcp >= 0 && s.udp == s.tcp:
		return uint32(s.tcp), protoAny, true
	case s.tcp >= 0:
		return uint32(s.tcp), protoTCP, true
	}
	return uint32(s.udp), protoUDP, true
}

// portRange is pcap_nametoportrange: "LOW-HIGH", each a number (the
// whole being what sscanf's "%d-%d" reads) or a service name; the
// protocol is the names' if they agree.
func portRange(s string) (lo, hi uint32, proto int, err error) {
	digits := func(s string) int {
		n := 0
		for n < len(s) && s[n] >= '0' && s[n] <= '9' {
			n++
		}
		return n
	}
	number := func(s string) (uint32, error) {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil || v > 65535 {
			return 0, fmt.Errorf("illegal port number %s > 65535", clip(s))
		}
		return uint32(v), nil
	}
	if n := digits(s); n > 0 && n < len(s) && s[n] == '-' {
		if m := digits(s[n+1:]); m > 0 {
			if lo, err = number(s[:n]); err == nil {
				hi, err = number(s[n+1 : n+1+m])
			}
			return lo, hi, protoAny, err
		}
	}
	first, second, found := strings.Cut(s, "-")
	side := func(s string) (uint32, int, bool) {
		if n := digits(s); n > 0 && n == len(s) {
			v, err := number(s)
			return v, protoAny, err == nil
		}
		return lookupService(s)
	}
	lo, p1, ok1 := side(first)
	hi, p2, ok2 := side(second)
	if !found || !ok1 || !ok2 {
		return 0, 0, 0, fmt.Errorf("unknown port in range '%s'", clip(s))
	}
	if p1 != p2 {
		p1 = protoAny
	}
	return lo, hi, p1, nil
}

// serviceProtos are the transport protocols a port of a service whose
// protocol is real is looked for in, under the qualifier pr.
func serviceProtos(pr proto, real int, what string) ([]uint32, error) {
	is := func(want int) error {
		switch {
		case real == protoTCP && want != protoTCP:
			return fmt.Errorf("%s is tcp", what)
		case real == protoUDP && want != protoUDP:
			return fmt.Errorf("%s is udp", what)
		}
		return nil
	}
	switch pr {
	case pTCP:
		return []uint32{6}, is(protoTCP)
	case pUDP:
		return []uint32{17}, is(protoUDP)
	case pSCTP:
		return []uint32{132}, is(132)
	}
	switch real {
	case protoTCP:
		return []uint32{6}, nil
	case protoUDP:
		return []uint32{17}, nil
	}
	return portProtos(pDefault)
}
