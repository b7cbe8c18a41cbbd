package export

import (
	"time"
	"unsafe"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
	"github.com/tcplens/tcplens/internal/diagnose"
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/tcp"
	"github.com/tcplens/tcplens/internal/wire"
)

// Empty lists, shared: JSON writes them [] where a nil slice would be
// null, and Parquet reads back an empty list as [].
var (
	noFindings = []string{}
	noAnalysis = []string{}
	noSACK     = []SACKBlock{}
)

// ConnectionOf is the connections row of a connection, with the ids of
// its findings.
func ConnectionOf(s *analyze.Summary, flow Flow, findings []diagnose.Finding, capture string) Connection {
	cl, sv := &s.Client, &s.Server
	r := Connection{
		TS:          Time(s.Start),
		UID:         flow.UID,
		OrigH:       cl.Addr.Addr().String(),
		OrigP:       int32(cl.Addr.Port()),
		RespH:       sv.Addr.Addr().String(),
		RespP:       int32(sv.Addr.Port()),
		Duration:    s.Duration().Seconds(),
		OrigBytes:   int64(s.Zeek.OrigBytes),
		RespBytes:   int64(s.Zeek.RespBytes),
		ConnState:   s.ZeekState,
		MissedBytes: int64(s.Zeek.MissedBytes),
		History:     s.ZeekHistory,
		OrigPkts:    int64(s.Zeek.OrigPkts),
		OrigIPBytes: int64(s.Zeek.OrigIPBytes),
		RespPkts:    int64(s.Zeek.RespPkts),
		RespIPBytes: int64(s.Zeek.RespIPBytes),
		CommunityID: flow.CommunityID,

		End:              Time(s.End),
		FirstFrame:       int64(s.FirstFrame),
		LastFrame:        int64(s.LastFrame),
		OrigPayloadBytes: int64(cl.PayloadBytes),
		RespPayloadBytes: int64(sv.PayloadBytes),
		RoleGuessed:      s.RoleGuessed,
		OrigState:        cl.State.String(),
		RespState:        sv.State.String(),
		Close:            s.Close,
		ClosedBy:         s.ClosedBy,
		HandshakeRTT:     seconds(s.HandshakeRTT),
		OrigDupAcks:      int32(cl.DupAcks),
		RespDupAcks:      int32(sv.DupAcks),
		OrigZeroWindows:  int32(cl.ZeroWindows),
		RespZeroWindows:  int32(sv.ZeroWindows),
		WindowScaling:    s.Negotiated.WindowScale,
		WScaleInferred:   cl.ShiftInferred || sv.ShiftInferred,
		SACK:             s.Negotiated.SACK,
		Timestamps:       s.Negotiated.Timestamps,
		ECN:              s.Negotiated.ECN,
		AccECN:           s.Negotiated.AccECN,
		TFO:              s.Negotiated.TFO,
		Vantage:          s.Vantage.String(),
		ReusedPorts:      s.ReusedPorts,
		EndReason:        s.EndReason.String(),
		Findings:         noFindings,
		Capture:          capture,
	}
	if s.FirstClosed != "" {
		r.ClosedFirst = ptr(s.FirstClosed)
	}
	r.OrigSRTT, r.OrigMinRTT = rtt(&cl.RTT)
	r.RespSRTT, r.RespMinRTT = rtt(&sv.RTT)
	o, p := &cl.Retrans, &sv.Retrans
	r.OrigRetrans, r.OrigRetransFast, r.OrigRetransRTO, r.OrigRetransTLP = int32(o.Total), int32(o.Fast), int32(o.RTO), int32(o.TailLossProbe)
	r.OrigRetransSpurious, r.OrigRetransSYN, r.OrigRetransSYNACK, r.OrigRetransFIN = int32(o.Spurious), int32(o.SYN), int32(o.SYNACK), int32(o.FIN)
	r.RespRetrans, r.RespRetransFast, r.RespRetransRTO, r.RespRetransTLP = int32(p.Total), int32(p.Fast), int32(p.RTO), int32(p.TailLossProbe)
	r.RespRetransSpurious, r.RespRetransSYN, r.RespRetransSYNACK, r.RespRetransFIN = int32(p.Spurious), int32(p.SYN), int32(p.SYNACK), int32(p.FIN)
	r.MSSOrigSends, r.MSSRespSends = mss(s.Negotiated.MSSClient), mss(s.Negotiated.MSSServer)
	r.WScaleOrig, r.WScaleResp = shift(s.Negotiated.ShiftClient), shift(s.Negotiated.ShiftServer)
	if len(findings) > 0 {
		r.Findings = make([]string, len(findings))
		for i := range findings {
			r.Findings[i] = findings[i].ID
		}
	}
	return r
}

