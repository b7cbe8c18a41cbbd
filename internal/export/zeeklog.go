package export

import (
	"bufio"
	"io"
	"net/netip"
	"strconv"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/zeek"
)

// ZeekConn is one row of Zeek's conn.log, with Zeek's meaning for every
// column (base/protocols/conn/main.zeek).
type ZeekConn struct {
	TS         float64 // the first packet's time, as Zeek holds it: seconds in a double, to the microsecond
	UID        string
	Orig, Resp netip.AddrPort
	// Duration is from the first packet to the last one before both ends
	// closed. Zeek leaves it, and the byte counts, unset when it is 0.
	Duration             float64
	OrigBytes, RespBytes uint64
	ConnState            string
	LocalOrig, LocalResp bool
	MissedBytes          uint64
	History              string // "" leaves it unset
	OrigPkts, RespPkts   uint64
	OrigIPBytes          uint64
	RespIPBytes          uint64
}

// ZeekConnOf is the conn.log row of a connection as Zeek delimited it.
func ZeekConnOf(s *zeek.Session) ZeekConn {
	sz := s.History.Sizes()
	start, last := zeekTime(s.Start), zeekTime(s.Last)
	return ZeekConn{
		TS:          start,
		UID:         FlowOf(s.Orig, s.Resp, s.Start).UID,
		Orig:        s.Orig,
		Resp:        s.Resp,
		Duration:    last - start, // as Zeek subtracts its doubles
		OrigBytes:   sz.OrigBytes,
		RespBytes:   sz.RespBytes,
		ConnState:   s.History.State(),
		LocalOrig:   zeek.Local(s.Orig.Addr()),
		LocalResp:   zeek.Local(s.Resp.Addr()),
		MissedBytes: sz.MissedBytes,
		History:     s.History.String(),
		OrigPkts:    sz.OrigPkts,
		OrigIPBytes: sz.OrigIPBytes,
		RespPkts:    sz.RespPkts,
		RespIPBytes: sz.RespIPBytes,
	}
}

// zeekTime is a capture time as Zeek holds one: libpcap hands it
// microseconds, and Zeek adds them to the seconds in a double.
func zeekTime(t pcap.Time) float64 {
	sec, ns := t.Unix()
	return float64(sec) + float64(ns/1e3)/1e6
}

