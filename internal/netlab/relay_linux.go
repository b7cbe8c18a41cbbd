package netlab

import (
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/seq"
	"github.com/tcplens/tcplens/internal/wire"
)

// relay is the path: it copies every frame from one path-side veth to the
// other after a fixed delay, dropping those its rules match as they come
// in, or holding them back longer (Drop.Hold). Half-way along the delay
// (and the hold) it writes a copy of each frame it forwards to the
// router's mirror port, as a switch's port mirror would: the router's
// capture point. Each direction is one real-time thread running
// an event loop (ppoll on the receiving socket with a timeout at the next
// frame's due time), so that neither the delay nor the order depends on
// the Go scheduler.
type relay struct {
	delay   time.Duration
	c, s, m int // AF_PACKET sockets facing the client, the server and the mirror port

	armed    atomic.Bool
	start    time.Time // set before armed
	stopping atomic.Bool
	done     [2]chan struct{}
	rt       bool // the loops run real-time

	mu      sync.Mutex
	drops   []Drop
	counts  []int // matches so far, per rule
	dropped []Dropped
	held    []Dropped
	isn     map[[2]netip.AddrPort]seq.Num // per direction of each connection, from its SYN
	frames  [3]int                        // relayed, by Dir
	lost    int                           // frames lost by the sockets themselves

	late [2]time.Duration // per direction, the longest a frame was written after its due time; read after done

	// TCP frames per direction: read from the sending side, written to
	// the receiving side, written to the mirror port (what each capture
	// point sees: catchUp).
	tcpIn, tcpOut, tcpMirror [3]atomic.Int64

	inLine   atomic.Int64 // frames read and not yet forwarded
	lastMove atomic.Int64 // Unix nanoseconds of the last frame read or forwarded

	waitMu  sync.Mutex
	waiters []pathWaiter // Side.AwaitPath's

	stopOnce sync.Once
}

// openPacketSock opens an AF_PACKET socket bound to one interface; one
// that only sends receives nothing.
func openPacketSock(ifname string, receive bool) (int, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return -1, err
	}
	// Protocol 0 receives nothing until bind names the interface, so no
	// frame of another interface slips in between.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("netlab: AF_PACKET socket: %w", err)
	}
	fail := func(err error) (int, error) {
		unix.Close(fd)
		return -1, fmt.Errorf("netlab: AF_PACKET socket on %s: %w", ifname, err)
	}
	// Our own transmissions would come back as PACKET_OUTGOING copies.
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1); err != nil {
		return fail(err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20); err != nil {
		return fail(err)
	}
	proto := uint16(0)
	if receive {
		proto = htons(unix.ETH_P_ALL)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: proto, Ifindex: ifi.Index}); err != nil {
		return fail(err)
	}
	return fd, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// socketDrops returns the frames the kernel dropped for want of room in
// the socket's buffer (PACKET_STATISTICS).
func socketDrops(fd int) int {
	st, err := unix.GetsockoptTpacketStats(fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return 0
	}
	return int(st.Drops)
}

