package pqfile

import (
	"encoding/binary"
	"math/bits"
)

// appendHybrid appends vals in the RLE/bit-packed hybrid encoding, each
// value width bits wide, without the length prefix: runs of eight or more
// equal values as RLE runs, the rest bit-packed in groups of eight (the
// last group padded with zeros: the page header says how many values
// there are).
func appendHybrid[V uint8 | int32](dst []byte, vals []V, width int) []byte {
	vbytes := (width + 7) / 8
	for i := 0; i < len(vals); {
		run := 1
		for i+run < len(vals) && vals[i+run] == vals[i] {
			run++
		}
		if run >= 8 {
			dst = binary.AppendUvarint(dst, uint64(run)<<1)
			for x, k := uint32(vals[i]), 0; k < vbytes; k++ {
				dst = append(dst, byte(x>>(8*k)))
			}
			i += run
			continue
		}
		// Bit-packed groups of eight until one starts a run of eight.
		j := i + 8
		for j+8 <= len(vals) && !sameEight(vals[j:j+8]) {
			j += 8
		}
		if j+8 > len(vals) {
			j = i + (len(vals)-i+7)/8*8 // the rest, padded
		}
		dst = binary.AppendUvarint(dst, uint64((j-i)/8)<<1|1)
		dst = packBits(dst, vals[i:min(j, len(vals))], width, j-i)
		i = j
	}
	return dst
}

func sameEight[V uint8 | int32](v []V) bool {
	return v[0] == v[1] && v[0] == v[2] && v[0] == v[3] && v[0] == v[4] && v[0] == v[5] && v[0] == v[6] && v[0] == v[7]
}

// packBits appends vals packed width bits each (width ≤ 32), least
// significant bit first, padded with zeros to n values.
func packBits[V uint8 | int32](dst []byte, vals []V, width, n int) []byte {
	var acc uint64
	nbits := 0
	for _, v := range vals {
		acc |= uint64(uint32(v)) << nbits
		nbits += width
		for nbits >= 8 {
			dst = append(dst, byte(acc))
			acc >>= 8
			nbits -= 8
		}
	}
	// The padding: zero values to n.
	pad := (n-len(vals))*width + nbits
	for ; pad > 0; pad -= 8 {
		dst = append(dst, byte(acc))
		acc >>= 8
	}
	return dst
}

// The DELTA_BINARY_PACKED layout: blocks of 128 values in 4 miniblocks
// of 32.
const (
	deltaBlock     = 128
	deltaMiniPer   = 32
	deltaMiniCount = deltaBlock / deltaMiniPer
)

// appendDelta appends vals in the DELTA_BINARY_PACKED encoding, the
// differences taken in two's complement (wrapping) arithmetic.
func appendDelta(dst []byte, vals []int64) []byte {
	dst = binary.AppendUvarint(dst, deltaBlock)
	dst = binary.AppendUvarint(dst, deltaMiniCount)
	dst = binary.AppendUvarint(dst, uint64(len(vals)))
	if len(vals) == 0 {
		return binary.AppendVarint(dst, 0)
	}
	dst = binary.AppendVarint(dst, vals[0])
	var d [deltaBlock]uint64
	prev := vals[0]
	for i := 1; i < len(vals); i += deltaBlock {
		n := min(deltaBlock, len(vals)-i)
		lowest := vals[i] - prev
		for k, v := range vals[i : i+n] {
			x := v - prev
			d[k] = uint64(x)
			lowest = min(lowest, x)
			prev = v
		}
		dst = binary.AppendVarint(dst, lowest)
		var widths [deltaMiniCount]int
		for m := range deltaMiniCount {
			var or uint64
			for k := m * deltaMiniPer; k < min(n, (m+1)*deltaMiniPer); k++ {
				d[k] -= uint64(lowest)
				or |= d[k]
			}
			widths[m] = bits.Len64(or)
			dst = append(dst, byte(widths[m]))
		}
		for m := 0; m*deltaMiniPer < n; m++ {
			from := m * deltaMiniPer
			// The last miniblock's padding: zeros, not the earlier
			// block's values, which may be wider than the width.
			for k := n; k < from+deltaMiniPer && k < deltaBlock; k++ {
				d[k] = 0
			}
			dst = pack64(dst, d[from:from+deltaMiniPer], widths[m])
		}
	}
	return dst
}

// pack64 appends 32 values packed width bits each (width ≤ 64), least
// significant bit first.
func pack64(dst []byte, vals []uint64, width int) []byte {
	if width == 0 {
		return dst
	}
	var acc uint64
	nbits := 0
	for _, v := range vals {
		acc |= v << nbits
		total := nbits + width
		if total >= 64 {
			dst = binary.LittleEndian.AppendUint64(dst, acc)
			total -= 64
			acc = v >> (64 - nbits) // the bits that did not fit (none when nbits is 0: Go's shift by 64 is 0)
		}
		nbits = total
		for nbits >= 8 {
			dst = append(dst, byte(acc))
			acc >>= 8
			nbits -= 8
		}
	}
	return dst
}
