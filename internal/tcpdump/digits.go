package tcpdump

import "math/bits"

// twoDigits holds "00" through "99".
const twoDigits = "00010203040506070809" +
	"10111213141516171819" +
	"20212223242526272829" +
	"30313233343536373839" +
	"40414243444546474849" +
	"50515253545556575859" +
	"60616263646566676869" +
	"70717273747576777879" +
	"80818283848586878889" +
	"90919293949596979899"

var pow10 = [...]uint64{
	1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
}

// appendUint appends v in decimal. A line holds a dozen numbers, so this
// is the printer's hottest code: it counts the digits without dividing,
// writes them in place two at a time, and uses 32-bit arithmetic for the
// 32-bit values that most are. strconv.AppendUint formats into a scratch
// buffer and copies, which BenchmarkRead shows costs a fifth more per line.
func appendUint(b []byte, v uint64) []byte {
	if v < 10 {
		return append(b, byte('0'+v))
	}
	t := (bits.Len64(v) * 1233) >> 12 // log10 estimate, exact or one too high
	n := t + 1
	if v < pow10[t] {
		n = t
	}
	l := len(b)
	if cap(b)-l < n {
		b = append(b, make([]byte, n)...)
	} else {
		b = b[:l+n]
	}
	i := l + n
	for v >= 1<<32 {
		q := v / 100
		r := (v - q*100) * 2
		i -= 2
		b[i], b[i+1] = twoDigits[r], twoDigits[r+1]
		v = q
	}
	w := uint32(v)
	for w >= 100 {
		q := w / 100
		r := (w - q*100) * 2
		i -= 2
		b[i], b[i+1] = twoDigits[r], twoDigits[r+1]
		w = q
	}
	if w >= 10 {
		r := w * 2
		b[i-2], b[i-1] = twoDigits[r], twoDigits[r+1]
	} else {
		b[i-1] = byte('0' + w)
	}
	return b
}
