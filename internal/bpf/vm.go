package bpf

import (
	"encoding/binary"
	"fmt"

	xbpf "golang.org/x/net/bpf"
)

// A Program is a compiled filter that tcplens runs itself, on frames read
// from capture files. It runs as libpcap's bpf_filter runs a program on a
// savefile: len is the frame's length on the wire, a load past the
// captured bytes or a division by zero rejects the frame, a shift by 32
// or more gives 0. It allocates nothing and is safe for concurrent use.
type Program struct {
	ins []vmIns
}

// vmIns is a classic BPF instruction with its opcode decoded to a small
// dense number, so that the interpreter's switch is a jump table.
type vmIns struct {
	op     vmOp
	jt, jf uint8
	k      uint32
}

type vmOp uint8

const (
	opRetK vmOp = iota
	opRetA
	opLdAbsW
	opLdAbsH
	opLdAbsB
	opLdIndW
	opLdIndH
	opLdIndB
	opLdImm
	opLdLen
	opLdMem
	opLdxImm
	opLdxMem
	opLdxLen
	opLdxMSH
	opSt
	opStx
	opAluK // k's ALU operation in jt
	opAluX
	opNeg
	opJa
	opJeqK
	opJgtK
	opJgeK
	opJsetK
	opJeqX
	opJgtX
	opJgeX
	opJsetX
	opTax
	opTxa
	opJaBack // a backward jump (protochain's loop), counted
)

// NewProgram compiles expr for frames of the link type opt names.
func NewProgram(expr string, opt Options) (*Program, error) {
	if opt.Kernel || opt.Cooked {
		return nil, fmt.Errorf("bpf: a kernel program cannot run offline")
	}
	insts, err := Compile(expr, opt)
	if err != nil {
		return nil, err
	}
	raw, err := xbpf.Assemble(insts)
	if err != nil {
		return nil, fmt.Errorf("bpf: %w", err)
	}
	return loadRaw(raw)
}

// maxLoops bounds the backward jumps a program makes on a frame, beyond
// its length: protochain's loop advances at least 8 bytes a turn on an
// IPv6 extension header, and fails past the frame's end.
const maxLoops = 1024

// LoadProgram takes a program compiled elsewhere (tcpdump -ddd's, read by
// ParseDump) for tcplens to run.
func LoadProgram(raw []xbpf.RawInstruction) (*Program, error) { return loadRaw(raw) }

func loadRaw(raw []xbpf.RawInstruction) (*Program, error) {
	if err := check(raw, MaxInstructions, true); err != nil {
		return nil, err
	}
	p := &Program{ins: make([]vmIns, len(raw))}
	for i, r := range raw {
		in := vmIns{jt: r.Jt, jf: r.Jf, k: r.K}
		switch r.Op {
		case 0x06:
			in.op = opRetK
		case 0x16:
			in.op = opRetA
		case 0x20:
			in.op = opLdAbsW
		case 0x28:
			in.op = opLdAbsH
		case 0x30:
			in.op = opLdAbsB
		case 0x40:
			in.op = opLdIndW
		case 0x48:
			in.op = opLdIndH
		case 0x50:
			in.op = opLdIndB
		case 0x00:
			in.op = opLdImm
		case 0x80:
			in.op = opLdLen
		case 0x60:
			in.op = opLdMem
		case 0x01:
			in.op = opLdxImm
		case 0x61:
			in.op = opLdxMem
		case 0x81:
			in.op = opLdxLen
		case 0xb1:
			in.op = opLdxMSH
		case 0x02:
			in.op = opSt
		case 0x03:
			in.op = opStx
		case 0x84:
			in.op = opNeg
		case 0x05:
			in.op = opJa
			if int32(r.K) < 0 {
				in.op = opJaBack
			}
		case 0x15:
			in.op = opJeqK
		case 0x25:
			in.op = opJgtK
		case 0x35:
			in.op = opJgeK
		case 0x45:
			in.op = opJsetK
		case 0x1d:
			in.op = opJeqX
		case 0x2d:
			in.op = opJgtX
		case 0x3d:
			in.op = opJgeX
		case 0x4d:
			in.op = opJsetX
		case 0x07:
			in.op = opTax
		case 0x87:
			in.op = opTxa
		default:
			if r.Op&0x07 != 0x04 || r.Op&0xf0 > 0xa0 { // BPF_ALU, operations up to BPF_XOR
				return nil, fmt.Errorf("bpf: instruction %d: opcode %#x is not one tcplens runs", i, r.Op)
			}
			in.op, in.jt, in.jf = opAluK, uint8(r.Op&0xf0), 0
			if r.Op&0x08 != 0 {
				in.op = opAluX
			}
			if in.op == opAluK && (r.Op&0xf0 == 0x30 || r.Op&0xf0 == 0x90) && r.K == 0 {
				return nil, fmt.Errorf("bpf: instruction %d divides by zero", i)
			}
		}
		if (in.op == opLdMem || in.op == opLdxMem || in.op == opSt || in.op == opStx) && r.K > 15 {
			return nil, fmt.Errorf("bpf: instruction %d: scratch word %d of 16", i, r.K)
		}
		if in.op >= opLdAbsW && in.op <= opLdAbsB && r.K >= 0xfffff000 {
			// SKF_AD_OFF and up: the kernel's ancillary data, not in a file.
			if r.K != 0xffffffff {
				return nil, fmt.Errorf("bpf: instruction %d reads the kernel's ancillary data, which a capture file lacks", i)
			}
		}
		p.ins[i] = in
	}
	return p, nil
}