// startRelay opens the path's sockets inside its namespace and starts
// copying frames. Rules apply only once arm is called.
func startRelay(l *lab, delay time.Duration, drops []Drop) (*relay, error) {
	r := &relay{delay: delay, drops: drops, counts: make([]int, len(drops)), isn: make(map[[2]netip.AddrPort]seq.Num), c: -1, s: -1, m: -1}
	err := l.path.do(func() error {
		var err error
		if r.c, err = openPacketSock(l.pathC, true); err != nil {
			return err
		}
		if r.s, err = openPacketSock(l.pathS, true); err != nil {
			unix.Close(r.c)
			return err
		}
		if r.m, err = openPacketSock(l.mirror, false); err != nil {
			unix.Close(r.c)
			unix.Close(r.s)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	r.done = [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	rt := make(chan bool, 2)
	go r.loop(r.c, r.s, ClientToServer, r.done[0], rt)
	go r.loop(r.s, r.c, ServerToClient, r.done[1], rt)
	r.rt = <-rt && <-rt
	return r, nil
}

// arm starts the scenario's clock and its drop rules.
func (r *relay) arm() {
	r.start = time.Now()
	r.armed.Store(true)
}

type delayed struct {
	due   time.Time
	frame []byte
	tcp   bool
}

// loop relays one direction: frames read from in are written to out
// delay later, and to the mirror port half of it later, in order (the
// delay is the same for all).
func (r *relay) loop(in, out int, dir Dir, done chan struct{}, rt chan<- bool) {
	defer close(done)
	runtime.LockOSThread() // never unlocked: the real-time thread is retired with the goroutine
	_, ok := realtime()
	rt <- ok
	var line, mirror []delayed
	half := r.delay / 2
	buf := make([]byte, 1<<16)
	fds := []unix.PollFd{{Fd: int32(in), Events: unix.POLLIN}}
	// send writes the frames of q that are due to fd and returns the rest.
	send := func(q []delayed, fd int) []delayed {
		now := time.Now()
		for len(q) > 0 && !q[0].due.After(now) {
			if late := now.Sub(q[0].due); late > r.late[dir-1] {
				r.late[dir-1] = late
			}
			if _, err := unix.Write(fd, q[0].frame); err != nil {
				r.mu.Lock()
				r.lost++
				r.mu.Unlock()
			} else if q[0].tcp && fd == out {
				r.tcpOut[dir].Add(1)
			} else if q[0].tcp {
				r.tcpMirror[dir].Add(1)
			}
			if fd == out {
				r.inLine.Add(-1)
				r.lastMove.Store(now.UnixNano())
			}
			q[0].frame = nil
			q = q[1:]
		}
		return q
	}
	for !r.stopping.Load() {
		wait := 10 * time.Millisecond // how often the stop flag is looked at
		for _, q := range [][]delayed{line, mirror} {
			if len(q) > 0 {
				wait = min(wait, max(time.Until(q[0].due), 0))
			}
		}
		ts := unix.NsecToTimespec(int64(wait))
		n, _ := unix.Ppoll(fds, &ts, nil)
		for n > 0 {
			m, _, err := unix.Recvfrom(in, buf, unix.MSG_DONTWAIT|unix.MSG_TRUNC)
			if err == unix.EAGAIN || err == unix.EINTR {
				break
			}
			now := time.Now()
			if err != nil || m > len(buf) {
				r.mu.Lock()
				r.lost++ // a receive error or a frame over 64 KiB: lost
				r.mu.Unlock()
				break
			}
			frame := append([]byte(nil), buf[:m]...)
			r.lastMove.Store(now.UnixNano())
			dropped, hold, tcp := r.drop(frame, dir, now)
			if tcp {
				r.tcpIn[dir].Add(1)
			}
			if !dropped {
				mirror = enqueue(mirror, delayed{due: now.Add(half + hold), frame: frame, tcp: tcp})
				line = enqueue(line, delayed{due: now.Add(r.delay + hold), frame: frame, tcp: tcp})
				r.inLine.Add(1)
			}
		}
		mirror = send(mirror, r.m)
		line = send(line, out)
	}
}

// enqueue adds a frame to a delay line, which stays in the order the
// frames are due: a held frame goes behind those due before it.
func enqueue(q []delayed, d delayed) []delayed {
	i := len(q)
	for i > 0 && q[i-1].due.After(d.due) {
		i--
	}
	return slices.Insert(q, i, d)
}

// drop decides a frame's fate and records a drop or a hold; tcp says
// whether the frame is a TCP segment.
func (r *relay) drop(frame []byte, dir Dir, now time.Time) (dropped bool, hold time.Duration, tcp bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.frames[dir]++
	var seg wire.Segment
	f := pcap.Frame{Link: pcap.LinkEthernet, Data: frame, Length: len(frame)}
	if wire.Decode(&f, &seg) != nil {
		return false, 0, false
	}
	if !r.armed.Load() {
		return false, 0, true
	}
	key := [2]netip.AddrPort{seg.Src, seg.Dst}
	if seg.Flags.Has(wire.SYN) {
		if _, ok := r.isn[key]; !ok {
			r.isn[key] = seg.Seq
		}
	}
	p := Packet{Dir: dir, At: now.Sub(r.start), Seg: &seg, Offset: -1}
	if isn, ok := r.isn[key]; ok {
		p.Offset = int64(seg.Seq.Sub(isn.Add(1)))
		p.OffsetKnown = true
	}
	defer r.notify(&p)
	hit := -1
	for i, d := range r.drops {
		if d.Dir != dir || d.Match == nil || !d.Match(&p) {
			continue
		}
		r.counts[i]++
		if p.At < d.From || (d.Until > 0 && p.At >= d.Until) {
			continue
		}
		if len(d.Nth) > 0 && !contains(d.Nth, r.counts[i]) {
			continue
		}
		if hit < 0 {
			hit = i
		}
	}
	if hit < 0 {
		return false, 0, true
	}
	off := int64(-1)
	if p.OffsetKnown {
		off = p.Offset
	}
	rule := r.drops[hit]
	d := Dropped{
		Time: now, Dir: dir, Rule: rule.What,
		Flags: seg.Flags, Seq: uint32(seg.Seq), Ack: uint32(seg.Ack), Len: seg.PayloadLen, Offset: off, Held: rule.Hold,
	}
	if rule.Hold > 0 {
		r.held = append(r.held, d)
		return false, rule.Hold, true
	}
	r.dropped = append(r.dropped, d)
	return true, 0, true
}

// seenAt returns, for each capture point, how many TCP frames have passed
// it so far: at the client, those the client sent and those the path
// delivered to it; at the router, those mirrored; at the server, the
// converse of the client.
func (r *relay) seenAt() map[string]int64 {
	c2s, s2c := ClientToServer, ServerToClient
	return map[string]int64{
		PointClient: r.tcpIn[c2s].Load() + r.tcpOut[s2c].Load(),
		PointRouter: r.tcpMirror[c2s].Load() + r.tcpMirror[s2c].Load(),
		PointServer: r.tcpOut[c2s].Load() + r.tcpIn[s2c].Load(),
	}
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// stop ends both loops (frames still in the delay lines are lost, which
// only matters at teardown) and closes the sockets.
func (r *relay) stop() {
	r.stopOnce.Do(func() {
		r.stopping.Store(true)
		<-r.done[0]
		<-r.done[1]
		r.mu.Lock()
		r.lost += socketDrops(r.c) + socketDrops(r.s)
		r.mu.Unlock()
		unix.Close(r.c)
		unix.Close(r.s)
		unix.Close(r.m)
	})
}

// pathWaiter is one AwaitPath: done is closed when the path sees a frame
// that match matches.
type pathWaiter struct {
	match func(p *Packet) bool
	done  chan struct{}
}

// await returns a channel closed when the path next sees a frame that
// match matches (dropped or not).
func (r *relay) await(match func(p *Packet) bool) <-chan struct{} {
	w := pathWaiter{match: match, done: make(chan struct{})}
	r.waitMu.Lock()
	r.waiters = append(r.waiters, w)
	r.waitMu.Unlock()
	return w.done
}

// notify wakes the waiters whose frame p is. It runs with r.mu held.
func (r *relay) notify(p *Packet) {
	r.waitMu.Lock()
	defer r.waitMu.Unlock()
	keep := r.waiters[:0]
	for _, w := range r.waiters {
		if w.match(p) {
			close(w.done)
			continue
		}
		keep = append(keep, w)
	}
	r.waiters = keep
}

// quiesce returns once every frame the path holds has been forwarded and
// none has moved for settle, or after limit: the last transitions a run
// shows come a path's delay (and, on a loaded machine, the relay's
// lateness) after the behaviours return.
func (r *relay) quiesce(settle, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for {
		idle := time.Since(time.Unix(0, r.lastMove.Load()))
		if (r.inLine.Load() == 0 && idle >= settle) || time.Now().After(deadline) {
			return
		}
		time.Sleep(max(min(settle-idle, 10*time.Millisecond), time.Millisecond))
	}
}
