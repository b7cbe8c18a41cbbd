package cli

import (
	"strings"
	"testing"
)

func TestSSBadFilter(t *testing.T) {
	_, errOut, code := run(t, nil, "ss", "state", "nosuch")
	if code != exitUsage || !strings.Contains(errOut, `unknown state "nosuch"`) {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

// TestSSFlagValidation: bad numbers and durations are usage errors; a
// missing namespace is named, with no usage advice.
func TestSSFlagValidation(t *testing.T) {
	for _, args := range [][]string{
		{"ss", "--watch=-1s"}, {"ss", "--watch", "1ns"}, {"ss", "--duration", "-5s"}, {"ss", "--orphans", "-1"},
		{"ss", "--close-wait-age", "-1h"}, {"ss", "--syn-recv-heap", "0"}, {"ss", "--interval", "-1s"},
		{"ss", "-i", "1s"}, {"ss", "-x"},
	} {
		_, errOut, code := run(t, nil, args...)
		if code != 2 || !strings.Contains(errOut, "Run 'tcplens --help' for usage") {
			t.Errorf("%v: exit %d, stderr %q; want a usage error", args, code, errOut)
		}
	}
	if _, errOut, _ := run(t, nil, "ss", "-i", "1s"); !strings.Contains(errOut, "the counters' interval is --interval 1s") {
		t.Errorf("ss -i 1s does not say -i is tcp_info: %q", errOut)
	}
	_, errOut, code := run(t, nil, "ss", "--netns", "tcplens-no-such-namespace")
	if code != 1 || !strings.Contains(errOut, `"tcplens-no-such-namespace" does not exist`) || strings.Contains(errOut, "--help") {
		t.Errorf("a missing namespace: exit %d, stderr %q", code, errOut)
	}
}
