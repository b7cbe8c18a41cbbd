package render

import (
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/tcplens/tcplens/internal/sockdiag"
	"github.com/tcplens/tcplens/internal/sockwatch"
)

// SSOptions are ss's display flags, with ss's meanings (ss(8), iproute2).
type SSOptions struct {
	States    uint32 // the states the table lists (sockwatch.Filter.TableStates)
	NoHeader  bool   // -H: the socket lines alone
	Processes bool   // -p: users:(("comm",pid=N,fd=N))
	Options   bool   // -o: timer:(name,expiry,retransmits); with -i the negotiated options too
	Extended  bool   // -e: uid, inode, socket cookie, cgroup, fwmark, v6only, shutdown (and -o)
	Memory    bool   // -m: skmem:(...)
	Info      bool   // -i: tcp_info
	Summary   bool   // -s: ss's summary of the namespace's sockets, instead of the table
	// Numeric (-n) prints rates in bits per second as numbers, as ss -n
	// does; without it they take a unit (131Gbps). tcplens never
	// resolves names either way.
	Numeric bool
	// Cgroup names a socket's cgroup by its id, as ss -e does (the
	// caller looks the id up in the cgroup file system); nil prints the
	// id.
	Cgroup func(id uint64) string
}

// SSAddr formats an endpoint as ss -n does: the port of an unconnected
// peer is "*".
func SSAddr(ap netip.AddrPort) string {
	if ap.Port() == 0 {
		a := ap.Addr()
		if a.Is6() && !a.Is4In6() {
			return "[" + a.String() + "]:*"
		}
		return a.String() + ":*"
	}
	return ap.String()
}

// Users formats owners as ss -p does: users:(("nginx",pid=42,fd=3)).
func Users(owners []sockdiag.Owner) string {
	if len(owners) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("users:(")
	for i, o := range owners {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "(%q,pid=%d,fd=%d)", o.Comm, o.PID, o.FD)
	}
	b.WriteByte(')')
	return b.String()
}

