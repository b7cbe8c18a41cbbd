package render

import (
	"encoding/json"
	"io"
	"time"

	"github.com/tcplens/tcplens/internal/sockdiag"
	"github.com/tcplens/tcplens/internal/sockwatch"
)

// The JSON of tcplens ss is an API: these structs are its schema, kept
// apart from the internal types so that those can change.

type ssJSONReport struct {
	Time       time.Time      `json:"time"`
	Source     string         `json:"source"`
	IntervalMS int64          `json:"interval_ms"`
	Sockets    []ssJSONSocket `json:"sockets"`
	Counts     map[string]int `json:"counts"`
	Listeners  []ssJSONListen `json:"listeners"`
	Flags      []ssJSONFlag   `json:"flags"`
	Counters   []ssJSONCount  `json:"counters"`
	Sysctl     map[string]int `json:"sysctl"`
	Sockstat   map[string]int `json:"sockstat,omitempty"`
}

type ssJSONSocket struct {
	State     string         `json:"state"`
	Local     string         `json:"local"`
	Peer      string         `json:"peer"`
	RecvQ     uint32         `json:"recv_q"`
	SendQ     uint32         `json:"send_q"`
	Request   bool           `json:"request,omitempty"`
	Timer     string         `json:"timer,omitempty"`
	ExpiresMS int64          `json:"expires_ms,omitempty"`
	Retrans   uint8          `json:"timer_retrans,omitempty"`
	UID       uint32         `json:"uid"`
	Inode     uint32         `json:"inode"`
	Cookie    uint64         `json:"cookie,omitempty"`
	CgroupID  uint64         `json:"cgroup_id,omitempty"`
	Mark      uint32         `json:"mark,omitempty"`
	V6Only    *bool          `json:"v6only,omitempty"`
	Shutdown  *uint8         `json:"shutdown,omitempty"`
	Cong      string         `json:"cong,omitempty"`
	CC        *ssJSONCC      `json:"cc,omitempty"`
	Mem       *ssJSONMem     `json:"skmem,omitempty"`
	TCPInfo   *ssJSONTCPInfo `json:"tcp_info,omitempty"`
	Processes []ssJSONProc   `json:"processes,omitempty"`
}

type ssJSONMem struct {
	RmemAlloc  uint32 `json:"rmem_alloc"`
	Rcvbuf     uint32 `json:"rcvbuf"`
	WmemAlloc  uint32 `json:"wmem_alloc"`
	Sndbuf     uint32 `json:"sndbuf"`
	FwdAlloc   uint32 `json:"fwd_alloc"`
	WmemQueued uint32 `json:"wmem_queued"`
	Optmem     uint32 `json:"optmem"`
	Backlog    uint32 `json:"backlog"`
	Drops      uint32 `json:"drops"`
}

type ssJSONCC struct {
	Kind       string  `json:"kind"`
	BWBps      uint64  `json:"bw_bytes_per_s,omitempty"`
	MinRTTus   int64   `json:"min_rtt_us,omitempty"`
	PacingGain float64 `json:"pacing_gain,omitempty"`
	CwndGain   float64 `json:"cwnd_gain,omitempty"`
	Enabled    bool    `json:"enabled,omitempty"`
	CEState    uint16  `json:"ce_state,omitempty"`
	Alpha      uint32  `json:"alpha,omitempty"`
	ABECN      uint32  `json:"ab_ecn,omitempty"`
	ABTot      uint32  `json:"ab_tot,omitempty"`
	RTTus      int64   `json:"rtt_us,omitempty"`
}

type ssJSONTCPInfo struct {
	RTTus          int64  `json:"rtt_us"`
	RTTVarus       int64  `json:"rttvar_us"`
	MinRTTus       int64  `json:"min_rtt_us"`
	RTOms          int64  `json:"rto_ms"`
	Cwnd           uint32 `json:"cwnd"`
	Ssthresh       uint32 `json:"ssthresh"`
	SndMSS         uint32 `json:"snd_mss"`
	RcvMSS         uint32 `json:"rcv_mss"`
	SndWScale      uint8  `json:"snd_wscale"`
	RcvWScale      uint8  `json:"rcv_wscale"`
	Options        string `json:"options"`
	CAState        string `json:"ca_state"`
	Unacked        uint32 `json:"unacked"`
	Retrans        uint32 `json:"retrans"`
	TotalRetrans   uint32 `json:"total_retrans"`
	Lost           uint32 `json:"lost"`
	BytesAcked     uint64 `json:"bytes_acked"`
	BytesReceived  uint64 `json:"bytes_received"`
	BytesSent      uint64 `json:"bytes_sent"`
	BytesRetrans   uint64 `json:"bytes_retrans"`
	SndWnd         uint32 `json:"snd_wnd"`
	RcvWnd         uint32 `json:"rcv_wnd"`
	PacingRate     uint64 `json:"pacing_rate"`
	DeliveryRate   uint64 `json:"delivery_rate"`
	LastDataSentMS int64  `json:"last_data_sent_ms"`
	LastDataRecvMS int64  `json:"last_data_recv_ms"`
	LastAckRecvMS  int64  `json:"last_ack_recv_ms"`
}

