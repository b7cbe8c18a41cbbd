package render

import "strconv"

// Thousands writes n with commas between groups of three digits:
// "9,366,775", for counts a person reads at a glance.
func Thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
