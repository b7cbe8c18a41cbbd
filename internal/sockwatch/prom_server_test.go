package sockwatch

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tcplens/tcplens/internal/sockdiag"
)

// startMetrics serves a Metrics over a fixed snapshot on loopback and
// returns its address. The snapshot holds enough listeners for an
// exposition of tens of kilobytes: more than the server buffers, so
// writing it reaches the client's socket before the handler returns.
func startMetrics(t *testing.T, to Timeouts) string {
	t.Helper()
	socks := []sockdiag.Socket{sock(`ESTABLISHED 127.0.0.1:9999 127.0.0.1:40000`)}
	for port := 10000; port < 10300; port++ {
		socks = append(socks, owned(listener(fmt.Sprintf("127.0.0.1:%d", port), 1, 128), 42, "srv"))
	}
	m := &Metrics{Rules: DefaultRules, Take: func() (*sockdiag.Snapshot, error) {
		return &sockdiag.Snapshot{Time: t0, Sockets: socks, Sysctl: sysctl}, nil
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := m.Server(to)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// scrape fetches /metrics on a connection of its own. The client's
// timeout is a bound for a test that would otherwise hang, far above what
// a scrape takes.
func scrape(t *testing.T, addr string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `tcplens_tcp_sockets{state="LISTEN"} 300`) {
		t.Fatalf("scrape: status %d, err %v, body:\n%s", resp.StatusCode, err, body)
	}
}

// misbehave opens connections that each do one of the things a careless
// or hostile client does, and keeps them open until the test ends.
func misbehave(t *testing.T, addr string) map[string]net.Conn {
	t.Helper()
	conns := map[string]net.Conn{}
	dial := func(name, first string) net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := io.WriteString(c, first); err != nil {
			t.Fatal(err)
		}
		conns[name] = c
		return c
	}
	// The body it announces never comes.
	dial("stalled body", "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n")
	// Headers that never end.
	dial("stalled headers", "GET /metrics HTTP/1.1\r\nHost: x\r\n")
	// A body sent a byte at a time.
	tr := dial("trickled body", "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
	go func() {
		for {
			time.Sleep(20 * time.Millisecond)
			if _, err := tr.Write([]byte{'x'}); err != nil {
				return
			}
		}
	}()
	// One scrape, answered, then nothing on a kept-alive connection.
	idle := dial("idle keep-alive", "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
	idle.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(idle), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("idle keep-alive: first scrape: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	idle.SetReadDeadline(time.Time{})
	// Asks and never reads the answer.
	dial("unread response", strings.Repeat("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 64))
	return conns
}

// TestMetricsOneClientCannotBlockOthers: with every misbehaving client
// connected, and timeouts far longer than the test, other scrapes are
// answered. (Before, a handler holding the lock while writing waited for
// the body a client announced, and every scrape after it waited for that
// lock.)
func TestMetricsOneClientCannotBlockOthers(t *testing.T) {
	addr := startMetrics(t, Timeouts{ReadHeader: time.Hour, Read: time.Hour, Write: time.Hour, Idle: time.Hour})
	misbehave(t, addr)
	for range 3 {
		scrape(t, addr)
	}
}

// TestMetricsTimeouts: the server closes each misbehaving client's
// connection once its timeout passes, so none holds a connection (and its
// goroutine and buffers) for longer.
func TestMetricsTimeouts(t *testing.T) {
	addr := startMetrics(t, Timeouts{ReadHeader: 200 * time.Millisecond, Read: 300 * time.Millisecond, Write: 300 * time.Millisecond, Idle: 300 * time.Millisecond})
	for name, c := range misbehave(t, addr) {
		t.Run(name, func(t *testing.T) {
			// Far beyond every timeout: a read that reaches this deadline
			// means the server kept the connection.
			c.SetReadDeadline(time.Now().Add(20 * time.Second))
			_, err := io.Copy(io.Discard, c)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the server kept the connection open: %v", err)
			}
		})
	}
	scrape(t, addr)
}

// TestMetricsRequestWithBody: a request that announces a body gets its
// answer at once, without the server reading the body, and the connection
// is closed after it.
func TestMetricsRequestWithBody(t *testing.T) {
	addr := startMetrics(t, Timeouts{ReadHeader: time.Hour, Read: time.Hour, Write: time.Hour, Idle: time.Hour})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !resp.Close {
		t.Errorf("status %d, close %v; want 200 and the connection closed", resp.StatusCode, resp.Close)
	}
}

func TestBeyondLoopback(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:9937", false},
		{"127.1.2.3:9937", false},
		{"[::1]:9937", false},
		{"[::ffff:127.0.0.1]:9937", false},
		{"0.0.0.0:9937", true},
		{"[::]:9937", true},
		{":9937", true},
		{"10.0.0.1:9937", true},
		{"[2001:db8::1]:9937", true},
	} {
		a, err := net.ResolveTCPAddr("tcp", tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := BeyondLoopback(a); got != tc.want {
			t.Errorf("BeyondLoopback(%s) = %v, want %v", tc.addr, got, tc.want)
		}
	}
}
