package cli

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra/doc"
)

var manDir = flag.String("man", "", "write the man pages to this directory (scripts/make-man.sh)")

// TestManPages makes a man page per command with cobra/doc, from the
// commands' own help, so that the pages never drift from --help and the
// binary carries none of it: scripts/make-man.sh writes them to a
// directory; the test writes them to a temporary one and checks them.
func TestManPages(t *testing.T) {
	dir := *manDir
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	root := newRoot(&env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard})
	root.DisableAutoGenTag = true
	root.InitDefaultCompletionCmd()
	hdr := &doc.GenManHeader{Title: "TCPLENS", Section: "1", Source: "tcplens " + version(), Manual: "tcplens manual"}
	if err := doc.GenManTree(root, hdr, dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tcplens.1", "tcplens-read.1", "tcplens-conns.1", "tcplens-completion-bash.1"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), ".SH NAME") {
			t.Errorf("%s is not a man page", name)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "tcplens-read.1"))
	if !strings.Contains(string(b), "community-id") {
		t.Errorf("tcplens-read.1 lacks the read flags")
	}
}