// SSText writes what tcplens ss prints: the table of the sockets in
// o.States, as ss lists them, with the details o asks for (or, with -s,
// ss's summary instead); then, unless o.NoHeader, what tcplens adds: the
// counts per state of every socket the filter kept, the listeners'
// queues, the flags and the kernel's counters.
func SSText(w io.Writer, rep *sockwatch.Report, o SSOptions) error {
	var b strings.Builder
	if o.Summary {
		ssSummary(&b, rep)
	} else {
		ssTable(&b, rep.Table(o.States), o)
	}
	if !o.NoHeader {
		if !o.Summary {
			b.WriteByte('\n')
		}
		ssAssessment(&b, rep)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ssTable lists sockets as ss does: a State column unless one state is
// listed, the queues, the addresses, then what the flags add, and with -m
// or -i a second line that starts with a tab. The columns are aligned as
// tcplens aligns tables, not padded to the terminal's width as ss pads
// them.
func ssTable(b *strings.Builder, socks []sockdiag.Socket, o SSOptions) {
	oneState := o.States&(o.States-1) == 0
	var rows [][]string
	var second []string
	if !o.NoHeader {
		head := []string{"Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port", "Process"}
		if !oneState {
			head = append([]string{"State"}, head...)
		}
		rows = append(rows, head)
		second = append(second, "")
	}
	for i := range socks {
		s := &socks[i]
		row := []string{strconv.Itoa(int(s.RecvQ)), strconv.Itoa(int(s.SendQ)), SSAddr(s.Local), SSAddr(s.Peer), ssDetails(s, o)}
		if !oneState {
			row = append([]string{s.State.String()}, row...)
		}
		rows = append(rows, row)
		second = append(second, ssSecondLine(s, o))
	}
	right := map[int]bool{0: true, 1: true}
	if !oneState {
		right = map[int]bool{1: true, 2: true}
	}
	for i, line := range columns(rows, right) {
		b.WriteString(line)
		b.WriteByte('\n')
		if second[i] != "" {
			b.WriteString("\t " + second[i] + "\n") // ss's tab, then the space before each field
		}
	}
}

// ssDetails is what follows the addresses on a socket's line: -p's
// users, -o's timer, -e's details, in ss's order.
func ssDetails(s *sockdiag.Socket, o SSOptions) string {
	var parts []string
	if o.Processes {
		if u := Users(s.Owners); u != "" {
			parts = append(parts, u)
		}
	}
	if (o.Options || o.Extended) && s.Timer != sockdiag.TimerNone {
		parts = append(parts, fmt.Sprintf("timer:(%s,%s,%d)", timerName(s.Timer), msTimer(s.Expires), s.Retrans))
	}
	if o.Extended {
		if s.UID != 0 {
			parts = append(parts, fmt.Sprintf("uid:%d", s.UID))
		}
		parts = append(parts, fmt.Sprintf("ino:%d", s.Inode), fmt.Sprintf("sk:%x", s.Cookie))
		if s.Mark != 0 {
			parts = append(parts, fmt.Sprintf("fwmark:0x%x", s.Mark))
		}
		if s.CgroupID != 0 {
			cg := strconv.FormatUint(s.CgroupID, 10)
			if o.Cgroup != nil {
				cg = o.Cgroup(s.CgroupID)
			}
			parts = append(parts, "cgroup:"+cg)
		}
		if s.V6Only != nil {
			v := 0
			if *s.V6Only {
				v = 1
			}
			parts = append(parts, fmt.Sprintf("v6only:%d", v))
		}
		if s.HasShutdown {
			l, r := byte('<'), byte('>')
			if s.Shutdown&1 != 0 {
				l = '-'
			}
			if s.Shutdown&2 != 0 {
				r = '-'
			}
			parts = append(parts, string([]byte{l, '-', r}))
		}
	}
	return strings.Join(parts, " ")
}

// timerName names a pending timer as ss -o does.
func timerName(t sockdiag.Timer) string {
	switch t {
	case sockdiag.TimerRetrans:
		return "on"
	case sockdiag.TimerKeepalive:
		return "keepalive"
	case sockdiag.TimerTimeWait:
		return "timewait"
	case sockdiag.TimerProbe:
		return "persist"
	case sockdiag.TimerNone:
		return "off"
	}
	return "unknown"
}

// msTimer formats a timer's expiry as ss's print_ms_timer does:
// "6.828ms", "25sec", "1min27sec", "12min".
func msTimer(d time.Duration) string {
	ms := d.Milliseconds()
	if ms < 0 {
		ms = 0
	}
	secs, msecs := ms/1000, ms%1000
	minutes := secs / 60
	secs %= 60
	s := ""
	if minutes > 0 {
		msecs = 0
		s = fmt.Sprintf("%dmin", minutes)
		if minutes > 9 {
			secs = 0
		}
	}
	if secs > 0 {
		if secs > 9 {
			msecs = 0
		}
		sep := "sec"
		if msecs > 0 {
			sep = "."
		}
		s += fmt.Sprintf("%d%s", secs, sep)
	}
	if msecs > 0 {
		s += fmt.Sprintf("%03dms", msecs)
	}
	return s
}

// ssSecondLine is -m's skmem and -i's tcp_info, as ss 6.1 prints them,
// field for field and in its order; "" when neither is asked or known.
func ssSecondLine(s *sockdiag.Socket, o SSOptions) string {
	var parts []string
	if o.Memory && s.Mem != nil {
		m := s.Mem
		mem := fmt.Sprintf("skmem:(r%d,rb%d,t%d,tb%d,f%d,w%d,o%d", m.RmemAlloc, m.Rcvbuf, m.WmemAlloc, m.Sndbuf, m.FwdAlloc, m.WmemQueued, m.Optmem)
		if m.Fields > 7 {
			mem += fmt.Sprintf(",bl%d", m.Backlog)
		}
		if m.Fields > 8 {
			mem += fmt.Sprintf(",d%d", m.Drops)
		}
		parts = append(parts, mem+")")
	}
	if o.Info && s.Info != nil {
		parts = append(parts, tcpInfoWords(s, o)...)
	}
	return strings.Join(parts, " ")
}

// g formats a number as C's %g does.
func g(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

// ms is a duration in milliseconds, as ss prints RTTs.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// tcpInfoWords is ss -i's description of a socket's tcp_info (tcp_show_info
// and tcp_stats_print in iproute2 6.1's ss.c).
func tcpInfoWords(s *sockdiag.Socket, o SSOptions) []string {
	i := s.Info
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if o.Options || o.Extended {
		for _, opt := range []struct {
			bit  sockdiag.TCPOptions
			name string
		}{{sockdiag.OptTimestamps, "ts"}, {sockdiag.OptSACK, "sack"}, {sockdiag.OptECN, "ecn"}, {sockdiag.OptECNSeen, "ecnseen"}, {sockdiag.OptSYNData, "fastopen"}} {
			if i.Options&opt.bit != 0 {
				add("%s", opt.name)
			}
		}
	}
	if s.Cong != "" {
		add("%s", s.Cong)
	}
	if i.Options&sockdiag.OptWScale != 0 {
		add("wscale:%d,%d", i.SndWScale, i.RcvWScale)
	}
	if i.RTO != 0 && i.RTO != 3*time.Second {
		add("rto:%s", g(ms(i.RTO)))
	}
	if i.Backoff != 0 {
		add("backoff:%d", i.Backoff)
	}
	if i.RTT != 0 {
		add("rtt:%s/%s", g(ms(i.RTT)), g(ms(i.RTTVar)))
	}
	if i.ATO != 0 {
		add("ato:%s", g(ms(i.ATO)))
	}
	for _, f := range []struct {
		name string
		v    uint64
	}{{"mss", uint64(i.SndMSS)}, {"pmtu", uint64(i.PMTU)}, {"rcvmss", uint64(i.RcvMSS)}, {"advmss", uint64(i.AdvMSS)}, {"cwnd", uint64(i.SndCwnd)}} {
		if f.v != 0 {
			add("%s:%d", f.name, f.v)
		}
	}
	if i.SndSsthresh != 0 && i.SndSsthresh < 0xffff {
		add("ssthresh:%d", i.SndSsthresh)
	}
	for _, f := range []struct {
		name string
		v    uint64
	}{{"bytes_sent", i.BytesSent}, {"bytes_retrans", i.BytesRetrans}, {"bytes_acked", i.BytesAcked}, {"bytes_received", i.BytesReceived},
		{"segs_out", uint64(i.SegsOut)}, {"segs_in", uint64(i.SegsIn)}, {"data_segs_out", uint64(i.DataSegsOut)}, {"data_segs_in", uint64(i.DataSegsIn)}} {
		if f.v != 0 {
			add("%s:%d", f.name, f.v)
		}
	}
	rtt := i.RTT
	if cc := s.CC; cc != nil {
		switch cc.Kind {
		case "bbr":
			bbr := fmt.Sprintf("bbr:(bw:%sbps,mrtt:%s", bitRate(float64(cc.BW)*8, o.Numeric), g(ms(cc.MinRTT)))
			if cc.PacingGain != 0 {
				bbr += ",pacing_gain:" + g(float64(cc.PacingGain)/256)
			}
			if cc.CwndGain != 0 {
				bbr += ",cwnd_gain:" + g(float64(cc.CwndGain)/256)
			}
			add("%s)", bbr)
		case "dctcp":
			if cc.Enabled {
				add("dctcp:(ce_state:%d,alpha:%d,ab_ecn:%d,ab_tot:%d)", cc.CEState, cc.Alpha, cc.ABECN, cc.ABTot)
			} else {
				add("dctcp:fallback_mode")
			}
		case "vegas":
			if cc.Enabled && cc.RTT != 0 && cc.RTT != 0x7fffffff*time.Microsecond {
				rtt = cc.RTT
			}
		}
	}
	if rtt > 0 && i.SndMSS != 0 && i.SndCwnd != 0 {
		add("send %sbps", bitRate(float64(i.SndCwnd)*float64(i.SndMSS)*8e6/float64(rtt.Microseconds()), o.Numeric))
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"lastsnd", i.LastDataSent}, {"lastrcv", i.LastDataRecv}, {"lastack", i.LastAckRecv}} {
		if f.v != 0 {
			add("%s:%d", f.name, f.v.Milliseconds())
		}
	}
	if i.PacingRate != 0 && i.PacingRate != ^uint64(0) {
		pr := "pacing_rate " + bitRate(float64(i.PacingRate)*8, o.Numeric) + "bps"
		if i.MaxPacingRate != 0 && i.MaxPacingRate != ^uint64(0) {
			pr += "/" + bitRate(float64(i.MaxPacingRate)*8, o.Numeric) + "bps"
		}
		add("%s", pr)
	}
	if i.DeliveryRate != 0 {
		add("delivery_rate %sbps", bitRate(float64(i.DeliveryRate)*8, o.Numeric))
	}
	if i.Delivered != 0 {
		add("delivered:%d", i.Delivered)
	}
	if i.DeliveredCE != 0 {
		add("delivered_ce:%d", i.DeliveredCE)
	}
	if i.DeliveryRateAppLimited {
		add("app_limited")
	}
	if i.BusyTime != 0 {
		add("busy:%dms", i.BusyTime.Milliseconds())
		if i.RwndLimited != 0 {
			add("rwnd_limited:%dms(%.1f%%)", i.RwndLimited.Milliseconds(), 100*float64(i.RwndLimited)/float64(i.BusyTime))
		}
		if i.SndbufLimited != 0 {
			add("sndbuf_limited:%dms(%.1f%%)", i.SndbufLimited.Milliseconds(), 100*float64(i.SndbufLimited)/float64(i.BusyTime))
		}
	}
	if i.Unacked != 0 {
		add("unacked:%d", i.Unacked)
	}
	if i.Retrans != 0 || i.TotalRetrans != 0 {
		add("retrans:%d/%d", i.Retrans, i.TotalRetrans)
	}
	if i.Lost != 0 {
		add("lost:%d", i.Lost)
	}
	if i.Sacked != 0 && s.State != sockdiag.Listen {
		add("sacked:%d", i.Sacked)
	}
	if i.DSACKDups != 0 {
		add("dsack_dups:%d", i.DSACKDups)
	}
	if i.Fackets != 0 {
		add("fackets:%d", i.Fackets)
	}
	if i.Reordering != 3 {
		add("reordering:%d", i.Reordering)
	}
	if i.ReordSeen != 0 {
		add("reord_seen:%d", i.ReordSeen)
	}
	if i.RcvRTT != 0 {
		add("rcv_rtt:%s", g(ms(i.RcvRTT)))
	}
	if i.RcvSpace != 0 {
		add("rcv_space:%d", i.RcvSpace)
	}
	if i.RcvSsthresh != 0 {
		add("rcv_ssthresh:%d", i.RcvSsthresh)
	}
	if i.NotsentBytes != 0 {
		add("notsent:%d", i.NotsentBytes)
	}
	if i.MinRTT != 0 && i.MinRTT != 0xffffffff*time.Microsecond {
		add("minrtt:%s", g(ms(i.MinRTT)))
	}
	if i.RcvOOOPack != 0 {
		add("rcv_ooopack:%d", i.RcvOOOPack)
	}
	if i.SndWnd != 0 {
		add("snd_wnd:%d", i.SndWnd)
	}
	if s.ULP != "" {
		// ss goes on with the protocol's own state (TLS versions and
		// ciphers, MPTCP's subflow), which tcplens does not decode.
		add("tcp-ulp-%s", s.ULP)
	}
	return p
}

// bitRate formats bits per second as ss's sprint_bw does: as a number
// with -n, else with a unit and three significant digits.
func bitRate(bps float64, numeric bool) string {
	if numeric {
		return strconv.FormatFloat(bps, 'f', 0, 64)
	}
	for _, u := range []struct {
		scale float64
		unit  string
	}{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if bps >= u.scale {
			return strconv.FormatFloat(bps/u.scale, 'g', 3, 64) + u.unit
		}
	}
	return g(bps)
}

// ssSummary writes ss -s's summary of the namespace's sockets (from
// /proc/net/sockstat, sockstat6 and the Tcp.CurrEstab counter), as
// iproute2 6.1 prints it.
func ssSummary(b *strings.Builder, rep *sockwatch.Report) {
	st := rep.Sockstat
	if st == nil {
		b.WriteString("(no /proc/net/sockstat: no summary)\n\n")
		return
	}
	fmt.Fprintf(b, "Total: %d\n", st.Sockets)
	fmt.Fprintf(b, "TCP:   %d (estab %d, closed %d, orphaned %d, timewait %d)\n", st.TCPAlloc+st.TCPTimeWait, rep.Counters["Tcp.CurrEstab"],
		st.TCPAlloc-(st.TCP+st.TCP6-st.TCPTimeWait), st.TCPOrphan, st.TCPTimeWait)
	b.WriteString("\nTransport Total     IP        IPv6\n")
	for _, l := range []struct {
		name   string
		v4, v6 int
	}{{"RAW", st.RAW, st.RAW6}, {"UDP", st.UDP, st.UDP6}, {"TCP", st.TCP, st.TCP6},
		{"INET", st.RAW + st.UDP + st.TCP, st.RAW6 + st.UDP6 + st.TCP6}, {"FRAG", st.FRAG, st.FRAG6}} {
		fmt.Fprintf(b, "%s\t  %-9d %-9d %-9d\n", l.name, l.v4+l.v6, l.v4, l.v6)
	}
	b.WriteByte('\n')
}

// ssAssessment writes what tcplens adds to ss: counts per state, the
// TIME_WAIT pool, the listeners, the flags and the counters.
func ssAssessment(b *strings.Builder, rep *sockwatch.Report) {
	var counts []string
	for _, st := range sockwatch.StateOrder() {
		if n := rep.Counts[st]; n > 0 {
			counts = append(counts, fmt.Sprintf("%s %d", st, n))
		}
	}
	// Not "Total:", which ss -s's summary above begins with.
	fmt.Fprintf(b, "TCP sockets: %d", len(rep.Sockets))
	if len(counts) > 0 {
		fmt.Fprintf(b, ": %s", strings.Join(counts, ", "))
	}
	b.WriteByte('\n')
	if rep.Source == "proc" {
		b.WriteString("(read from /proc/net/tcp: no tcp_info, no listen backlogs)\n")
	}
	if n := rep.Counts[sockdiag.TimeWait]; n > 0 {
		fmt.Fprintf(b, "TIME_WAIT: %d", n)
		if ports := rep.Sysctl.Ports(); ports > 0 {
			if rep.TimeWait > 0 {
				fmt.Fprintf(b, "; toward %v, %d of the %d ephemeral ports (%d-%d)", rep.TimeWaitPeer, rep.TimeWait, ports, rep.Sysctl.PortLow, rep.Sysctl.PortHigh)
			} else {
				fmt.Fprintf(b, "; none holds an ephemeral port (%d-%d): this host closed those connections as a server", rep.Sysctl.PortLow, rep.Sysctl.PortHigh)
			}
		}
		b.WriteByte('\n')
	}

	if len(rep.Listeners) > 0 {
		b.WriteString("\nListeners:\n")
		rows := [][]string{{"  Local Address:Port", "Accept queue", "SYN_RECV", "Process"}}
		for _, l := range rep.Listeners {
			q := strconv.Itoa(l.Queue)
			if l.Backlog > 0 {
				q = fmt.Sprintf("%d/%d (%.0f%%)", l.Queue, l.Backlog, 100*l.Fill())
			}
			rows = append(rows, []string{"  " + SSAddr(l.Socket.Local), q, strconv.Itoa(l.SynRecv), Users(l.Socket.Owners)})
		}
		writeColumns(b, rows, map[int]bool{2: true})
	}

	b.WriteByte('\n')
	if len(rep.Flags) == 0 {
		b.WriteString("Flags: none\n")
	} else {
		b.WriteString("Flags:\n")
		for _, f := range rep.Flags {
			fmt.Fprintf(b, "  %-8s %s: %s\n", strings.ToUpper(f.Severity.String()), f.Kind, f.Title)
			for _, line := range wrapWords(f.Text, 88) {
				fmt.Fprintf(b, "           %s\n", line)
			}
		}
	}

	if len(rep.Deltas) > 0 {
		if rep.Interval > 0 {
			fmt.Fprintf(b, "\nKernel counters over %v (totals in parentheses):\n", rep.Interval.Round(time.Millisecond))
		} else {
			b.WriteString("\nKernel counters (totals since boot, or since the namespace was made):\n")
		}
		var rows [][]string
		for _, d := range rep.Deltas {
			if rep.Interval > 0 {
				rows = append(rows, []string{"  " + d.Name, fmt.Sprintf("%+d", d.Delta), "(" + strconv.FormatInt(d.Total, 10) + ")"})
			} else {
				rows = append(rows, []string{"  " + d.Name, strconv.FormatInt(d.Total, 10)})
			}
		}
		writeColumns(b, rows, map[int]bool{1: true, 2: true})
	}
}

// columns lays rows out in columns two spaces apart; right names the
// right-aligned columns. Trailing blanks are trimmed.
func columns(rows [][]string, right map[int]bool) []string {
	var width []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], len(c))
		}
	}
	out := make([]string, len(rows))
	for j, r := range rows {
		var b strings.Builder
		for i, c := range r {
			if i > 0 {
				b.WriteString("  ")
			}
			pad := strings.Repeat(" ", width[i]-len(c))
			if right[i] {
				b.WriteString(pad + c)
			} else {
				b.WriteString(c + pad)
			}
		}
		out[j] = strings.TrimRight(b.String(), " ")
	}
	return out
}

