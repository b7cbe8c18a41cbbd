// Package sample embeds the small real capture tcplens reads when it is
// given no file, so that a newcomer sees the product at once.
package sample

import _ "embed"

// Capture is the demo capture: seven real Linux connections, each showing
// a pattern tcplens explains, recorded by tcplens's own netlab in network
// namespaces on Linux 6.18 (testdata/kernel: client-close, refused,
// accept-then-close, rst-unread-data, lost-handshake-ack,
// rto-retransmission, close-wait-leak), merged in time order with each
// client moved to its own port (40001 to 40007). The recordings are the
// project's own, under its licence; demo_test.go rebuilds the file from
// them and checks it (go test ./internal/sample -update).
//
//go:embed demo.pcap
var Capture []byte

// Name is how output refers to the demo capture.
const Name = "built-in demo capture (7 Linux connections from tcplens's netlab)"
