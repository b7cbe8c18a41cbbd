package tcp

import "testing"

// BenchmarkReasonWords measures the words of the reasons a connection's
// transitions have most (those of an open and a close on both ends), as
// the export writes them for every transition.
func BenchmarkReasonWords(b *testing.B) {
	reasons := []Reason{
		withNum(reasonSYNSent, 3735928559),
		{kind: reasonSYNACKSent, a: 1234567890, n: 3735928560 << 32},
		{kind: reasonSYNACKArrived, a: 1234567891},
		withNum(reasonHandshakeAcked, 1234567891),
		withNum(reasonFINSent, 3735931000),
		withNum(reasonCloseWait, 3735931000),
		withNum(reasonFINSentLast, 1234600000),
		withNum(reasonFINAcked, 3735931001),
		withNum(reasonTimeWaitFromFinWait2, 1234600000),
		because(reasonLastACK),
	}
	var buf []byte
	n := 0
	for b.Loop() {
		for _, r := range reasons {
			buf, _ = r.AppendText(buf[:0])
			n += len(buf)
		}
	}
	b.SetBytes(int64(n / b.N))
}
