//go:build linux

package capture

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	xbpf "golang.org/x/net/bpf"

	"github.com/tcplens/tcplens/internal/netnstest"
	"github.com/tcplens/tcplens/internal/pcap"
)

func TestOpenErrors(t *testing.T) {
	if _, err := Open(Options{Interface: "no-such-if0"}); err == nil || !strings.Contains(err.Error(), "no-such-if0") {
		t.Errorf("unknown interface: %v", err)
	}
	if _, err := Open(Options{Interface: "lo", Filter: "tcp port"}); err == nil || !strings.Contains(err.Error(), "expression ends") {
		t.Errorf("bad filter: %v", err)
	}
}

// TestLoopbackPrelude checks the test that drops lo's outgoing copies: it
// must reject PACKET_OUTGOING and fall through to the filter otherwise.
func TestLoopbackPrelude(t *testing.T) {
	filter, _ := xbpf.Assemble([]xbpf.Instruction{xbpf.RetConstant{Val: 1234}})
	prog, err := skipLoopbackEchoes(filter, "lo")
	if err != nil {
		t.Fatal(err)
	}
	insts, _ := xbpf.Disassemble(prog)
	// Walk the program by hand: the VM has no packet-type extension.
	run := func(pkttype uint32) uint32 {
		var a uint32
		for pc := 0; pc < len(insts); pc++ {
			switch in := insts[pc].(type) {
			case xbpf.LoadExtension:
				a = pkttype
			case xbpf.JumpIf:
				if (a == in.Val) == (in.Cond == xbpf.JumpEqual) {
					pc += int(in.SkipTrue)
				} else {
					pc += int(in.SkipFalse)
				}
			case xbpf.RetConstant:
				return in.Val
			}
		}
		return 0
	}
	if run(4) != 0 || run(0) != 1234 {
		t.Errorf("outgoing → %d, host → %d; want 0 and 1234\n%v", run(4), run(0), insts)
	}
}

func TestCookedHeader(t *testing.T) {
	h := &Handle{hatype: map[int]uint16{7: arphrdLoopback}}
	b := h.cookedHeader(nil, 7, []byte{0x60, 0})
	if len(b) != 16 || binary.BigEndian.Uint16(b[2:]) != arphrdLoopback || binary.BigEndian.Uint16(b[14:]) != 0x86dd {
		t.Errorf("header %x", b)
	}
}

// TestKernelFilter opens lo with a port filter and makes connections to
// two ports: only the filtered one's frames arrive.
func TestKernelFilter(t *testing.T) {
	netnstest.Require(t)
	ls := make([]net.Listener, 2)
	for i := range ls {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		ls[i] = l
	}
	port := ls[0].Addr().(*net.TCPAddr).Port
	h, err := Open(Options{Interface: "lo", Filter: "tcp dst port " + strconv.Itoa(port)})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if h.Link() != pcap.LinkEthernet {
		t.Errorf("lo link %v, want Ethernet", h.Link())
	}
	for _, l := range ls {
		c, err := net.Dial("tcp4", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(c)
		c.Close()
	}
	go func() { time.Sleep(500 * time.Millisecond); h.Stop() }()
	n := 0
	for {
		f, err := h.Next()
		if errors.Is(err, ErrTimeout) {
			continue
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		if dst := binary.BigEndian.Uint16(f.Data[14+20+2:]); int(dst) != port {
			t.Errorf("frame %d to port %d passed a filter for %d", f.Number, dst, port)
		}
	}
	if n < 3 {
		t.Errorf("%d frames, want the client's SYN, ACK and FIN at least", n)
	}
	st, err := h.Stats()
	if err != nil || st.Received < uint64(n) {
		t.Errorf("stats %+v, %v; %d frames read", st, err, n)
	}
}
