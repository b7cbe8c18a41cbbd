package render

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tcplens/tcplens/internal/lab"
)

// LabText writes what tcplens lab prints: how the exercise ran, then each
// close order's timeline (what the applications did, every segment on the
// wire, every transition a poll saw, what the lab held), the states each
// side went through as the polls saw them and as the capture shows them,
// and what the polls missed; then the notes.
func LabText(w io.Writer, r *lab.Result) error {
	var b strings.Builder
	port := r.Server.Port()
	b.WriteString("tcplens lab: the hello exercise, end to end on loopback\n")
	if !r.Root {
		b.WriteString("  NOT ROOT: no capture (AF_PACKET needs CAP_NET_RAW) and nothing held; only what ss sees is shown.\n")
		b.WriteString("  Run sudo tcplens lab for the segments beside the states.\n")
	}
	where := "on the host's lo"
	if r.OwnNS {
		where = "in a network namespace of its own"
	}
	fmt.Fprintf(&b, "  server   %s, %s: reads to end of file, writes back what it read uppercased, closes\n", r.Server, where)
	if r.Captured {
		fmt.Fprintf(&b, "  capture  lo, filter \"tcp port %d\"; each segment as tcplens read -a prints it, frame number first\n", port)
	} else {
		b.WriteString("  capture  none\n")
	}
	fmt.Fprintf(&b, "  ss       the sockets every %v, as tcplens ss --watch %v 'sport = :%d or dport = :%d' prints them\n", r.Interval, r.Interval, port, port)
	if r.Holds {
		b.WriteString("  holds    each FIN is dropped once before it reaches lo, so its sender's new state lasts until\n")
		b.WriteString("           the kernel sends it again (~200 ms), long enough for ss to see; otherwise microseconds\n")
	} else {
		b.WriteString("  holds    none: FIN_WAIT1 lasts until the peer's delayed ACK (up to 40 ms) and LAST_ACK a few\n")
		b.WriteString("           microseconds, so ss may miss the one and will miss the other\n")
	}
	for i, run := range r.Runs {
		if !run.Started {
			break
		}
		fmt.Fprintf(&b, "\n== %s ==\n", run.Title())
		if run.ClientFirst {
			b.WriteString(`The client sends "hello\n" and shuts down its side (echo hello | nc); the server reads to` + "\n")
			b.WriteString(`end of file, answers "HELLO\n" and closes: it goes CLOSE_WAIT -> LAST_ACK, the client TIME_WAIT.` + "\n")
		} else {
			b.WriteString(`The client sends "hello\n"; the server answers "HELLO\n" and closes at once: it goes` + "\n")
			b.WriteString(`FIN_WAIT1 -> FIN_WAIT2 -> TIME_WAIT, the client CLOSE_WAIT -> LAST_ACK.` + "\n")
		}
		labTimeline(&b, r.RunEvents(i))
		labSides(&b, r, run)
	}
	if len(r.Notes) > 0 {
		b.WriteString("\nNotes:\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "  %s\n", n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func labTimeline(b *strings.Builder, evs []lab.Event) {
	if len(evs) == 0 {
		return
	}
	t0 := evs[0].At
	fmt.Fprintf(b, "\n%10s  %-12s  %s\n", "ms", "source", "what happened")
	for _, ev := range evs {
		ms := float64(ev.At.Sub(t0).Microseconds()) / 1000
		var src, text string
		switch ev.Source {
		case lab.FromApp:
			src, text = "app "+ev.Who, ev.Text
		case lab.FromWire:
			src, text = "wire #"+strconv.Itoa(ev.Frame), ev.Text
		case lab.FromSS:
			src, text = "ss  "+ev.Who, TransitionText(ev.Transition)
		case lab.FromLab:
			src, text = "lab", ev.Text
		}
		fmt.Fprintf(b, "%10.3f  %-12s  %s\n", ms, src, text)
	}
}

// labSides says what each side went through: the states ss saw, the
// states the capture shows, and which of those ss missed and why.
func labSides(b *strings.Builder, r *lab.Result, run *lab.Run) {
	sum := r.Summary(run)
	b.WriteByte('\n')
	label := "ss saw"
	for _, who := range []string{"server", "client"} {
		var seen []string
		for _, st := range r.Saw[r.Key(who, run)] {
			seen = append(seen, lab.StateName(st))
		}
		fmt.Fprintf(b, "  %-18s %-6s  %s\n", label, who, strings.Join(seen, " -> "))
		label = ""
	}
	if sum != nil {
		label = "the capture shows"
		for _, who := range []string{"server", "client"} {
			fmt.Fprintf(b, "  %-18s %-6s  %s\n", label, who, strings.Join(lab.HistoryStates(lab.Side(sum, who).History), " -> "))
			label = ""
		}
	}
	if !run.Done {
		return // what ss missed is not known: the steps did not all run
	}
	var missed []string
	for _, m := range r.Missed(run) {
		if sum == nil {
			missed = append(missed, fmt.Sprintf("the %s's %s", m.Who, lab.StateName(m.Kernel)))
		} else {
			missed = append(missed, fmt.Sprintf("the %s's %s (%s on the wire)", m.Who, m.Inferred, AppendDuration(nil, m.Lasted)))
		}
	}
	if len(missed) > 0 {
		fmt.Fprintf(b, "  ss missed %s: shorter than its %v poll\n", strings.Join(missed, ", "), r.Interval)
	}
}
