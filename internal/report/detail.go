package report

import (
	"fmt"
	"html/template"
	"strings"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/diagnose"
	"github.com/tcplens/tcplens/internal/graph"
	"github.com/tcplens/tcplens/internal/render"
)

// detail is one connection in pictures.
type detail struct {
	ID             int
	Open           bool
	Worst          string // its worst finding's severity, "" for none
	Client, Server string
	Summary        string
	Facts          []fact
	Findings       []findingView
	Graphs         []template.HTML
	Ladder         template.HTML
}

type findingView struct {
	Severity, ID, Title, Explanation, Advice string
	Frames                                   []int
}

// newDetail draws connection g, whose summary is c (nil if the diagnosis
// does not know it) and whose findings are fs.
func newDetail(g *graph.Conn, c *diagnose.Conn, fs []diagnose.Finding) (detail, error) {
	d := detail{ID: g.ID, Client: g.Client.String(), Server: g.Server.String()}
	if w, ok := diagnose.Worst(fs); ok {
		d.Worst = w.String()
	}
	if c != nil {
		d.Summary = fmt.Sprintf("%s, %d/%d packets, %s", duration(c.Duration()), c.Client.Packets, c.Server.Packets, closeWords(&c.Summary))
		d.Facts = connFacts(&c.Summary)
	}
	for _, f := range fs {
		d.Findings = append(d.Findings, findingView{f.Severity.String(), f.ID, f.Title, f.Explanation, f.Advice, firstFrames(f.Frames)})
	}
	dir := g.MainDir()
	var b strings.Builder
	for _, k := range []graph.Kind{graph.KindTSG, graph.KindWindow, graph.KindRTT} {
		b.Reset()
		if err := graph.Draw(&b, k, g, dir, fs, graph.Options{}); err != nil {
			return d, err
		}
		// The pictures escape everything they take from the capture
		// (package graph), so they go into the page as they are.
		d.Graphs = append(d.Graphs, template.HTML(b.String()))
	}
	b.Reset()
	if err := graph.Ladder(&b, g, fs, graph.Options{}); err != nil {
		return d, err
	}
	d.Ladder = template.HTML(b.String())
	return d, nil
}

// connFacts are what the connection was, in a few lines.
func connFacts(s *analyze.Summary) []fact {
	fs := []fact{
		{"frames", fmt.Sprintf("%d to %d, %s", s.FirstFrame, s.LastFrame, duration(s.Duration()))},
		{"client → server", fmt.Sprintf("%d packets, %s of data, %d retransmitted", s.Client.Packets, render.ByteCount(s.Client.PayloadBytes), s.Client.Retrans.Total)},
		{"server → client", fmt.Sprintf("%d packets, %s of data, %d retransmitted", s.Server.Packets, render.ByteCount(s.Server.PayloadBytes), s.Server.Retrans.Total)},
	}
	if s.HandshakeRTT > 0 {
		fs = append(fs, fact{"handshake", duration(s.HandshakeRTT)})
	}
	if o := render.NegotiatedWords(s); o != "" {
		fs = append(fs, fact{"negotiated", o})
	}
	fs = append(fs,
		fact{"close", closeWords(s)},
		fact{"states at the end", fmt.Sprintf("client %s, server %s", s.Client.State, s.Server.State)},
		fact{"zeek", s.ZeekState + " " + s.ZeekHistory},
	)
	if s.VantageReason != "" {
		fs = append(fs, fact{"captured", s.Vantage.String() + ": " + s.VantageReason})
	}
	return fs
}
