package analyze_test

import (
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// synFlood returns frame i of a SYN flood: a SYN from a source of its own
// (10.x.y.z, one of 64 ports) to 192.0.2.1:80, a microsecond after the
// one before. scripts/make-synflood.py writes the same as a file.
func synFlood(i int, b []byte) pcap.Frame {
	b = b[:54]
	clear(b)
	b[12], b[13] = 0x08, 0x00 // IPv4
	ip := b[14:34]
	ip[0], ip[8], ip[9] = 0x45, 64, wire.ProtoTCP
	binary.BigEndian.PutUint16(ip[2:], 40)
	binary.BigEndian.PutUint32(ip[12:], 0x0a000000|uint32(i>>6)&0xffffff)
	copy(ip[16:], []byte{192, 0, 2, 1})
	tcp := b[34:54]
	binary.BigEndian.PutUint16(tcp[0:], uint16(1024+(i&63)*1000))
	binary.BigEndian.PutUint16(tcp[2:], 80)
	binary.BigEndian.PutUint32(tcp[4:], uint32(i)*2654435761)
	tcp[12], tcp[13] = 5<<4, byte(wire.SYN)
	binary.BigEndian.PutUint16(tcp[14:], 64240)
	return pcap.Frame{Number: i + 1, Time: pcap.Time(1767225600e9 + int64(i)*1000), Link: pcap.LinkEthernet, Length: 54, Data: b}
}

// TestSYNFloodBounded checks that a flood of SYNs from distinct sources
// keeps the analysis within its connection cap: the table never holds more
// than the cap, every connection beyond it is evicted and counted and
// handed on, and the heap stays the size of the cap, not of the flood.
func TestSYNFloodBounded(t *testing.T) {
	const syns, capacity = 100000, 1000
	ended := 0
	a := analyze.New(analyze.Options{MaxConns: capacity}, nil, func(*conn.Conn, conn.EndReason) { ended++ })
	buf := make([]byte, 64)
	var ms runtime.MemStats
	var peak uint64
	for i := range syns {
		f := synFlood(i, buf)
		a.Add(&f)
		if n := a.Counts().Len; n > capacity {
			t.Fatalf("after %d SYNs the table holds %d > %d", i+1, n, capacity)
		}
		if i%(syns/4) == syns/4-1 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	a.Close()
	t.Logf("heap at most %.1f MiB", float64(peak)/(1<<20))
	if ev := a.Counts().Evicted; ev != syns-capacity || ended != syns {
		t.Errorf("%d evicted, %d ended; want %d, %d", ev, ended, syns-capacity, syns)
	}
	// A half-open connection costs some 3 KB: the cap's worth is 3 MB,
	// the flood's would be 300.
	if peak > 16<<20 {
		t.Errorf("%d MiB of heap for a table of %d connections", peak>>20, capacity)
	}
}