// FindingOf is the findings row of one finding of a connection whose
// first packet was at start.
func FindingOf(f *diagnose.Finding, start pcap.Time, flow Flow, capture string) Finding {
	frames := make([]int64, len(f.Frames))
	for i, n := range f.Frames {
		frames[i] = int64(n)
	}
	return Finding{
		UID:         flow.UID,
		TS:          Time(start),
		ID:          f.ID,
		Severity:    f.Severity.String(),
		Frames:      frames,
		Title:       f.Title,
		Explanation: f.Explanation,
		Advice:      f.Advice,
		Capture:     capture,
	}
}

// TransitionOf is the transitions row of one state change of an end; v
// is where its words are kept.
func TransitionOf(t *tcp.Transition, end string, flow Flow, capture string, v *values) Transition {
	return Transition{
		UID:        flow.UID,
		End:        end,
		Frame:      int64(t.Frame),
		TS:         Time(t.Time),
		From:       t.From.String(),
		To:         t.State.String(),
		Reason:     v.words(t.Reason),
		Correction: t.Correction,
		Capture:    capture,
	}
}

// SegmentOf is the segments row of one analysed segment; c is its
// connection's uid and addresses (nil for a segment tied to none), v
// where its optional columns' values are kept.
func SegmentOf(s *analyze.Segment, c *segmentConn, capture string, v *values) Segment {
	f, seg, r := s.Frame, s.Seg, s.Result
	row := Segment{
		Frame:    int64(f.Number),
		TS:       Time(f.Time),
		SACK:     noSACK,
		Analysis: noAnalysis,
		Capture:  capture,
	}
	if s.Conn != nil {
		row.Dir = s.Dir.String()
		row.ClientState = s.Conn.ClientEnd().State.String()
		row.ServerState = s.Conn.ServerEnd().State.String()
	}
	if seg.TCP != nil {
		switch {
		case c == nil:
			row.SrcH, row.DstH = seg.Src.Addr().String(), seg.Dst.Addr().String()
		case s.Dir == conn.ClientToServer:
			row.UID, row.SrcH, row.DstH = c.uid, c.client, c.server
		default:
			row.UID, row.SrcH, row.DstH = c.uid, c.server, c.client
		}
		row.SrcP, row.DstP = int32(seg.Src.Port()), int32(seg.Dst.Port())
		row.Flags = flagWords[uint8(seg.Flags)]
		row.Seq, row.Ack = int64(r.RelSeq), int64(r.RelAck)
		row.SeqRaw, row.AckRaw = int64(seg.Seq), int64(seg.Ack)
		row.Len, row.Win = int32(seg.PayloadLen), int32(seg.Window)
		if r.WindowScaled >= 0 {
			row.WinScaled = v.int64(r.WindowScaled)
		}
		options(&row, &seg.Options, v)
	}
	if !r.Analysis.Empty() {
		kinds := r.Analysis.Kinds()
		row.Analysis = v.strings(len(kinds))
		for i, k := range kinds {
			row.Analysis[i] = k.String()
		}
	}
	if r.DupAckFrame != 0 {
		row.DupAckNum, row.DupAckOf = v.int32(int32(r.DupAckNum)), v.int64(int64(r.DupAckFrame))
	}
	if r.RetransFrame != 0 {
		row.RetransOf, row.RetransAfter = v.int64(int64(r.RetransFrame)), v.float64(r.RetransDelay.Seconds())
	}
	if r.AckedFrame != 0 {
		row.AcksFrame, row.AckRTT = v.int64(int64(r.AckedFrame)), v.float64(r.AckRTT.Seconds())
	}
	if r.RTTSample > 0 {
		row.RTT = v.float64(r.RTTSample.Seconds())
	}
	if r.BytesInFlight >= 0 {
		row.BytesInFlight = v.int64(r.BytesInFlight)
	}
	if s.Err != nil {
		row.Error = ptr(s.Err.Error())
	}
	return row
}

