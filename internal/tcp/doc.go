// Package tcp is the endpoint model: the RFC 9293 state machine of both
// ends of a connection, run from what a capture shows, and the analysis of
// each segment.
//
// "Inferred" is the word for every state here. An observer sees a segment
// once, at the capture point, which may be next to either end or in the
// middle. tcplens moves the sender when the segment is sent and the
// receiver when it is assumed to arrive, at capture time; when later
// evidence shows it did not arrive (the sender sends it again and the
// receiver had not acknowledged it), the receiver's state is corrected and
// the correction is a transition of its own. Timers the capture cannot
// show are stated, not guessed: TIME_WAIT ends 60 s after it began, as
// Linux holds it, only if the capture goes on that long.
//
// The per-segment analysis carries tshark's names with tshark 4.0's
// conditions (epan/dissectors/packet-tcp.c, tcp_analyze_sequence_number),
// followed literally so that the names mean what Wireshark users know,
// and then tcplens's own decisions where tshark is wrong or says less:
// the kind of each retransmission from the measured RTT and the evidence
// that prompted it, Linux's persist probes, D-SACK, PAWS, checksum
// offload, challenge ACKs and the window scale of mid-stream connections.
package tcp
