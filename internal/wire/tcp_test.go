package wire_test

import (
	"testing"

	"github.com/tcplens/tcplens/internal/seq"
	"github.com/tcplens/tcplens/internal/wire"
)

func TestParseTCP(t *testing.T) {
	// synTCP with the reserved bits and AE set, to see them apart.
	b := cat(synTCP)
	b[12] |= 0x0b // reserved 0b101, AE
	b[18], b[19] = 0x12, 0x34
	tcp, err := wire.ParseTCP(b, 34)
	if err != nil {
		t.Fatalf("ParseTCP: %v", err)
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"SrcPort", tcp.SrcPort(), uint16(50000)},
		{"DstPort", tcp.DstPort(), uint16(80)},
		{"Seq", tcp.Seq(), seq.Num(0x01020304)},
		{"Ack", tcp.Ack(), seq.Num(0)},
		{"DataOffset", tcp.DataOffset(), uint8(10)},
		{"HeaderLen", tcp.HeaderLen(), 40},
		{"Reserved", tcp.Reserved(), uint8(5)},
		{"Flags", tcp.Flags(), wire.SYN | wire.AE},
		{"Window", tcp.Window(), uint16(64240)},
		{"Checksum", tcp.Checksum(), uint16(0x68f8)},
		{"Urgent", tcp.Urgent(), uint16(0x1234)},
		{"Options", string(tcp.Options()), string(synTCP[20:])},
	} {
		if c.got != c.want {
			t.Errorf("%s() = %v, want %v", c.name, c.got, c.want)
		}
	}

	ack, err := wire.ParseTCP(ackTCP, 0)
	if err != nil {
		t.Fatal(err)
	}
	if ack.Seq() != 0xfffffff0 || ack.Ack() != 0x01020305 || ack.Flags() != wire.ACK || ack.Options() != nil {
		t.Errorf("ackTCP: Seq %v Ack %v Flags %v Options %x", ack.Seq(), ack.Ack(), ack.Flags(), ack.Options())
	}
}

func TestTCPOptionsArea(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want []byte
	}{
		{"no options", ackTCP, nil},
		{"all captured", synTCP, synTCP[20:]},
		{"cut short", synTCP[:27], synTCP[20:27]},
		{"data offset 3", append(cat(ackTCP[:12]), append(mustHex("30"), ackTCP[13:]...)...), nil},
		{"data offset 15, 2 bytes captured", append(append(cat(ackTCP[:12]), 0xf0), cat(ackTCP[13:], mustHex("0101"))...), mustHex("0101")},
	}
	for _, tc := range tests {
		tcp, err := wire.ParseTCP(tc.b, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := tcp.Options(); string(got) != string(tc.want) {
			t.Errorf("%s: Options() = %x, want %x", tc.name, got, tc.want)
		}
	}
}

func TestParseTCPTruncated(t *testing.T) {
	for n := range 20 {
		_, err := wire.ParseTCP(synTCP[:n], 54)
		wantError(t, "ParseTCP of "+itoa(n)+" bytes", err, "tcp", 54)
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		f       wire.Flags
		tcpdump string // tcpdump's letters
		names   string // Wireshark's list
	}{
		{0, "none", "none"},
		{wire.SYN, "S", "SYN"},
		{wire.SYN | wire.ACK, "S.", "SYN, ACK"},
		{wire.PSH | wire.ACK, "P.", "PSH, ACK"},
		{wire.FIN | wire.ACK, "F.", "FIN, ACK"},
		{wire.RST, "R", "RST"},
		{wire.RST | wire.ACK, "R.", "RST, ACK"},
		{wire.URG | wire.ACK, ".U", "ACK, URG"},
		{wire.SYN | wire.ECE | wire.CWR, "SEW", "SYN, ECE, CWR"},
		{wire.SYN | wire.ECE | wire.CWR | wire.AE, "SEW", "SYN, ECE, CWR, AE"}, // tshark: [SYN, ECE, CWR, AE]
		{wire.AE, "none", "AE"},                                                // tcpdump does not show AE
		{0x1ff, "FSRP.UEW", "FIN, SYN, RST, PSH, ACK, URG, ECE, CWR, AE"},
	}
	for _, tc := range tests {
		if got := tc.f.String(); got != tc.tcpdump {
			t.Errorf("Flags(%#x).String() = %q, want %q", uint16(tc.f), got, tc.tcpdump)
		}
		if got := string(tc.f.AppendTcpdump([]byte("["))); got != "["+tc.tcpdump {
			t.Errorf("Flags(%#x).AppendTcpdump([) = %q, want %q", uint16(tc.f), got, "["+tc.tcpdump)
		}
		if got := tc.f.Names(); got != tc.names {
			t.Errorf("Flags(%#x).Names() = %q, want %q", uint16(tc.f), got, tc.names)
		}
	}
}

func TestFlagsHasAny(t *testing.T) {
	f := wire.SYN | wire.ACK
	for _, c := range []struct {
		name      string
		got, want bool
	}{
		{"Has(SYN)", f.Has(wire.SYN), true},
		{"Has(SYN|ACK)", f.Has(wire.SYN | wire.ACK), true},
		{"Has(SYN|FIN)", f.Has(wire.SYN | wire.FIN), false},
		{"Has(0)", f.Has(0), true},
		{"Any(SYN|FIN)", f.Any(wire.SYN | wire.FIN), true},
		{"Any(FIN|RST)", f.Any(wire.FIN | wire.RST), false},
		{"Any(0)", f.Any(0), false},
	} {
		if c.got != c.want {
			t.Errorf("(SYN|ACK).%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}
