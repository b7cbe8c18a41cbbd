package pcap_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/pcap"
)

func ngwFrames() []pcap.Frame {
	return []pcap.Frame{
		{Time: 1_700_000_000_123_456_789, Link: pcap.LinkEthernet, Length: 60, Data: bytes.Repeat([]byte{0xab}, 60)},
		{Time: 1_700_000_000_223_456_789, Link: pcap.LinkSLL, Interface: 1, Length: 1514, Data: bytes.Repeat([]byte{1, 2, 3}, 23)}, // truncated, odd length
		{Time: 1_700_000_001_000_000_001, Link: pcap.LinkEthernet, Length: 0, Data: nil},
		{Time: 1_700_000_002_999_999_999, Link: pcap.LinkSLL, Interface: 1, Length: 42, Data: bytes.Repeat([]byte{7}, 42)},
	}
}

func ngwDescribe(f pcap.Frame, ifs []pcap.Interface) string {
	name := ""
	if f.Interface < len(ifs) {
		name = ifs[f.Interface].Name
	}
	return fmt.Sprintf("t=%d link=%v if=%d(%s) len=%d data=%x", f.Time, f.Link, f.Interface, name, f.Length, f.Data)
}

// TestNGWriterRoundTrip writes frames of two interfaces and reads them
// back with the package's reader, after each flush as a follower would.
func TestNGWriterRoundTrip(t *testing.T) {
	var file bytes.Buffer
	w, err := pcap.NewNGWriter(&file)
	if err != nil {
		t.Fatal(err)
	}
	eth := w.AddInterface("eth0", pcap.LinkEthernet, 262144)
	any := w.AddInterface("any", pcap.LinkSLL, 0)
	ids := []int{eth, any}
	want := ngwFrames()
	for i := range want {
		if err := w.WritePacket(ids[want[i].Interface], &want[i]); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		// A reader following the file sees every frame flushed so far.
		got := ngwReadAll(t, file.Bytes())
		if len(got) != i+1 {
			t.Fatalf("after %d frames and a flush, a reader sees %d", i+1, len(got))
		}
	}
	r, err := pcap.NewReader(bytes.NewReader(file.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if r.Format() != pcap.FormatPcapNG {
		t.Errorf("format %v", r.Format())
	}
	var got []pcap.Frame
	for {
		f, err := r.Next()
		if err == io.EOF {
			break
		}
		if isEmptyWarning(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		f.Data = append([]byte(nil), f.Data...)
		got = append(got, f)
	}
	ifs := r.Interfaces()
	if len(ifs) != 2 || ifs[0].Name != "eth0" || ifs[0].Link != pcap.LinkEthernet || ifs[0].SnapLen != 262144 || ifs[1].Name != "any" || ifs[1].Link != pcap.LinkSLL {
		t.Errorf("interfaces %+v", ifs)
	}
	for i := range want {
		wantIfs := []pcap.Interface{{Name: "eth0"}, {Name: "any"}}
		if g, w := ngwDescribe(got[i], ifs), ngwDescribe(want[i], wantIfs); g != w {
			t.Errorf("frame %d:\n got %s\nwant %s", i+1, g, w)
		}
	}
	if err := w.WritePacket(5, &want[0]); err == nil {
		t.Error("undeclared interface accepted")
	}
}

func ngwReadAll(t *testing.T, b []byte) []pcap.Frame {
	t.Helper()
	r, err := pcap.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var out []pcap.Frame
	for {
		f, err := r.Next()
		if isEmptyWarning(err) {
			continue
		}
		if err != nil {
			if err != io.EOF {
				t.Fatalf("reading a flushed file: %v", err)
			}
			return out
		}
		out = append(out, f)
	}
}

// isEmptyWarning reports the warning after the frame of no bytes that
// ngwFrames holds.
func isEmptyWarning(err error) bool {
	var fe *pcap.FormatError
	return errors.As(err, &fe) && fe.Frame == 3 && strings.Contains(fe.Msg, "captured no bytes")
}

// TestNGWriterTcpdump has tcpdump read what the writer wrote, when it is
// installed: another implementation's view of the same bytes.
func TestNGWriterTcpdump(t *testing.T) {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump not installed")
	}
	src, err := os.Open(filepath.Join("..", "..", "testdata", "captures", "zeek-http-get.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	r, err := pcap.NewReader(src)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "out.pcapng")
	out, _ := os.Create(path)
	w, _ := pcap.NewNGWriter(out)
	id := w.AddInterface("eth0", pcap.LinkEthernet, 65535)
	for {
		f, err := r.Next()
		if err != nil {
			break
		}
		w.WritePacket(id, &f)
	}
	w.Close()
	out.Close()
	a, err1 := exec.Command("tcpdump", "-nn", "-tt", "-r", src.Name()).Output()
	b, err2 := exec.Command("tcpdump", "-nn", "-tt", "-r", path).Output()
	if err1 != nil || err2 != nil {
		t.Fatalf("tcpdump: %v %v", err1, err2)
	}
	if string(a) != string(b) || len(strings.Split(string(a), "\n")) < 10 {
		t.Errorf("tcpdump reads the pcapng copy differently:\n%s\nvs\n%s", a, b)
	}
}