// Match runs the program on a frame's captured bytes; wirelen is its
// length on the wire.
func (p *Program) Match(data []byte, wirelen int) bool {
	var a, x uint32
	var mem [17]uint32 // 16 scratch words, then the count of backward jumps
	n := uint64(len(data))
	ins := p.ins
	for pc := 0; pc < len(ins); pc++ {
		in := &ins[pc]
		switch in.op {
		case opRetK:
			return in.k != 0
		case opRetA:
			return a != 0
		case opLdAbsW:
			k := uint64(in.k)
			if k+4 > n {
				return false
			}
			a = binary.BigEndian.Uint32(data[k:])
		case opLdAbsH:
			k := uint64(in.k)
			if k+2 > n {
				return false
			}
			a = uint32(binary.BigEndian.Uint16(data[k:]))
		case opLdAbsB:
			k := uint64(in.k)
			if k+1 > n {
				return false
			}
			a = uint32(data[k])
		case opLdIndW:
			k := uint64(x) + uint64(in.k)
			if k+4 > n {
				return false
			}
			a = binary.BigEndian.Uint32(data[k:])
		case opLdIndH:
			k := uint64(x) + uint64(in.k)
			if k+2 > n {
				return false
			}
			a = uint32(binary.BigEndian.Uint16(data[k:]))
		case opLdIndB:
			k := uint64(x) + uint64(in.k)
			if k+1 > n {
				return false
			}
			a = uint32(data[k])
		case opLdImm:
			a = in.k
		case opLdLen:
			a = uint32(wirelen)
		case opLdMem:
			a = mem[in.k&15]
		case opLdxImm:
			x = in.k
		case opLdxMem:
			x = mem[in.k&15]
		case opLdxLen:
			x = uint32(wirelen)
		case opLdxMSH:
			k := uint64(in.k)
			if k+1 > n {
				return false
			}
			x = uint32(data[k]&0x0f) * 4
		case opSt:
			mem[in.k&15] = a
		case opStx:
			mem[in.k&15] = x
		case opAluK:
			a = alu(in.jt, a, in.k)
		case opAluX:
			if (in.jt == 0x30 || in.jt == 0x90) && x == 0 {
				return false // division by zero
			}
			a = alu(in.jt, a, x)
		case opNeg:
			a = -a
		case opJa:
			pc += int(in.k)
		case opJaBack:
			// protochain's loop, which libpcap runs for as long as it
			// goes on (for ever, given some AH headers).
			// (A counter of its own slows the other instructions by a
			// tenth: it takes a register.)
			if mem[16]++; uint64(mem[16]) > n+maxLoops {
				return false
			}
			pc += int(int32(in.k))
		case opJeqK:
			pc += jump(a == in.k, in)
		case opJgtK:
			pc += jump(a > in.k, in)
		case opJgeK:
			pc += jump(a >= in.k, in)
		case opJsetK:
			pc += jump(a&in.k != 0, in)
		case opJeqX:
			pc += jump(a == x, in)
		case opJgtX:
			pc += jump(a > x, in)
		case opJgeX:
			pc += jump(a >= x, in)
		case opJsetX:
			pc += jump(a&x != 0, in)
		case opTax:
			x = a
		case opTxa:
			a = x
		}
	}
	return false
}

func jump(ok bool, in *vmIns) int {
	if ok {
		return int(in.jt)
	}
	return int(in.jf)
}

func alu(op uint8, a, b uint32) uint32 {
	switch op {
	case 0x00:
		return a + b
	case 0x10:
		return a - b
	case 0x20:
		return a * b
	case 0x30:
		return a / b
	case 0x40:
		return a | b
	case 0x50:
		return a & b
	case 0x60:
		if b >= 32 {
			return 0
		}
		return a << b
	case 0x70:
		if b >= 32 {
			return 0
		}
		return a >> b
	case 0x90:
		return a % b
	case 0xa0:
		return a ^ b
	}
	return a // 0x80 is NEG, decoded apart
}
