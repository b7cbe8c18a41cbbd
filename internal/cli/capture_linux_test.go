//go:build linux

package cli

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	xbpf "golang.org/x/net/bpf"

	"github.com/tcplens/tcplens/internal/bpf"
	"github.com/tcplens/tcplens/internal/netnstest"
	"github.com/tcplens/tcplens/internal/pcap"
)

// upperEcho is the seeds' exercise server: read to EOF, write back
// uppercased, close.
func upperEcho(t *testing.T) (port int, done <-chan struct{}) {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		c, err := l.Accept()
		if err != nil {
			return
		}
		b, _ := io.ReadAll(c)
		c.Write(bytes.ToUpper(b))
		c.Close()
	}()
	return l.Addr().(*net.TCPAddr).Port, ch
}

func hello(t *testing.T, port int) {
	t.Helper()
	c, err := net.Dial("tcp4", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("hello\n"))
	c.(*net.TCPConn).CloseWrite()
	b, _ := io.ReadAll(c)
	c.Close()
	if string(b) != "HELLO\n" {
		t.Errorf("echo %q", b)
	}
}

// TestCaptureLoopback captures the seeds' hello exchange on lo (annotated)
// and on "any" (plain lines) with -w, and checks that what capture streamed
// is exactly what tcplens read (with the same flags), conns and diagnose
// print from the written file: the same lines, the same analysis, the same
// connection table, the same findings. It also checks that every frame in
// the file passes the filter.
func TestCaptureLoopback(t *testing.T) {
	netnstest.Require(t)
	for _, tc := range []struct {
		iface string
		link  pcap.LinkType
		flags []string
	}{{"lo", pcap.LinkEthernet, []string{"-tt", "-a"}}, {"any", pcap.LinkSLL, []string{"-tt"}}} {
		t.Run(tc.iface, func(t *testing.T) {
			port, served := upperEcho(t)
			filter := "tcp port " + strconv.Itoa(port)
			file := filepath.Join(t.TempDir(), "hello.pcapng")
			w := startMain(t, append(append([]string{"capture", "-i", tc.iface, "-w", file}, tc.flags...), filter)...)
			w.wait(t, `listening on `+tc.iface, true)
			hello(t, port)
			<-served
			// Both FINs and the last ACK: 10 segments for this exchange.
			w.wait(t, `(?s)(Flags \[[^\]]*F[^\]]*\].*){2}`, false)
			time.Sleep(100 * time.Millisecond)
			if code := w.interrupt(t); code != 0 {
				t.Fatalf("exit %d: %s", code, w.errOut.String())
			}
			streamed := w.out.String()
			for _, want := range []string{"packets captured\n", "packets received by filter\n", "packets dropped by kernel\n"} {
				if !strings.Contains(w.errOut.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, w.errOut.String())
				}
			}
			fromFile, errOut, code := run(t, nil, append(append([]string{"read"}, tc.flags...), file)...)
			if code != 0 {
				t.Fatalf("read: exit %d: %s", code, errOut)
			}
			table, errOut, code := run(t, nil, "conns", file)
			if code != 0 {
				t.Fatalf("conns: exit %d: %s", code, errOut)
			}
			findings, errOut, code := run(t, nil, "diagnose", "--color", "never", file)
			if code != 0 {
				t.Fatalf("diagnose: exit %d: %s", code, errOut)
			}
			if want := fromFile + "\n" + table + "\n" + findings; streamed != want {
				t.Errorf("capture printed what tcplens read, conns and diagnose of its file do not:\ncapture:\n%s\nread, conns, diagnose:\n%s", streamed, want)
			}
			if findings == "" || findings == "no findings\n" {
				t.Errorf("no findings, not even the client's half-close:\n%s", streamed)
			}
			segs, _, _ := strings.Cut(streamed, "\n\n")
			if n := len(lines(segs)); n < 8 {
				t.Errorf("%d lines, want the whole exchange:\n%s", n, streamed)
			}
			if slices.Contains(tc.flags, "-a") {
				for _, want := range []string{"| client SYN_SENT (was UNKNOWN) server SYN_RECV (was UNKNOWN)", "server CLOSE_WAIT (was ESTABLISHED)", "server CLOSED (was LAST_ACK)"} {
					if !strings.Contains(segs, want) {
						t.Errorf("no %q in the annotated lines:\n%s", want, segs)
					}
				}
			}
			if rows := lines(table); len(rows) != 2 || !strings.Contains(rows[1], "fin by client") {
				t.Errorf("connection table:\n%s", table)
			}
			checkFramesMatch(t, file, filter, tc.link)
			t.Logf("%s:\n%s", tc.iface, streamed)
		})
	}
}

// checkFramesMatch runs the filter, compiled for the file's link type, over
// every frame of the file.
func checkFramesMatch(t *testing.T, path, filter string, link pcap.LinkType) {
	t.Helper()
	prog, err := bpf.Compile(filter, bpf.Options{Link: link})
	if err != nil {
		t.Fatal(err)
	}
	vm, err := xbpf.NewVM(prog)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcap.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		fr, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		if fr.Link != link {
			t.Errorf("frame %d: link %v, want %v", fr.Number, fr.Link, link)
		}
		if ok, _ := vm.Run(fr.Data); ok == 0 {
			t.Errorf("frame %d does not match %q", fr.Number, filter)
		}
	}
	if ifs := r.Interfaces(); len(ifs) != 1 || ifs[0].Link != link {
		t.Errorf("interfaces %+v", ifs)
	}
	if n == 0 {
		t.Error("no frames written")
	}
}

func TestCaptureCount(t *testing.T) {
	netnstest.Require(t)
	port, served := upperEcho(t)
	done := make(chan struct{})
	var out, errOut string
	var code int
	go func() {
		out, errOut, code = run(t, nil, "capture", "-i", "lo", "-c", "3", "-t", "tcp", "port", strconv.Itoa(port))
		close(done)
	}()
	time.Sleep(300 * time.Millisecond) // the capture opens in a few ms
	hello(t, port)
	<-served
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("-c 3 did not stop the capture")
	}
	parts := strings.SplitN(out, "\n\n", 3)
	if code != 0 || len(parts) != 3 || len(lines(parts[0])) != 3 || !strings.Contains(errOut, "3 packets captured") {
		t.Fatalf("exit %d:\n%s\n%s", code, out, errOut)
	}
	if table := parts[1]; !strings.HasPrefix(table, "ID  CLIENT") || len(lines(table)) != 2 {
		t.Errorf("no connection table of the one connection after the lines:\n%s", out)
	}
}

func TestCaptureBadFilter(t *testing.T) {
	_, errOut, code := run(t, nil, "capture", "-i", "lo", "tcp", "port")
	if code != exitUsage || !strings.Contains(errOut, "expression ends") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}
