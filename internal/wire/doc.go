// Package wire decodes the link, IP and TCP headers of a captured frame.
//
// Two layers, in the style of gVisor's tcpip/header and smoltcp's wire:
//
//   - Views are byte-slice types named after the header ([IPv4], [IPv6],
//     [TCP]) with accessors named after the RFC fields. The contract, stated
//     once: a view's accessors may be called only on a view returned by its
//     checked constructor ([ParseIPv4], [ParseIPv6], [ParseTCP]), which
//     guarantees the fixed header is present; accessors of variable parts
//     (options, payload) bound themselves by the bytes captured. Views copy
//     nothing.
//   - [Segment] is the decoded meaning of one TCP segment, filled in place
//     by [Decode] into a caller-owned value, so decoding a frame allocates
//     nothing.
//
// Malformed input never panics. Decode reports it as a *[Error] naming the
// layer and the byte offset within the frame, after filling in whatever it
// could decode; a frame that carries no TCP at all yields [ErrNotTCP].
package wire