type ssJSONProc struct {
	PID  int    `json:"pid"`
	Comm string `json:"comm"`
	FD   int    `json:"fd,omitempty"`
}

type ssJSONListen struct {
	Local     string       `json:"local"`
	Queue     int          `json:"accept_queue"`
	Backlog   int          `json:"backlog"`
	SynRecv   int          `json:"syn_recv"`
	Processes []ssJSONProc `json:"processes,omitempty"`
}

type ssJSONFlag struct {
	Kind      string       `json:"kind"`
	Severity  string       `json:"severity"`
	Title     string       `json:"title"`
	Text      string       `json:"text"`
	Sockets   []string     `json:"sockets,omitempty"` // "local peer"
	Processes []ssJSONProc `json:"processes,omitempty"`
}

type ssJSONCount struct {
	Name  string `json:"name"`
	Delta int64  `json:"delta"`
	Total int64  `json:"total"`
}

type ssJSONTransition struct {
	Time   time.Time     `json:"time"`
	Event  string        `json:"event"` // seen, new, change, gone
	Local  string        `json:"local"`
	Peer   string        `json:"peer"`
	From   string        `json:"from,omitempty"`
	To     string        `json:"to,omitempty"`
	Socket *ssJSONSocket `json:"socket,omitempty"`
}

type ssJSONEvent struct {
	Time  time.Time   `json:"time"`
	Event string      `json:"event"` // counter, flag
	Name  string      `json:"name,omitempty"`
	Delta int64       `json:"delta,omitempty"`
	Total int64       `json:"total,omitempty"`
	Flag  *ssJSONFlag `json:"flag,omitempty"`
}

func ssJSONProcs(owners []sockdiag.Owner) []ssJSONProc {
	var out []ssJSONProc
	for _, o := range owners {
		out = append(out, ssJSONProc{PID: o.PID, Comm: o.Comm, FD: o.FD})
	}
	return out
}

func ssJSONSock(s *sockdiag.Socket) ssJSONSocket {
	j := ssJSONSocket{State: s.State.String(), Local: s.Local.String(), Peer: s.Peer.String(), RecvQ: s.RecvQ, SendQ: s.SendQ,
		Request: s.Request, UID: s.UID, Inode: s.Inode, Cookie: s.Cookie, CgroupID: s.CgroupID, Mark: s.Mark, V6Only: s.V6Only,
		Cong: s.Cong, Processes: ssJSONProcs(s.Owners)}
	if s.Timer != sockdiag.TimerNone {
		j.Timer, j.ExpiresMS, j.Retrans = s.Timer.String(), s.Expires.Milliseconds(), s.Retrans
	}
	if s.HasShutdown {
		sd := s.Shutdown
		j.Shutdown = &sd
	}
	if m := s.Mem; m != nil {
		j.Mem = &ssJSONMem{m.RmemAlloc, m.Rcvbuf, m.WmemAlloc, m.Sndbuf, m.FwdAlloc, m.WmemQueued, m.Optmem, m.Backlog, m.Drops}
	}
	if c := s.CC; c != nil {
		j.CC = &ssJSONCC{Kind: c.Kind, BWBps: c.BW, MinRTTus: c.MinRTT.Microseconds(), PacingGain: float64(c.PacingGain) / 256,
			CwndGain: float64(c.CwndGain) / 256, Enabled: c.Enabled, CEState: c.CEState, Alpha: c.Alpha, ABECN: c.ABECN, ABTot: c.ABTot,
			RTTus: c.RTT.Microseconds()}
	}
	if i := s.Info; i != nil {
		j.TCPInfo = &ssJSONTCPInfo{
			RTTus: i.RTT.Microseconds(), RTTVarus: i.RTTVar.Microseconds(), MinRTTus: i.MinRTT.Microseconds(), RTOms: i.RTO.Milliseconds(),
			Cwnd: i.SndCwnd, Ssthresh: i.SndSsthresh, SndMSS: i.SndMSS, RcvMSS: i.RcvMSS, SndWScale: i.SndWScale, RcvWScale: i.RcvWScale,
			Options: i.Options.String(), CAState: i.CAState.String(), Unacked: i.Unacked, Retrans: i.Retrans, TotalRetrans: i.TotalRetrans,
			Lost: i.Lost, BytesAcked: i.BytesAcked, BytesReceived: i.BytesReceived, BytesSent: i.BytesSent, BytesRetrans: i.BytesRetrans,
			SndWnd: i.SndWnd, RcvWnd: i.RcvWnd, PacingRate: i.PacingRate, DeliveryRate: i.DeliveryRate,
			LastDataSentMS: i.LastDataSent.Milliseconds(), LastDataRecvMS: i.LastDataRecv.Milliseconds(), LastAckRecvMS: i.LastAckRecv.Milliseconds(),
		}
	}
	return j
}

