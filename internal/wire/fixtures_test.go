package wire_test

import (
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// mustHex decodes a hex fixture; spaces are ignored.
func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// cat joins byte slices into a new one.
func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// frame wraps captured bytes of link type t; wire is the length on the
// wire, 0 for len(data).
func frame(t pcap.LinkType, data []byte, wire int) *pcap.Frame {
	if wire == 0 {
		wire = len(data)
	}
	return &pcap.Frame{Number: 1, Link: t, Data: data, Length: wire}
}

// wantError checks that err is a *wire.Error for layer at offset.
func wantError(t *testing.T, what string, err error, layer string, offset int) {
	t.Helper()
	var we *wire.Error
	if !errors.As(err, &we) {
		t.Errorf("%s: error %v, want *wire.Error %s at %d", what, err, layer, offset)
		return
	}
	if we.Layer != layer || we.Offset != offset {
		t.Errorf("%s: error %q, want layer %q at byte %d", what, err, layer, offset)
	}
	if we.Msg() == "" || strings.HasSuffix(we.Msg(), ".") {
		t.Errorf("%s: message %q should be non-empty without a trailing period", what, we.Msg())
	}
}

// Fixtures shared by several tests. Each is one header, one comment per
// field.
var (
	// ethIPv4 is an Ethernet II header carrying IPv4.
	ethIPv4 = mustHex("" +
		"001122334455" + // destination MAC
		"66778899aabb" + // source MAC
		"0800") // EtherType IPv4
	// ethIPv6 is an Ethernet II header carrying IPv6.
	ethIPv6 = mustHex("" +
		"001122334455" + // destination MAC
		"66778899aabb" + // source MAC
		"86dd") // EtherType IPv6

	// ipv4SYN is the IPv4 header of synTCP: 20 + 40 bytes.
	ipv4SYN = mustHex("" +
		"45" + // version 4, IHL 5 (20 bytes)
		"02" + // DSCP 0, ECN 2 (ECT(0))
		"003c" + // total length 60
		"1234" + // identification 0x1234
		"4000" + // flags DF, fragment offset 0
		"40" + // TTL 64
		"06" + // protocol TCP
		"3c4f" + // header checksum
		"c0000201" + // source 192.0.2.1
		"c6336402") // destination 198.51.100.2

	// synTCP is a SYN with the options Linux sends, in a different order.
	synTCP = mustHex("" +
		"c350" + // source port 50000
		"0050" + // destination port 80
		"01020304" + // sequence number 0x01020304
		"00000000" + // acknowledgment number 0
		"a0" + // data offset 10 words (40 bytes), reserved 0, AE 0
		"02" + // flags SYN
		"faf0" + // window 64240
		"68f8" + // checksum (valid for ipv4SYN's addresses)
		"0000" + // urgent pointer 0
		"020405b4" + // MSS 1460
		"0402" + // SACK permitted
		"080a" + "00003039" + "00000000" + // timestamps: TSval 12345, TSecr 0
		"01" + // NOP
		"030307") // window scale 7

	// ipv6Hdr is an IPv6 fixed header with next header TCP and a payload
	// length to be patched by the tests (bytes 4-5).
	ipv6Hdr = mustHex("" +
		"6b912345" + // version 6, traffic class 0xb9 (DSCP 46, ECN 1), flow label 0x12345
		"0028" + // payload length 40
		"06" + // next header TCP
		"40" + // hop limit 64
		"20010db8000000000000000000000001" + // source 2001:db8::1
		"20010db8000000000000000000000002") // destination 2001:db8::2

	// ackTCP is a bare ACK without options.
	ackTCP = mustHex("" +
		"0050" + // source port 80
		"c350" + // destination port 50000
		"fffffff0" + // sequence number 0xfffffff0
		"01020305" + // acknowledgment number 0x01020305
		"50" + // data offset 5 words (20 bytes)
		"10" + // flags ACK
		"0200" + // window 512
		"0000" + // checksum (not valid)
		"0000") // urgent pointer 0
)

// withIPv4Len returns a copy of an IPv4 header with total length n.
func withIPv4Len(h []byte, n int) []byte {
	h = cat(h)
	h[2], h[3] = byte(n>>8), byte(n)
	return h
}

// withIPv6Len returns a copy of an IPv6 header with payload length n and
// next header nh.
func withIPv6Len(h []byte, n int, nh byte) []byte {
	h = cat(h)
	h[4], h[5] = byte(n>>8), byte(n)
	h[6] = nh
	return h
}

func itoa(n int) string { return strconv.Itoa(n) }
