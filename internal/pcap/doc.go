// Package pcap reads capture files: classic pcap (both byte orders,
// microsecond and nanosecond timestamps, the Kuznetzov variant, FCS bits in
// the link-type word) and pcapng (several sections, each with its own byte
// order and interfaces; per-interface link type, if_tsresol, if_tsoffset and
// if_fcslen; Enhanced, Simple and obsolete Packet Blocks; other blocks
// skipped), plain or gzip-compressed. It knows nothing of TCP.
//
// A [Reader] hands out one [Frame] at a time. Frame.Data points into the
// reader's buffer and is valid only until the next call to Next: reading a
// frame copies nothing and allocates nothing. Several readers are merged in
// timestamp order with [Merge].
//
// Malformed files never panic the reader and never make it allocate far
// beyond the size of the data actually read: a length field is trusted only
// as far as the bytes behind it exist. Every problem is a *[FormatError]
// naming the frame number and the byte offset. After such an error the
// caller may call Next again: the reader goes on with the next record when
// the format lets it find one (a pcapng block boundary, or for classic pcap
// the next plausible record header, found by scanning) and returns io.EOF
// when it cannot. A warning about a frame that was handed out whole (more
// captured bytes than its wire length or the file's snaplen) is a
// *FormatError naming that frame, returned by the call after it. A gzip
// stream that is corrupt or cut short is reported even where the capture
// inside it ends cleanly.
package pcap
