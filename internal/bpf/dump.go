package bpf

import (
	"fmt"
	"strconv"
	"strings"

	xbpf "golang.org/x/net/bpf"
)

// IsDump reports whether s looks like tcpdump's compiled program rather
// than an expression: the text of tcpdump -ddd ("N" then N lines of
// "code jt jf k"), possibly flattened onto one line by the shell, or of
// tcpdump -dd ("{ 0x28, 0, 0, 0x0000000c },").
func IsDump(s string) bool {
	f := dumpFields(s)
	if len(f) < 5 {
		return false
	}
	if strings.Contains(s, "{") {
		return len(f)%4 == 0
	}
	n, err := strconv.Atoi(f[0])
	return err == nil && n > 0 && len(f) == 1+4*n
}

func dumpFields(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == ',' || r == '{' || r == '}'
	})
}

// ParseDump reads the text of tcpdump -ddd or -dd and checks that the
// program is one the kernel would take: jumps inside the program and a
// return at the end.
func ParseDump(s string) ([]xbpf.RawInstruction, error) {
	f := dumpFields(s)
	dd := strings.Contains(s, "{")
	if !dd {
		if len(f) == 0 {
			return nil, fmt.Errorf("bpf: empty program")
		}
		n, err := strconv.Atoi(f[0])
		if err != nil || n <= 0 || len(f) != 1+4*n {
			return nil, fmt.Errorf("bpf: tcpdump -ddd text: the count %q does not match %d numbers that follow", f[0], len(f)-1)
		}
		f = f[1:]
	} else if len(f)%4 != 0 {
		return nil, fmt.Errorf("bpf: tcpdump -dd text: %d numbers, not a multiple of 4", len(f))
	}
	prog := make([]xbpf.RawInstruction, 0, len(f)/4)
	for i := 0; i+3 < len(f); i += 4 {
		var v [4]uint64
		for j := range v {
			n, err := strconv.ParseUint(f[i+j], 0, 32)
			if err != nil {
				return nil, fmt.Errorf("bpf: instruction %d: %q is not a number", i/4, f[i+j])
			}
			v[j] = n
		}
		if v[0] > 0xffff || v[1] > 0xff || v[2] > 0xff {
			return nil, fmt.Errorf("bpf: instruction %d: field out of range", i/4)
		}
		prog = append(prog, xbpf.RawInstruction{Op: uint16(v[0]), Jt: uint8(v[1]), Jf: uint8(v[2]), K: uint32(v[3])})
	}
	if err := check(prog, MaxKernel, false); err != nil {
		return nil, err
	}
	return prog, nil
}

// check applies the kernel's structural checks (sk_chk_filter): every
// jump lands inside the program and the last instruction returns. With
// backward, an unconditional jump may go back, as libpcap's own
// interpreter allows for protochain.
func check(prog []xbpf.RawInstruction, limit int, backward bool) error {
	if len(prog) == 0 || len(prog) > limit {
		return fmt.Errorf("bpf: program of %d instructions (1 to %d)", len(prog), limit)
	}
	for i, in := range prog {
		class := in.Op & 0x07
		if class == 0x05 { // BPF_JMP
			if in.Op&0xf0 == 0x00 { // BPF_JA
				if backward && int32(in.K) < 0 {
					if i+1+int(int32(in.K)) < 0 {
						return fmt.Errorf("bpf: instruction %d jumps before the start", i)
					}
				} else if uint64(i)+1+uint64(in.K) >= uint64(len(prog)) {
					return fmt.Errorf("bpf: instruction %d jumps past the end", i)
				}
			} else if i+1+int(in.Jt) >= len(prog) || i+1+int(in.Jf) >= len(prog) {
				return fmt.Errorf("bpf: instruction %d jumps past the end", i)
			}
		}
	}
	if prog[len(prog)-1].Op&0x07 != 0x06 { // BPF_RET
		return fmt.Errorf("bpf: the program does not end with a return")
	}
	return nil
}
