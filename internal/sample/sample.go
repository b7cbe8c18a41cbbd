// Package sample embeds the small real capture tcplens reads when it is
// given no file, so that a newcomer sees output at once.
package sample

import _ "embed"

// Capture is the sample capture: an HTTP GET over IPv4 with its handshake,
// request, response and FIN close, from Zeek's test traces
// (testing/btest/Traces/http/get.trace, BSD-3-Clause).
//
//go:embed sample.pcap
var Capture []byte

// Name is how output refers to the sample.
const Name = "built-in sample (zeek http/get.trace)"