func options(row *Segment, o *wire.Options, v *values) {
	if o.Has(wire.HasMSS) {
		row.MSS = v.int32(int32(o.MSS))
	}
	if o.Has(wire.HasWindowScale) {
		row.WScale = v.int32(int32(o.WindowScale))
	}
	row.SACKPermitted = o.Has(wire.HasSACKPermitted)
	if o.Has(wire.HasSACK) {
		blocks := o.SACKBlocks()
		row.SACK = make([]SACKBlock, len(blocks))
		for i, b := range blocks {
			row.SACK[i] = SACKBlock{Left: int64(b.Start), Right: int64(b.End)}
		}
	}
	if o.Has(wire.HasTimestamps) {
		row.TSVal, row.TSEcr = v.int64(int64(o.TSVal)), v.int64(int64(o.TSEcr))
	}
}

func ptr[T any](v T) *T { return &v }

// values hands out the values a segment row's optional columns point to
// from slabs: one allocation each would be several per segment, tens of
// millions on a large capture. A slab stays as long as a row points
// into it, until the row is written.
type values struct {
	i64  slab[int64]
	i32  slab[int32]
	f64  slab[float64]
	str  slab[string]
	text []byte // the words of transitions' reasons
}

// words is a reason's words, kept in a slab of bytes: a string each
// would be an allocation per transition, 600,000 on the 1 GB benchmark
// capture. The bytes a string was made of are never written again.
func (v *values) words(r tcp.Reason) string {
	const textSlab = 64 << 10
	if cap(v.text)-len(v.text) < textSlab/16 {
		v.text = make([]byte, 0, textSlab)
	}
	from := len(v.text)
	v.text, _ = r.AppendText(v.text)
	if len(v.text) == from {
		return ""
	}
	return unsafe.String(&v.text[from], len(v.text)-from)
}

// strings returns n strings to fill.
func (v *values) strings(n int) []string {
	if cap(v.str)-len(v.str) < n {
		v.str = make([]string, 0, max(slabLen, n))
	}
	from := len(v.str)
	v.str = v.str[:from+n]
	return v.str[from : from+n : from+n]
}

func (v *values) int64(x int64) *int64       { return v.i64.ptr(x) }
func (v *values) int32(x int32) *int32       { return v.i32.ptr(x) }
func (v *values) float64(x float64) *float64 { return v.f64.ptr(x) }

type slab[T any] []T

const slabLen = 4096

func (s *slab[T]) ptr(x T) *T {
	if len(*s) == cap(*s) {
		*s = make([]T, 0, slabLen)
	}
	*s = append(*s, x)
	return &(*s)[len(*s)-1]
}

// flagWords are the flags' words in tcpdump's letters, made once.
var flagWords = func() (w [256]string) {
	for i := range w {
		w[i] = wire.Flags(i).String()
	}
	return w
}()

// seconds is d in seconds, nil for 0 (not measured).
func seconds(d time.Duration) *float64 {
	if d <= 0 {
		return nil
	}
	return ptr(d.Seconds())
}

// rtt is an estimator's SRTT and minimum, nil without samples.
func rtt(e *tcp.RTT) (srtt, lowest *float64) {
	if e.Samples == 0 {
		return nil, nil
	}
	return ptr(e.SRTT.Seconds()), ptr(e.Min.Seconds())
}

func mss(v uint16) *int32 {
	if v == 0 {
		return nil
	}
	return ptr(int32(v))
}

func shift(v int8) *int32 {
	if v < 0 {
		return nil
	}
	return ptr(int32(v))
}
