package render

import (
	"bufio"
	"fmt"

	"github.com/tcplens/tcplens/internal/dissect"
)

// dissectConnJSON is the "connection" object of dissect --json, present
// when the frame belongs to an analysed connection.
type dissectConnJSON struct {
	ID       int              `json:"id"`
	Dir      string           `json:"dir"` // c2s or s2c
	Sender   dissectPartyJSON `json:"sender"`
	Receiver dissectPartyJSON `json:"receiver"`
	Seq      uint32           `json:"seq"`            // relative
	Ack      *uint32          `json:"ack"`            // relative; null without the ACK flag
	SACK     [][2]uint32      `json:"sack,omitempty"` // relative as Ack is
	SeqBase  uint32           `json:"seq_base"`
	AckBase  uint32           `json:"ack_base"`
	SeqISN   bool             `json:"seq_base_is_isn"`
	AckISN   bool             `json:"ack_base_is_isn"`
	Receives string           `json:"receives"`
	Sends    string           `json:"sends"`
	Analysis []string         `json:"analysis"`
}

type dissectPartyJSON struct {
	Role    string       `json:"role"` // client or server
	Addr    string       `json:"addr"`
	Before  string       `json:"before"`
	After   string       `json:"after"`
	Changes []ChangeJSON `json:"changes"`
}

func dissectConnToJSON(c *dissect.Connection) *dissectConnJSON {
	if c == nil {
		return nil
	}
	j := &dissectConnJSON{ID: c.ID, Dir: c.Dir.String(), Sender: dissectParty(&c.Sender), Receiver: dissectParty(&c.Receiver),
		Seq: c.RelSeq, SeqBase: c.SeqBase, AckBase: c.AckBase, SeqISN: c.SeqISN, AckISN: c.AckISN,
		Receives: c.Receives, Sends: c.Sends, Analysis: []string{}}
	if c.HasAck {
		a := c.RelAck
		j.Ack = &a
	}
	for _, r := range c.SACK {
		j.SACK = append(j.SACK, [2]uint32{uint32(r.Start), uint32(r.End)})
	}
	for _, k := range c.Analysis {
		j.Analysis = append(j.Analysis, k.String())
	}
	return j
}

func dissectParty(p *dissect.Party) dissectPartyJSON {
	j := dissectPartyJSON{Role: p.Role, Addr: p.Addr.String(), Before: p.Before.String(), After: p.After.String(), Changes: []ChangeJSON{}}
	for _, t := range p.Changes {
		j.Changes = append(j.Changes, ChangeJSON{End: p.Role, From: t.From.String(), To: t.State.String(), Reason: t.Reason.String(), Correction: t.Correction})
	}
	return j
}

// writeDissectConn writes the frame's place in its connection: both
// endpoints before and after, what the receiver does with it, what sending
// it did to the sender, and the relative numbers.
func writeDissectConn(w *bufio.Writer, c *dissect.Connection) {
	if c == nil {
		return
	}
	s, r := &c.Sender, &c.Receiver
	fmt.Fprintf(w, "\nConnection %d: from the %s %s to the %s %s (tcplens explain -c %d tells its story)\n", c.ID, s.Role, s.Addr, r.Role, r.Addr, c.ID)
	fmt.Fprintf(w, "  before       %s %s, %s %s\n", s.Role, s.Before, r.Role, r.Before)
	fmt.Fprintf(w, "  after        %s %s, %s %s\n", s.Role, s.After, r.Role, r.After)
	rel := fmt.Sprintf("seq %d", c.RelSeq)
	if c.HasAck {
		rel += fmt.Sprintf(", ack %d", c.RelAck)
	}
	for i, r := range c.SACK {
		if i == 0 {
			rel += ", sack"
		}
		rel += fmt.Sprintf(" %d:%d", uint32(r.Start), uint32(r.End))
	}
	fmt.Fprintf(w, "  relative     %s\n", rel)
	fmt.Fprintf(w, "%s\n", wrapText("the receiver: "+c.Receives, "  ", textWidth))
	fmt.Fprintf(w, "%s\n", wrapText("the sender: "+c.Sends, "  ", textWidth))
	if len(c.Analysis) > 0 {
		names := make([]string, len(c.Analysis))
		for i, k := range c.Analysis {
			names[i] = k.String()
		}
		fmt.Fprintf(w, "  analysis     %v\n", names)
	}
}
