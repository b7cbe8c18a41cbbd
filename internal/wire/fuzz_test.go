package wire_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// fuzzLinks are the link types FuzzDecode chooses from: every one Decode
// knows, and last one it does not.
var fuzzLinks = append(pcap.LinkTypes(), 147)

// decodeOutcome classifies what Decode made of a frame, to pick varied seeds.
func decodeOutcome(err error) string {
	var we *wire.Error
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &we):
		return we.Layer
	}
	return err.Error()
}

func FuzzDecode(f *testing.F) {
	// Seeds: from every capture, its first frames and the first frame of
	// each other outcome (each error layer, not TCP, fragment).
	for _, file := range captures(f) {
		seen := make(map[string]int)
		n := 0
		eachFrame(f, file, func(fr *pcap.Frame) {
			i := slices.Index(fuzzLinks, fr.Link)
			if i < 0 || n >= 12 {
				return
			}
			var s wire.Segment
			out := decodeOutcome(wire.Decode(fr, &s))
			if seen[out] >= 1 && !(out == "ok" && seen[out] < 4) {
				return
			}
			seen[out]++
			n++
			f.Add(uint8(i), append([]byte(nil), fr.Data...), uint32(fr.Length))
		})
	}
	// And the crafted frames of the unit tests.
	for _, data := range [][]byte{
		cat(ethIPv4, ipv4SYN, synTCP),
		cat(ethIPv4, withIPv4Len(ipv4SYN, 0), ackTCP),
		cat(ethIPv6, withIPv6Len(ipv6Hdr, 0, wire.ProtoHopByHop), ext(hopByHopJumbo, wire.ProtoTCP), ackTCP),
		cat(ethIPv6, withIPv6Len(ipv6Hdr, 52, wire.ProtoRouting), ext(routing, wire.ProtoDestOpts), ext(destOpts, wire.ProtoTCP), ackTCP),
		cat(ethIPv6, withIPv6Len(ipv6Hdr, 38, wire.ProtoFragment), ext(fragFirst, wire.ProtoTCP), ackTCP),
		cat(ethIPv4[:12], mustHex("88a8000a81000014"+"0800"), ipv4Opts, synTCP),
	} {
		f.Add(uint8(0), data, uint32(len(data)))
	}

	f.Fuzz(func(t *testing.T, link uint8, data []byte, length uint32) {
		fr := &pcap.Frame{
			Number: 1,
			Link:   fuzzLinks[int(link)%len(fuzzLinks)],
			Data:   data,
			Length: int(length & 0xffffff),
		}
		var s wire.Segment
		err := wire.Decode(fr, &s)
		checkLocate(t, fr, &s, err)
		var we *wire.Error
		switch {
		case err == nil:
			checkDecoded(t, fr, &s)
		case errors.As(err, &we):
			if we.Offset < 0 || we.Offset > len(data) {
				t.Errorf("Decode: %v: offset outside the %d-byte frame", err, len(data))
			}
			if we.Layer == "" || we.Msg() == "" {
				t.Errorf("Decode: %#v lacks a layer or message", we)
			}
		case errors.Is(err, wire.ErrNotTCP):
		default:
			t.Errorf("Decode: unexpected error %T %v", err, err)
		}
		// Whatever Decode left in s is safe to use.
		if s.TCP != nil {
			_ = s.TCP.Flags().String() + s.TCP.Flags().Names()
			it := s.TCP.OptionIter(s.TCPOffset + wire.TCPMinHeaderLen)
			for {
				if _, ok := it.Next(); !ok {
					break
				}
			}
		}
		if s.IPv4 != nil {
			_ = s.IPv4.Options()
			s.IPv4.HeaderChecksumOK()
		}
		_ = s.SeqEnd()
		_ = s.Truncated()
		_ = s.Options.SACKBlocks()
	})
}

// scratch is reused by checkLocate from frame to frame, as the analysis
// reuses its own: what one frame left in it must not change the next.
var scratch wire.Segment

