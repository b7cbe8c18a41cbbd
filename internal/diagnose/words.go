package diagnose

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/conn"
)

// dur prints a duration with three significant digits in the unit that
// reads best, as every tcplens output does: "412 ms", "1.02 s", "85.0 µs".
func dur(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	units := []struct {
		size time.Duration
		name string
	}{{time.Second, "s"}, {time.Millisecond, "ms"}, {time.Microsecond, "µs"}}
	for _, u := range units {
		if d >= u.size {
			v := float64(d) / float64(u.size)
			prec := 0
			if v < 10 {
				prec = 2
			} else if v < 100 {
				prec = 1
			}
			return sign + strconv.FormatFloat(v, 'f', prec, 64) + " " + u.name
		}
	}
	return sign + strconv.FormatInt(int64(d), 10) + " ns"
}

// times prints a ratio such as "41×".
func times(a, b time.Duration) string {
	if b <= 0 {
		return "?×"
	}
	r := float64(a) / float64(b)
	if r >= 10 {
		return strconv.FormatFloat(r, 'f', 0, 64) + "×"
	}
	return strconv.FormatFloat(r, 'f', 1, 64) + "×"
}

// count prints "1 frame", "3 frames".
func count(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	if strings.HasSuffix(unit, "s") || strings.HasSuffix(unit, "sh") || strings.HasSuffix(unit, "x") {
		return strconv.Itoa(n) + " " + unit + "es"
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// timesWord prints "once", "twice", "3 times".
func timesWord(n int) string {
	switch n {
	case 1:
		return "once"
	case 2:
		return "twice"
	}
	return strconv.Itoa(n) + " times"
}

// frameList names frames: "frame 4", "frames 4 and 9", "frames 4, 9 and 12",
// with "…" when the evidence kept fewer than there were.
func frameList(fs []int, total int) string {
	if len(fs) == 0 {
		return "no frame"
	}
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = strconv.Itoa(f)
	}
	if total > len(fs) {
		return "frames " + strings.Join(parts, ", ") + fmt.Sprintf(" and %d more", total-len(fs))
	}
	if len(parts) == 1 {
		return "frame " + parts[0]
	}
	return "frames " + strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// bytesWord prints a byte count: "1448 bytes", "64.0 KiB".
func bytesWord(n uint64) string {
	switch {
	case n == 1:
		return "1 byte"
	case n < 10*1024:
		return strconv.FormatUint(n, 10) + " bytes"
	case n < 10<<20:
		return strconv.FormatFloat(float64(n)/1024, 'f', 1, 64) + " KiB"
	}
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
}

// rate prints a throughput in bits per second.
func rate(bytes float64, d time.Duration) string {
	if d <= 0 {
		return "?"
	}
	bps := bytes * 8 / d.Seconds()
	switch {
	case bps >= 1e9:
		return strconv.FormatFloat(bps/1e9, 'f', 2, 64) + " Gbit/s"
	case bps >= 1e6:
		return strconv.FormatFloat(bps/1e6, 'f', 1, 64) + " Mbit/s"
	case bps >= 1e3:
		return strconv.FormatFloat(bps/1e3, 'f', 0, 64) + " kbit/s"
	}
	return strconv.FormatFloat(bps, 'f', 0, 64) + " bit/s"
}

// Role names the client or the server of a connection.
type role uint8

const (
	client role = iota
	server
)

func (r role) String() string {
	if r == client {
		return "client"
	}
	return "server"
}

func (r role) other() role { return 1 - r }

func (r role) dir() conn.Dir {
	if r == client {
		return conn.ClientToServer
	}
	return conn.ServerToClient
}

// side returns the summary and the facts of one role.
func (c *Conn) side(r role) (*analyze.Side, *SideFacts) {
	if r == client {
		return &c.Client, &c.Facts.Client
	}
	return &c.Server, &c.Facts.Server
}

// who names an end of c: "the client 10.77.0.1:40001".
func (c *Conn) who(r role) string {
	s := c.Client.Addr
	if r == server {
		s = c.Server.Addr
	}
	w := "the " + r.String() + " " + s.String()
	if c.RoleGuessed {
		w += " (a guess from the ports)"
	}
	return w
}

// rtt is the connection's round-trip time as measured: the handshake's,
// else the sum of the two quickest half-loops the capture point saw, else
// the larger smoothed estimate; 0 when nothing was measured.
func (c *Conn) rtt() time.Duration {
	if c.HandshakeRTT > 0 {
		return c.HandshakeRTT
	}
	cl, sv := c.Client.RTT, c.Server.RTT
	if cl.Samples > 0 && sv.Samples > 0 {
		return cl.Min + sv.Min
	}
	return max(cl.SRTT, sv.SRTT)
}

// rttWords says how the RTT was measured, for explanations.
func (c *Conn) rttWords() string {
	d := c.rtt()
	switch {
	case d == 0:
		return "no round-trip time could be measured"
	case c.HandshakeRTT > 0:
		return "RTT " + dur(d) + ", measured on the handshake"
	}
	return "RTT " + dur(d) + ", measured from data and its ACKs"
}
