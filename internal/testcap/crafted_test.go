package testcap_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/testcap"
)

var update = flag.Bool("update", false, "rewrite testdata/crafted/*.pcap from their scripts")

// crafted is where the crafted captures live: each NAME.txt is a script
// (what it shows in its comment), NAME.pcap what Build makes of it.
const crafted = "../../testdata/crafted"

// TestCrafted keeps every crafted capture what its script says: with
// -update it writes them.
func TestCrafted(t *testing.T) {
	scripts, _ := filepath.Glob(filepath.Join(crafted, "*.txt"))
	if len(scripts) == 0 {
		t.Fatal("no scripts in " + crafted)
	}
	for _, s := range scripts {
		text, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(text), "# ") {
			t.Errorf("%s: a crafted capture's script begins with a comment that says what it shows", s)
		}
		var b bytes.Buffer
		w, err := pcap.NewWriter(&b, pcap.LinkEthernet, 0, false, false)
		if err != nil {
			t.Fatal(err)
		}
		frames := testcap.Build(string(text))
		for i := range frames {
			if err := w.WritePacket(&frames[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		file := strings.TrimSuffix(s, ".txt") + ".pcap"
		if *update {
			if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(file)
		if err != nil || !bytes.Equal(got, b.Bytes()) {
			t.Errorf("%s is not what %s makes (go test ./internal/testcap -update): %v", file, filepath.Base(s), err)
		}
	}
	pcaps, _ := filepath.Glob(filepath.Join(crafted, "*.pcap"))
	if len(pcaps) != len(scripts) {
		t.Errorf("%d captures for %d scripts in %s", len(pcaps), len(scripts), crafted)
	}
}
