package netlab

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// tcpdump is one running capture.
type tcpdump struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done

	mu     sync.Mutex
	stderr []string
}

// startTcpdump starts tcpdump on iface inside namespace ns, writing TCP
// frames to path, and returns once it is listening. ip netns exec execs
// tcpdump in place, so the process we start is tcpdump itself.
func startTcpdump(ns, iface, path string, snaplen int) (*tcpdump, error) {
	if snaplen < 0 {
		snaplen = 0 // tcpdump: 0 means the whole frame
	}
	cmd := exec.Command("ip", "netns", "exec", ns, "tcpdump",
		"-i", iface, "-n", "-p", "-U", "--immediate-mode",
		"-s", strconv.Itoa(snaplen), "-w", path,
		"-Z", "root", // write the file as root: no privilege drop to a user that cannot
		"tcp")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("netlab: tcpdump: %w", err)
	}
	td := &tcpdump{cmd: cmd, done: make(chan struct{})}
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			td.mu.Lock()
			td.stderr = append(td.stderr, line)
			td.mu.Unlock()
			if strings.Contains(line, "listening on") {
				once.Do(func() { close(listening) })
			}
		}
		td.err = cmd.Wait()
		close(td.done)
	}()
	select {
	case <-listening:
		return td, nil
	case <-td.done:
		return nil, fmt.Errorf("netlab: tcpdump exited before listening: %v: %s", td.err, td.output())
	case <-time.After(10 * time.Second):
		td.kill()
		return nil, fmt.Errorf("netlab: tcpdump did not start listening in 10 s: %s", td.output())
	}
}

func (td *tcpdump) output() string {
	td.mu.Lock()
	defer td.mu.Unlock()
	return strings.Join(td.stderr, "; ")
}

func (td *tcpdump) kill() {
	td.cmd.Process.Kill()
	<-td.done
}

var droppedRE = regexp.MustCompile(`(\d+) packets? dropped by kernel`)

// stop interrupts tcpdump (it then writes out what it holds and prints
// its counts) and returns the kernel's count of frames it missed.
func (td *tcpdump) stop() (dropped int, err error) {
	td.cmd.Process.Signal(os.Interrupt)
	select {
	case <-td.done:
	case <-time.After(5 * time.Second):
		td.kill()
		return 0, fmt.Errorf("netlab: tcpdump ignored SIGINT for 5 s; killed")
	}
	out := td.output()
	if m := droppedRE.FindStringSubmatch(out); m != nil {
		dropped, _ = strconv.Atoi(m[1])
	}
	if td.err != nil {
		return dropped, fmt.Errorf("netlab: tcpdump: %v: %s", td.err, out)
	}
	return dropped, nil
}

// capturePoints are the lab's capture points: each endpoint's veth, and
// the router's monitor port, which sees every frame the relay forwards
// half-way along the path's delay.
func (l *lab) capturePoints(delay time.Duration) []CapturePoint {
	half := delay / 2
	return []CapturePoint{
		{Name: PointClient, Netns: l.client.name, Iface: l.clientIf, FromServer: delay},
		{Name: PointRouter, Netns: l.path.name, Iface: l.monitor, FromClient: half, FromServer: delay - half},
		{Name: PointServer, Netns: l.server.name, Iface: l.serverIf, FromClient: delay},
	}
}

// captures is a run's tcpdumps, one per capture point, started and
// stopped together.
type captures struct {
	mu    sync.Mutex
	files []Capture
	tds   []*tcpdump // nil while not running
	snap  int
	ns    []string

	// passed, when set, counts the TCP frames that have passed each
	// capture point (relay.seenAt); base is its count when the captures
	// started, so that catchUp knows what each file must hold.
	passed func() map[string]int64
	base   map[string]int64
}

func newCaptures(points []CapturePoint, dir, name string, snaplen int) *captures {
	c := &captures{snap: snaplen, tds: make([]*tcpdump, len(points))}
	for _, p := range points {
		c.files = append(c.files, Capture{
			Point: p.Name, Path: filepath.Join(dir, name+"."+p.Name+".pcap"), Iface: p.Iface,
			FromClient: p.FromClient, FromServer: p.FromServer,
		})
		c.ns = append(c.ns, p.Netns)
	}
	return c
}

// start starts every capture that is not running, all at once, and
// returns when all of them listen.
func (c *captures) start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	errs := make([]error, len(c.files))
	var wg sync.WaitGroup
	for i := range c.files {
		if c.tds[i] != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.tds[i], errs[i] = startTcpdump(c.ns[i], c.files[i].Iface, c.files[i].Path, c.snap)
		}()
	}
	wg.Wait()
	if c.passed != nil {
		c.base = c.passed()
	}
	return errors.Join(errs...)
}

// catchUp waits, up to limit, until every running tcpdump has written
// the TCP frames that passed its point since it started: one stopped
// earlier loses the frames still in its socket's buffer, which the
// kernel does not count as dropped, and a loaded machine leaves them
// there for a while. It returns what did not catch up, in words.
func (c *captures) catchUp(limit time.Duration) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.passed == nil || c.base == nil {
		return nil
	}
	want := c.passed()
	deadline := time.Now().Add(limit)
	var behind []string
	for i, td := range c.tds {
		if td == nil {
			continue
		}
		p := c.files[i].Point
		n := want[p] - c.base[p]
		for {
			got, _ := countTCP(c.files[i].Path)
			if got >= n {
				break
			}
			if time.Now().After(deadline) {
				behind = append(behind, fmt.Sprintf("capture: the %s's tcpdump had written %d of the %d TCP frames that passed it when it was stopped", p, got, n))
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return behind
}

// stop stops every running capture and records what each missed.
func (c *captures) stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for i, td := range c.tds {
		if td == nil {
			continue
		}
		d, err := td.stop()
		c.tds[i] = nil
		c.files[i].Dropped += d
		if err != nil {
			errs = append(errs, fmt.Errorf("capture at the %s: %w", c.files[i].Point, err))
		}
	}
	return errors.Join(errs...)
}
