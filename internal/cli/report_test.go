package cli

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/testcap"
)

// hostileName is markup, a pcapng comment of a kind, in the name of an
// interface and of a file: the report must show it, never run it.
const hostileName = `<script>alert(1)</script><img src=x onerror=alert(2)>"'&`

// hostileCapture copies the frames of a kernel scenario into a pcapng
// file whose name and interface name are hostileName.
func hostileCapture(t *testing.T) string {
	t.Helper()
	frames, err := testcap.ReadFile(filepath.Join(testdata, "kernel", "fast-retransmit.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	return writeCapture(t, strings.ReplaceAll(hostileName, "/", "_")+".pcapng", hostileName, frames)
}

// longCapture is one connection of 100,000 data segments, with losses.
func longCapture(t *testing.T) string {
	t.Helper()
	return writeCapture(t, "long.pcapng", "", testcap.Build(testcap.Bulk(100_000, 20_000)))
}

// writeCapture writes frames (Ethernet) to a pcapng file called name in a
// directory of the test's, on an interface called iface.
func writeCapture(t *testing.T, name, iface string, frames []pcap.Frame) string {
	t.Helper()
	var b bytes.Buffer
	w, err := pcap.NewNGWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	id := w.AddInterface(iface, pcap.LinkType(1), 0)
	for i := range frames {
		if err := w.WritePacket(id, &frames[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestReportHostileCapture reports on a capture that names itself and its
// interface in markup: the page shows the names escaped, and every
// picture is a well-formed SVG with no markup of the capture's.
func TestReportHostileCapture(t *testing.T) {
	capture := hostileCapture(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	if _, stderr, code := run(t, nil, "report", capture, "-o", page); code != 0 {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(html, []byte("<script>alert")) || bytes.Contains(html, []byte("<img")) {
		t.Error("the page holds the capture's markup unescaped")
	}
	if !bytes.Contains(html, []byte("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;")) {
		t.Error("the page does not show the interface's name, escaped")
	}
	for _, kind := range []string{"ladder", "tsg", "window", "rtt"} {
		out := filepath.Join(dir, kind+".svg")
		if _, stderr, code := run(t, nil, "graph", capture, "-c", "1", "--kind", kind, "-o", out); code != 0 {
			t.Fatalf("graph --kind %s: exit %d: %s", kind, code, stderr)
		}
		svg, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		d := xml.NewDecoder(bytes.NewReader(svg))
		for {
			tok, err := d.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s.svg is not well-formed: %v", kind, err)
			}
			if el, ok := tok.(xml.StartElement); ok && (el.Name.Local == "script" || el.Name.Local == "foreignObject") {
				t.Errorf("%s.svg has a <%s>", kind, el.Name.Local)
			}
		}
	}
}

// TestGraphErrors checks what graph says when asked for what it cannot
// draw.
func TestGraphErrors(t *testing.T) {
	capture := filepath.Join(testdata, "kernel", "refused.pcap")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"graph", capture, "-o", "-"}, "name one connection"},
		{[]string{"graph", capture, "-c", "1", "--kind", "pie", "-o", "-"}, "want ladder, tsg, window or rtt"},
		{[]string{"graph", capture, "-c", "9", "-o", "-"}, "no connection 9 in the capture, which has 1"},
		{[]string{"graph", capture, "-c", "1", "--dir", "up", "-o", "-"}, "--dir"},
	} {
		_, stderr, code := run(t, nil, tc.args...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("tcplens %s: exit %d, %q; want an error saying %q", strings.Join(tc.args, " "), code, stderr, tc.want)
		}
	}
	out, _, code := run(t, nil, "graph", capture, "-c", "1", "--kind", "ladder", "-o", "-")
	if code != 0 || !strings.HasPrefix(out, `<?xml version="1.0" encoding="UTF-8"?>`) || !strings.Contains(out, "</svg>") {
		t.Errorf("graph -o - wrote %d bytes (exit %d), want a standalone SVG", len(out), code)
	}
}