// checkLocate checks that Locate places frame f as Decode decoded it into
// s with err: the analysis spread over cores deals frames by Locate, and
// a frame dealt to the wrong core would split its connection.
func checkLocate(t *testing.T, f *pcap.Frame, s *wire.Segment, err error) {
	t.Helper()
	want := wire.NoSegment
	switch {
	case s.Fragment || errors.Is(err, wire.ErrFragment):
		want = wire.AtFragment
	case s.TCP != nil:
		want = wire.AtSegment
	}
	got := wire.Locate(f, &scratch)
	if got != want {
		t.Fatalf("frame %d: Locate = %d, Decode says %d (err %v)", f.Number, got, want, err)
	}
	if got == wire.AtSegment && (scratch.Src != s.Src || scratch.Dst != s.Dst) {
		t.Fatalf("frame %d: Locate found %v > %v, Decode %v > %v", f.Number, scratch.Src, scratch.Dst, s.Src, s.Dst)
	}
	if got == wire.AtSegment && (scratch.IPVersion != s.IPVersion || scratch.IPID != s.IPID || scratch.Flags != s.Flags) {
		t.Fatalf("frame %d: Locate found IPv%d, IP ID %d, flags %v; Decode IPv%d, %d, %v", f.Number,
			scratch.IPVersion, scratch.IPID, scratch.Flags, s.IPVersion, s.IPID, s.Flags)
	}
}

// checkDecoded checks the properties of a segment Decode accepted.
func checkDecoded(t *testing.T, f *pcap.Frame, s *wire.Segment) {
	t.Helper()
	data := f.Data
	if s.IPVersion != 4 && s.IPVersion != 6 {
		t.Errorf("IPVersion %d", s.IPVersion)
	}
	if !s.Src.IsValid() || !s.Dst.IsValid() {
		t.Errorf("Src %v Dst %v: not valid", s.Src, s.Dst)
	}
	if s.Src.Addr().Is4() != (s.IPVersion == 4) || s.Dst.Addr().Is4() != (s.IPVersion == 4) {
		t.Errorf("IPv%d segment with addresses %v, %v", s.IPVersion, s.Src, s.Dst)
	}
	if s.HeaderLen < wire.TCPMinHeaderLen || s.HeaderLen > 60 {
		t.Errorf("HeaderLen %d outside [20, 60]", s.HeaderLen)
	}
	if s.HeaderLen > len(s.TCP) || s.TCPOffset+s.HeaderLen > len(data) {
		t.Errorf("HeaderLen %d at %d, but %d bytes of TCP captured in a %d-byte frame", s.HeaderLen, s.TCPOffset, len(s.TCP), len(data))
	}
	if s.PayloadLen < 0 {
		t.Errorf("PayloadLen %d < 0", s.PayloadLen)
	}
	if len(s.Payload) > s.PayloadLen {
		t.Errorf("%d payload bytes captured, more than PayloadLen %d", len(s.Payload), s.PayloadLen)
	}
	if s.Options.NumSACK < 0 || s.Options.NumSACK > wire.MaxSACKBlocks {
		t.Errorf("NumSACK %d", s.Options.NumSACK)
	}
	if s.IPOffset != s.Link.HeaderLen || s.TCPOffset < s.IPOffset+20 {
		t.Errorf("IPOffset %d, TCPOffset %d, link header %d", s.IPOffset, s.TCPOffset, s.Link.HeaderLen)
	}
	checkViews(t, f, s)
	if s.TCP.SrcPort() != s.Src.Port() || s.TCP.DstPort() != s.Dst.Port() || s.TCP.Seq() != s.Seq || s.TCP.Flags() != s.Flags {
		t.Errorf("Segment fields disagree with its TCP view")
	}
}

// TestLocateCorpus holds Locate to Decode on every frame of every capture.
func TestLocateCorpus(t *testing.T) {
	frames := 0
	for _, file := range captures(t) {
		eachFrame(t, file, func(f *pcap.Frame) {
			var s wire.Segment
			err := wire.Decode(f, &s)
			checkLocate(t, f, &s, err)
			frames++
		})
	}
	t.Logf("%d frames", frames)
}
