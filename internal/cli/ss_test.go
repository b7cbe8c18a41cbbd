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
