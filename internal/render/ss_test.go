package render

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tcplens/tcplens/internal/sockdiag"
	"github.com/tcplens/tcplens/internal/sockwatch"
)

func TestMsTimer(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{6828 * time.Millisecond, "6.828ms"}, {25 * time.Second, "25sec"}, {87 * time.Second, "1min27sec"},
		{12*time.Minute + 5*time.Second, "12min"}, {340 * time.Millisecond, "340ms"}, {0, ""}, {10500 * time.Millisecond, "10sec"},
	} {
		if got := msTimer(tc.d); got != tc.want {
			t.Errorf("msTimer(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestBitRate(t *testing.T) {
	for _, tc := range []struct {
		bps     float64
		numeric bool
		want    string
	}{
		{131072000000, true, "131072000000"}, {131072000000, false, "131G"}, {30474233640, false, "30.5G"},
		{333562168, false, "334M"}, {999, false, "999"}, {1500, false, "1.5k"}, {2e12, false, "2T"}, {0, false, "0"},
	} {
		if got := bitRate(tc.bps, tc.numeric); got != tc.want {
			t.Errorf("bitRate(%g, %v) = %q, want %q", tc.bps, tc.numeric, got, tc.want)
		}
	}
}

func TestColumns(t *testing.T) {
	got := strings.Join(columns([][]string{{"State", "Recv-Q", "Local"}, {"ESTABLISHED", "0", "127.0.0.1:80"}, {"LISTEN", "128", "[::]:22"}}, map[int]bool{1: true}), "\n")
	want := "State        Recv-Q  Local\n" +
		"ESTABLISHED       0  127.0.0.1:80\n" +
		"LISTEN          128  [::]:22"
	if got != want {
		t.Errorf("columns:\n%s\nwant:\n%s", got, want)
	}
	if got := wrapWords("one two three four", 9); strings.Join(got, "|") != "one two|three|four" {
		t.Errorf("wrapWords: %q", got)
	}
}

// TestSSText: the table ss -tanpeomi prints, its second line, the one-state
// table without a State column, -H alone, and ss -s's summary.
func TestSSText(t *testing.T) {
	ap := netip.MustParseAddrPort
	no := false
	est := sockdiag.Socket{State: sockdiag.Established, Local: ap("10.0.0.1:443"), Peer: ap("10.0.0.2:51000"), RecvQ: 0, SendQ: 1448,
		Timer: sockdiag.TimerRetrans, Expires: 204 * time.Millisecond, UID: 33, Inode: 4242, Cookie: 0x1a2b, CgroupID: 7, HasShutdown: true,
		Cong: "cubic", Owners: []sockdiag.Owner{{PID: 42, Comm: "nginx", FD: 7}},
		Mem: &sockdiag.MemInfo{Rcvbuf: 131072, WmemAlloc: 2896, Sndbuf: 87040, WmemQueued: 2896, Fields: 9},
		Info: &sockdiag.TCPInfo{Options: sockdiag.OptTimestamps | sockdiag.OptSACK | sockdiag.OptWScale, SndWScale: 7, RcvWScale: 7,
			RTO: 204 * time.Millisecond, RTT: 1500 * time.Microsecond, RTTVar: 750 * time.Microsecond, SndMSS: 1448, RcvMSS: 536, AdvMSS: 1448,
			SndCwnd: 10, SndSsthresh: 0x7fffffff, BytesSent: 2896, BytesAcked: 1, SegsOut: 3, SegsIn: 1, DataSegsOut: 2, Unacked: 2,
			Reordering: 3, LastDataSent: 4 * time.Millisecond, PacingRate: 19306666, MaxPacingRate: ^uint64(0), MinRTT: 1500 * time.Microsecond, SndWnd: 64240}}
	v6 := sockdiag.Socket{State: sockdiag.Listen, Local: ap("[::]:22"), Peer: ap("[::]:0"), SendQ: 128, V6Only: &no, HasShutdown: true}
	rep := &sockwatch.Report{Sockets: []sockdiag.Socket{v6, est}, Counts: map[sockdiag.State]int{sockdiag.Listen: 1, sockdiag.Established: 1},
		Counters: sockdiag.Counters{"Tcp.CurrEstab": 1},
		Sockstat: &sockdiag.Sockstat{Sockets: 9, TCP: 1, TCP6: 1, TCPAlloc: 4, TCPTimeWait: 1, TCPOrphan: 0}}
	var b strings.Builder
	o := SSOptions{States: (*sockwatch.Filter)(nil).TableStates(true, false), NoHeader: true, Processes: true, Extended: true, Memory: true, Info: true,
		Numeric: true, Cgroup: func(id uint64) string { return "/system.slice/nginx.service" }}
	if err := SSText(&b, rep, o); err != nil {
		t.Fatal(err)
	}
	want := `LISTEN       0   128  [::]:22       [::]:*          ino:0 sk:0 v6only:0 <->
ESTABLISHED  0  1448  10.0.0.1:443  10.0.0.2:51000  users:(("nginx",pid=42,fd=7)) timer:(on,204ms,0) uid:33 ino:4242 sk:1a2b cgroup:/system.slice/nginx.service <->
	 skmem:(r0,rb131072,t2896,tb87040,f0,w2896,o0,bl0,d0) ts sack cubic wscale:7,7 rto:204 rtt:1.5/0.75 mss:1448 rcvmss:536 advmss:1448 cwnd:10 bytes_sent:2896 bytes_acked:1 segs_out:3 segs_in:1 data_segs_out:2 send 77226667bps lastsnd:4 pacing_rate 154453328bps unacked:2 minrtt:1.5 snd_wnd:64240
`
	if b.String() != want {
		t.Errorf("ss -tanpeomi -H:\n%s\nwant:\n%s", b.String(), want)
	}

	b.Reset()
	o = SSOptions{States: 1 << sockdiag.Established, NoHeader: true}
	SSText(&b, rep, o)
	if want := "0  1448  10.0.0.1:443  10.0.0.2:51000\n"; b.String() != want {
		t.Errorf("one state, no State column:\n%q\nwant %q", b.String(), want)
	}

	b.Reset()
	SSText(&b, rep, SSOptions{Summary: true, NoHeader: true})
	want = "Total: 9\nTCP:   5 (estab 1, closed 3, orphaned 0, timewait 1)\n\nTransport Total     IP        IPv6\n" +
		"RAW\t  0         0         0        \nUDP\t  0         0         0        \nTCP\t  2         1         1        \n" +
		"INET\t  2         1         1        \nFRAG\t  0         0         0        \n\n"
	if b.String() != want {
		t.Errorf("ss -s:\n%q\nwant\n%q", b.String(), want)
	}
}