func writeColumns(b *strings.Builder, rows [][]string, right map[int]bool) {
	for _, l := range columns(rows, right) {
		b.WriteString(l)
		b.WriteByte('\n')
	}
}

// wrapWords breaks s into lines of at most width columns.
func wrapWords(s string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// SSEventText writes one line of ss --watch: a transition, a counter that
// moved, or a flag raised, after the local time of day.
func SSEventText(w io.Writer, ev *sockwatch.Event) error {
	at := ev.Time.Local().Format("15:04:05.000000")
	var line string
	switch {
	case ev.Transition != nil:
		t := ev.Transition
		line = at + "  " + TransitionText(t)
		if t.Kind != sockwatch.Gone {
			if u := Users(t.Socket.Owners); u != "" {
				line += "  " + u
			}
		}
	case ev.Counter != nil:
		d := ev.Counter
		line = fmt.Sprintf("%s  counter %s %+d (total %d)", at, d.Name, d.Delta, d.Total)
	case ev.Flag != nil:
		f := ev.Flag
		line = fmt.Sprintf("%s  FLAG %s %s: %s", at, strings.ToUpper(f.Severity.String()), f.Kind, f.Title)
	}
	_, err := io.WriteString(w, line+"\n")
	return err
}

// TransitionText is what a --watch line says after its clock: the local
// and peer addresses, and the state left and entered.
func TransitionText(t *sockwatch.Transition) string {
	from, to := t.From.String(), t.To.String()
	switch t.Kind {
	case sockwatch.Seen:
		from = "(present)"
	case sockwatch.New:
		from = "(new)"
	case sockwatch.Gone:
		to = "(gone)"
	}
	return fmt.Sprintf("%-22s %-22s %s -> %s", SSAddr(t.Key.Local), SSAddr(t.Key.Peer), from, to)
}
