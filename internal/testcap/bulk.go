package testcap

import (
	"fmt"
	"strings"
)

// Bulk is the script of a long transfer from the client, for tests of what
// must stay bounded however long a connection is: a handshake with window
// scaling and SACK, n data segments of 1448 bytes 10 µs apart, an ACK
// every second segment, and, when lossEvery > 0, one segment in every
// lossEvery lost past the capture point: three duplicate ACKs with SACK
// blocks, then its fast retransmission. Then both ends close.
func Bulk(n, lossEvery int) string {
	const mss = 1448
	var b strings.Builder
	b.WriteString("t=0 c>s S seq=0 win=64240 mss=1460 ws=7 sackok\n")
	b.WriteString("t=0.001 s>c S. seq=0 ack=1 win=65160 mss=1460 ws=7 sackok\n")
	b.WriteString("t=0.002 c>s . seq=1 ack=1 win=502\n")
	at := func(i int) float64 { return 0.003 + float64(i)*1e-5 }
	lost, dups := -1, 0
	for i := range n {
		seq := 1 + i*mss
		fmt.Fprintf(&b, "t=%.6f c>s . seq=%d ack=1 win=502 len=%d\n", at(i), seq, mss)
		if lossEvery > 0 && i%lossEvery == lossEvery/2 && lost < 0 {
			lost, dups = seq, 0
		}
		if i%2 == 0 {
			continue
		}
		end := seq + mss
		if lost < 0 {
			fmt.Fprintf(&b, "t=%.6f s>c . seq=1 ack=%d win=502\n", at(i)+5e-6, end)
			continue
		}
		if seq == lost {
			continue // the ACK the lost segment would have drawn
		}
		fmt.Fprintf(&b, "t=%.6f s>c . seq=1 ack=%d win=502 sack=%d-%d\n", at(i)+5e-6, lost, lost+mss, end)
		if dups++; dups == 3 {
			fmt.Fprintf(&b, "t=%.6f c>s . seq=%d ack=1 win=502 len=%d\n", at(i)+7e-6, lost, mss)
			lost = -1
		}
	}
	end := 1 + n*mss
	fmt.Fprintf(&b, "t=%.6f c>s F. seq=%d ack=1 win=502\n", at(n), end)
	fmt.Fprintf(&b, "t=%.6f s>c F. seq=1 ack=%d win=502\n", at(n)+1e-4, end+1)
	fmt.Fprintf(&b, "t=%.6f c>s . seq=%d ack=2 win=502\n", at(n)+2e-4, end+1)
	return b.String()
}
