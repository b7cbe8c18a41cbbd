package sockdiag

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"
)

func TestParseSockstat(t *testing.T) {
	var s Sockstat
	for _, file := range []string{
		"sockets: used 19\nTCP: inuse 4 orphan 24 tw 3 alloc 28 mem 1\nUDP: inuse 2 mem 0\nUDPLITE: inuse 0\nRAW: inuse 1\nFRAG: inuse 0 memory 0\n",
		"TCP6: inuse 2\nUDP6: inuse 1\nUDPLITE6: inuse 0\nRAW6: inuse 0\nFRAG6: inuse 0 memory 0\n",
	} {
		if err := ParseSockstat(strings.NewReader(file), &s); err != nil {
			t.Fatal(err)
		}
	}
	want := Sockstat{Sockets: 19, TCP: 4, TCPOrphan: 24, TCPTimeWait: 3, TCPAlloc: 28, TCPMem: 1, UDP: 2, RAW: 1, TCP6: 2, UDP6: 1}
	if s != want {
		t.Errorf("got %+v\nwant %+v", s, want)
	}
	for _, bad := range []string{"TCP inuse 4\n", "TCP: inuse\n", "TCP: inuse four\n"} {
		if err := ParseSockstat(strings.NewReader(bad), &Sockstat{}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestExtraAttributes decodes the attributes ss -tmie asks for that the
// recorded dumps do not hold: an old kernel's seven-field skmem, DCTCP's
// and Vegas's state, and a ULP's name; and none of them panics on a
// short value.
func TestExtraAttributes(t *testing.T) {
	le := binary.LittleEndian
	u32s := func(v ...uint32) []byte {
		b := make([]byte, 4*len(v))
		for i, x := range v {
			le.PutUint32(b[4*i:], x)
		}
		return b
	}
	if m := decodeMemInfo(le, u32s(1, 2, 3, 4, 5, 6, 7)); m.Fields != 7 || m.Optmem != 7 || m.Backlog != 0 {
		t.Errorf("seven-field skmem: %+v", *m)
	}
	dctcp := append([]byte{1, 0, 2, 0}, u32s(1024, 5, 10)...)
	if c := decodeCCInfo(le, attrDCTCPInfo, dctcp); c.Kind != "dctcp" || !c.Enabled || c.CEState != 2 || c.Alpha != 1024 || c.ABTot != 10 {
		t.Errorf("dctcp: %+v", *c)
	}
	if c := decodeCCInfo(le, attrVegasInfo, u32s(1, 8, 1500, 900)); c.Kind != "vegas" || c.RTT != 1500*time.Microsecond || c.MinRTT != 900*time.Microsecond {
		t.Errorf("vegas: %+v", *c)
	}
	if c := decodeCCInfo(le, attrBBRInfo, u32s(1, 1, 20, 739, 512)); c.BW != 1<<32|1 || c.MinRTT != 20*time.Microsecond || c.CwndGain != 512 {
		t.Errorf("bbr: %+v", *c)
	}
	// INET_DIAG_ULP_INFO: INET_ULP_INFO_NAME "mptcp".
	ulp := []byte{10, 0, 1, 0, 'm', 'p', 't', 'c', 'p', 0, 0, 0}
	if n := ulpName(le, ulp); n != "mptcp" {
		t.Errorf("ulp %q", n)
	}
	for i := range ulp {
		ulpName(le, ulp[:i])
	}
	for i := range 24 {
		decodeMemInfo(le, make([]byte, i))
		for _, typ := range []uint16{attrBBRInfo, attrDCTCPInfo, attrVegasInfo} {
			decodeCCInfo(le, typ, make([]byte, i))
		}
	}
}
