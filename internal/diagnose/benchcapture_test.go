package diagnose_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// benchDir holds captures of real kernel traffic between two network
// namespaces made by make-bench-capture, each with its ground truth
// (NAME.txt): the only losses are the server namespace's iptables drops,
// of the client's packets after the capture point (INPUT: the capture, on
// the client's veth, saw them) and of the server's before it (OUTPUT).
const benchDir = kernelDir + "/bench"

// TestBenchLossWithinDrops: the loss tcplens claims each way never
// exceeds what the path dropped. Reordering on the veth (two CPUs
// sending) must not pass for loss.
func TestBenchLossWithinDrops(t *testing.T) {
	truths, _ := filepath.Glob(filepath.Join(benchDir, "*.pcap.txt"))
	if len(truths) == 0 {
		t.Fatalf("no ground truth in %s", benchDir)
	}
	claim := regexp.MustCompile(`Of the (client|server)'s data, [0-9.]+% was lost on the way to the \w+: (.*?)(?:Of the |The capture was taken|$)`)
	part := regexp.MustCompile(`(\d+) (?:packets?|segments?) (before it|after the capture point)`)
	for _, truth := range truths {
		capture := strings.TrimSuffix(truth, ".txt")
		t.Run(filepath.Base(capture), func(t *testing.T) {
			drops := benchDrops(t, truth)
			claimed := map[string]int{}
			for _, f := range everyFinding(diagnoseFile(t, capture)) {
				if f.ID != "packet-loss" {
					continue
				}
				for _, m := range claim.FindAllStringSubmatch(f.Explanation, -1) {
					for _, p := range part.FindAllStringSubmatch(m[2], -1) {
						n, _ := strconv.Atoi(p[1])
						claimed[m[1]+" "+p[2]] += n
					}
				}
			}
			t.Logf("claimed %v; dropped %v", claimed, drops)
			if got, max := claimed["client after the capture point"], drops["INPUT"]; got > max {
				t.Errorf("%d of the client's packets claimed lost after the capture point; the server's firewall dropped %d", got, max)
			}
			if got, max := claimed["server before it"], drops["OUTPUT"]; got > max {
				t.Errorf("%d of the server's packets claimed lost before the capture point; the server's firewall dropped %d", got, max)
			}
			if got := claimed["client before it"]; got > 0 {
				t.Errorf("%d of the client's packets claimed lost before the capture point, which is the client's own interface", got)
			}
		})
	}
}

// benchDrops reads the iptables and ip6tables drop counters of a ground
// truth file, by chain.
func benchDrops(t *testing.T, path string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	re := regexp.MustCompile(`(?m)^ip6?tables (INPUT|OUTPUT): (\d+) packets dropped$`)
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		n, _ := strconv.Atoi(m[2])
		out[m[1]] += n
	}
	if len(out) != 2 {
		t.Fatalf("%s: drop counters %v", path, out)
	}
	return out
}
