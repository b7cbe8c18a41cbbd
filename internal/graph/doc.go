// Package graph draws a connection as pictures, each one SVG: the ladder
// diagram (the two endpoints' lifelines, one slanted arrow per segment,
// the states as they change, the findings at their frames), the
// time-sequence graph in tcptrace's style, bytes in flight against the
// receive window, and RTT samples over time.
//
// A [Recorder] keeps what the pictures need of the connections it is
// asked for, and of no other, as the capture streams past (DESIGN §3
// "Streaming"); it takes every number from the analysis and derives none.
// Its memory is bounded per connection ([Limits]): a long connection's
// ladder keeps its first and last steps and those worth seeing, and its
// graphs merge segments into time columns that keep their extremes. A
// picture drawn from a cut record says so, and how much was left out.
//
// Every string that can come from a capture (addresses, the analysis's
// and the findings' words) is escaped, and a picture holds no script: a
// standalone SVG is inert, and inlined into the report it is inert too.
package graph