// The columns of conn.log as Zeek writes it by default, and their types.
var (
	zeekFields = []string{"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service",
		"duration", "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history",
		"orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "tunnel_parents", "ip_proto"}
	zeekTypes = []string{"time", "string", "addr", "port", "addr", "port", "enum", "string",
		"interval", "count", "count", "string", "bool", "bool", "count", "string",
		"count", "count", "count", "count", "set[string]", "count"}
)

// ZeekWriter writes conn.log, in Zeek's tab-separated format (its header
// and all, as zeek-cut reads it) or as Zeek's JSON (LogAscii::use_json),
// one object per line.
type ZeekWriter struct {
	w    *bufio.Writer
	json bool
	b    []byte
}

// NewZeekWriter writes the log's header to w (nothing for JSON) and
// returns a writer for its rows. Where Zeek writes the time it opened the
// file, tcplens writes the capture's first packet's, so that the output
// is the same in every run.
func NewZeekWriter(w io.Writer, json bool, open pcap.Time) (*ZeekWriter, error) {
	z := &ZeekWriter{w: bufio.NewWriterSize(w, 64<<10), json: json}
	if json {
		return z, nil
	}
	b := z.b[:0]
	b = append(b, "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#open\t"...)
	b = appendZeekDate(b, open)
	b = append(b, "\n#fields"...)
	for _, f := range zeekFields {
		b = append(b, '\t')
		b = append(b, f...)
	}
	b = append(b, "\n#types"...)
	for _, t := range zeekTypes {
		b = append(b, '\t')
		b = append(b, t...)
	}
	b = append(b, '\n')
	z.b = b
	_, err := z.w.Write(b)
	return z, err
}

// Write writes one row.
func (z *ZeekWriter) Write(r *ZeekConn) error {
	if z.json {
		z.b = appendZeekJSON(z.b[:0], r)
	} else {
		z.b = appendZeekTSV(z.b[:0], r)
	}
	_, err := z.w.Write(z.b)
	return err
}

// Close writes the log's footer (with the capture's last packet's time)
// and flushes.
func (z *ZeekWriter) Close(end pcap.Time) error {
	if !z.json {
		b := append(z.b[:0], "#close\t"...)
		b = appendZeekDate(b, end)
		b = append(b, '\n')
		if _, err := z.w.Write(b); err != nil {
			return err
		}
	}
	return z.w.Flush()
}

// appendZeekDate appends t as Zeek's #open and #close lines write a time.
func appendZeekDate(b []byte, t pcap.Time) []byte {
	return t.Std().AppendFormat(b, "2006-01-02-15-04-05")
}

func appendZeekTSV(b []byte, r *ZeekConn) []byte {
	b = strconv.AppendFloat(b, r.TS, 'f', 6, 64)
	b = append(b, '\t')
	b = append(b, r.UID...)
	b = append(b, '\t')
	b = r.Orig.Addr().AppendTo(b)
	b = append(b, '\t')
	b = strconv.AppendUint(b, uint64(r.Orig.Port()), 10)
	b = append(b, '\t')
	b = r.Resp.Addr().AppendTo(b)
	b = append(b, '\t')
	b = strconv.AppendUint(b, uint64(r.Resp.Port()), 10)
	b = append(b, "\ttcp\t-\t"...) // service: Zeek's protocol analyzers name it; tcplens reads TCP alone
	if r.Duration > 0 {
		b = strconv.AppendFloat(b, r.Duration, 'f', 6, 64)
		b = append(b, '\t')
		b = strconv.AppendUint(b, r.OrigBytes, 10)
		b = append(b, '\t')
		b = strconv.AppendUint(b, r.RespBytes, 10)
	} else {
		b = append(b, "-\t-\t-"...)
	}
	b = append(b, '\t')
	b = append(b, r.ConnState...)
	b = append(b, '\t')
	b = appendZeekBool(b, r.LocalOrig)
	b = append(b, '\t')
	b = appendZeekBool(b, r.LocalResp)
	b = append(b, '\t')
	b = strconv.AppendUint(b, r.MissedBytes, 10)
	b = append(b, '\t')
	if r.History == "" {
		b = append(b, '-')
	} else {
		b = append(b, r.History...)
	}
	for _, n := range [...]uint64{r.OrigPkts, r.OrigIPBytes, r.RespPkts, r.RespIPBytes} {
		b = append(b, '\t')
		b = strconv.AppendUint(b, n, 10)
	}
	return append(b, "\t-\t6\n"...) // tunnel_parents unset; ip_proto TCP
}

func appendZeekBool(b []byte, v bool) []byte {
	if v {
		return append(b, 'T')
	}
	return append(b, 'F')
}

// appendZeekJSON writes the row as Zeek's JSON writer does: the set
// columns only, in order, numbers as rapidjson prints doubles (the
// shortest form that reads back the same).
func appendZeekJSON(b []byte, r *ZeekConn) []byte {
	b = append(b, `{"ts":`...)
	b = strconv.AppendFloat(b, r.TS, 'f', -1, 64)
	b = append(b, `,"uid":"`...)
	b = append(b, r.UID...)
	b = append(b, `","id.orig_h":"`...)
	b = r.Orig.Addr().AppendTo(b)
	b = append(b, `","id.orig_p":`...)
	b = strconv.AppendUint(b, uint64(r.Orig.Port()), 10)
	b = append(b, `,"id.resp_h":"`...)
	b = r.Resp.Addr().AppendTo(b)
	b = append(b, `","id.resp_p":`...)
	b = strconv.AppendUint(b, uint64(r.Resp.Port()), 10)
	b = append(b, `,"proto":"tcp"`...)
	if r.Duration > 0 {
		b = append(b, `,"duration":`...)
		b = strconv.AppendFloat(b, r.Duration, 'f', -1, 64)
		b = append(b, `,"orig_bytes":`...)
		b = strconv.AppendUint(b, r.OrigBytes, 10)
		b = append(b, `,"resp_bytes":`...)
		b = strconv.AppendUint(b, r.RespBytes, 10)
	}
	b = append(b, `,"conn_state":"`...)
	b = append(b, r.ConnState...)
	b = append(b, `","local_orig":`...)
	b = strconv.AppendBool(b, r.LocalOrig)
	b = append(b, `,"local_resp":`...)
	b = strconv.AppendBool(b, r.LocalResp)
	b = append(b, `,"missed_bytes":`...)
	b = strconv.AppendUint(b, r.MissedBytes, 10)
	if r.History != "" {
		b = append(b, `,"history":"`...)
		b = append(b, r.History...)
		b = append(b, '"')
	}
	for i, n := range [...]uint64{r.OrigPkts, r.OrigIPBytes, r.RespPkts, r.RespIPBytes} {
		b = append(b, `,"`...)
		b = append(b, zeekFields[16+i]...)
		b = append(b, `":`...)
		b = strconv.AppendUint(b, n, 10)
	}
	return append(b, ",\"ip_proto\":6}\n"...)
}