func ssJSONFlagOf(f *sockwatch.Flag) ssJSONFlag {
	j := ssJSONFlag{Kind: f.Kind, Severity: f.Severity.String(), Title: f.Title, Text: f.Text, Processes: ssJSONProcs(f.Owners)}
	for _, s := range f.Sockets {
		j.Sockets = append(j.Sockets, s.Local.String()+" "+s.Peer.String())
	}
	return j
}

// SSJSON writes the report as one indented JSON document: the sockets of
// the table (states as SSText lists them), and the counts, listeners,
// flags and counters of every socket the filter kept.
func SSJSON(w io.Writer, rep *sockwatch.Report, states uint32) error {
	j := ssJSONReport{Time: rep.Time, Source: rep.Source, IntervalMS: rep.Interval.Milliseconds(), Counts: map[string]int{},
		Sockets: []ssJSONSocket{}, Listeners: []ssJSONListen{}, Flags: []ssJSONFlag{}, Counters: []ssJSONCount{}}
	for _, s := range rep.Table(states) {
		j.Sockets = append(j.Sockets, ssJSONSock(&s))
	}
	for _, st := range sockwatch.StateOrder() {
		j.Counts[st.String()] = rep.Counts[st]
	}
	for _, l := range rep.Listeners {
		j.Listeners = append(j.Listeners, ssJSONListen{Local: l.Socket.Local.String(), Queue: l.Queue, Backlog: l.Backlog, SynRecv: l.SynRecv, Processes: ssJSONProcs(l.Socket.Owners)})
	}
	for i := range rep.Flags {
		j.Flags = append(j.Flags, ssJSONFlagOf(&rep.Flags[i]))
	}
	for _, d := range rep.Deltas {
		j.Counters = append(j.Counters, ssJSONCount{Name: d.Name, Delta: d.Delta, Total: d.Total})
	}
	s := rep.Sysctl
	j.Sysctl = map[string]int{"ip_local_port_range_low": s.PortLow, "ip_local_port_range_high": s.PortHigh, "tcp_fin_timeout": s.FinTimeout,
		"tcp_max_syn_backlog": s.MaxSynBacklog, "somaxconn": s.Somaxconn, "tcp_syncookies": s.Syncookies, "tcp_max_orphans": s.MaxOrphans}
	if st := rep.Sockstat; st != nil {
		j.Sockstat = map[string]int{"sockets_used": st.Sockets, "tcp_inuse": st.TCP, "tcp_orphan": st.TCPOrphan, "tcp_tw": st.TCPTimeWait,
			"tcp_alloc": st.TCPAlloc, "tcp_mem": st.TCPMem, "udp_inuse": st.UDP, "raw_inuse": st.RAW, "frag_inuse": st.FRAG,
			"tcp6_inuse": st.TCP6, "udp6_inuse": st.UDP6, "raw6_inuse": st.RAW6, "frag6_inuse": st.FRAG6}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(j)
}

// SSEventJSON writes one --watch event as one line of JSON.
func SSEventJSON(w io.Writer, ev *sockwatch.Event) error {
	var v any
	switch {
	case ev.Transition != nil:
		t := ev.Transition
		j := ssJSONTransition{Time: t.Time, Event: t.Kind.String(), Local: t.Key.Local.String(), Peer: t.Key.Peer.String()}
		if t.From != sockdiag.Unknown {
			j.From = t.From.String()
		}
		if t.To != sockdiag.Unknown {
			j.To = t.To.String()
		}
		s := ssJSONSock(&t.Socket)
		j.Socket = &s
		v = j
	case ev.Counter != nil:
		v = ssJSONEvent{Time: ev.Time, Event: "counter", Name: ev.Counter.Name, Delta: ev.Counter.Delta, Total: ev.Counter.Total}
	case ev.Flag != nil:
		f := ssJSONFlagOf(ev.Flag)
		v = ssJSONEvent{Time: ev.Time, Event: "flag", Flag: &f}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
