// Package dissect explains one captured frame field by field, the way
// Wireshark's packet details do, but with each field's meaning in words:
// every link, IP and TCP header field with its byte offset in the frame
// (and bit position for sub-byte fields), its raw bits, its decoded value
// and what it means for this segment; each TCP option TLV; the IPv4 and
// TCP checksums verified; and the payload's first bytes.
//
// [Frame] builds a [Dissection] from a [pcap.Frame] with the views and
// helpers of package wire, copying the few bytes it keeps, so the frame's
// buffer may be reused afterwards. It does no I/O and prints nothing; the
// render package formats a Dissection as text or JSON.
//
// Dissection never stops at the first surprise. A frame that carries no
// TCP is dissected down to the last layer tcplens understands, and
// [Dissection.Stop] says where and why it ends. A malformed header is shown
// as far as its captured bytes go, and the *wire.Error that describes the
// problem (layer and byte offset) becomes the Stop. Malformed input never
// panics.
//
// Relative sequence numbers, the negotiated window scale and what the
// receiving endpoint will do with a segment need the connection's history;
// a Dissection looks at one frame and says so where it matters.
package dissect
