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

func TestSSTextLayout(t *testing.T) {
	var b strings.Builder
	writeTable(&b, [][]string{{"State", "Recv-Q", "Local"}, {"ESTABLISHED", "0", "127.0.0.1:80"}, {"LISTEN", "128", "[::]:22"}}, map[int]bool{1: true})
	want := "State        Recv-Q  Local\n" +
		"ESTABLISHED       0  127.0.0.1:80\n" +
		"LISTEN          128  [::]:22\n"
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
	if got := wrap("one two three four", 9); strings.Join(got, "|") != "one two|three|four" {
		t.Errorf("wrap: %q", got)
	}
}

// TestSSFlagValidation: bad numbers and durations are usage errors; a
// missing namespace is named, with no usage advice.
func TestSSFlagValidation(t *testing.T) {
	for _, args := range [][]string{
		{"ss", "--watch=-1s"}, {"ss", "--watch", "1ns"}, {"ss", "--duration", "-5s"}, {"ss", "--orphans", "-1"},
		{"ss", "--close-wait-age", "-1h"}, {"ss", "--syn-recv-heap", "0"}, {"ss", "--interval", "-1s"},
	} {
		_, errOut, code := run(t, nil, args...)
		if code != 2 || !strings.Contains(errOut, "Run 'tcplens --help' for usage") {
			t.Errorf("%v: exit %d, stderr %q; want a usage error", args, code, errOut)
		}
	}
	_, errOut, code := run(t, nil, "ss", "--netns", "tcplens-no-such-namespace")
	if code != 1 || !strings.Contains(errOut, `"tcplens-no-such-namespace" does not exist`) || strings.Contains(errOut, "--help") {
		t.Errorf("a missing namespace: exit %d, stderr %q", code, errOut)
	}
}
