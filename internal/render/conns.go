package render

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/tcp"
)

// ConnJSON is one line of `conns --json`. The field names are API.
type ConnJSON struct {
	ID              int             `json:"id"`
	Client          string          `json:"client"`
	Server          string          `json:"server"`
	RoleGuessed     bool            `json:"role_guessed"`
	Start           json.Number     `json:"start"`
	End             json.Number     `json:"end"`
	Duration        float64         `json:"duration"`
	FirstFrame      int             `json:"first_frame"`
	LastFrame       int             `json:"last_frame"`
	PacketsC2S      int             `json:"packets_c2s"`
	PacketsS2C      int             `json:"packets_s2c"`
	BytesC2S        uint64          `json:"bytes_c2s"`
	BytesS2C        uint64          `json:"bytes_s2c"`
	HandshakeRTT    *float64        `json:"handshake_rtt"`
	ClientOffered   OfferJSON       `json:"client_offered"`
	ServerOffered   OfferJSON       `json:"server_offered"`
	Negotiated      NegotiatedJSON  `json:"negotiated"`
	Retransmissions RetransPairJSON `json:"retransmissions"`
	DupAcks         PairJSON        `json:"dup_acks"`
	ZeroWindows     PairJSON        `json:"zero_windows"`
	Duplicates      PairJSON        `json:"duplicate_frames"`
	ClosedBy        string          `json:"closed_by"`
	ClosedFirst     string          `json:"closed_first,omitempty"`
	Close           string          `json:"close"`
	ClientState     string          `json:"client_state"`
	ServerState     string          `json:"server_state"`
	States          StatesJSON      `json:"states"`
	RTT             RTTPairJSON     `json:"rtt"`
	ConnState       string          `json:"conn_state"`
	History         string          `json:"history"`
	Vantage         string          `json:"vantage"`
	VantageReason   string          `json:"vantage_reason"`
	ReusedPorts     bool            `json:"reused_ports"`
	Previous        int             `json:"previous_conn,omitempty"`
	EndReason       string          `json:"end_reason"`
}

// OfferJSON is what one side's SYN offered.
type OfferJSON struct {
	SYN         bool `json:"syn_seen"`
	MSS         *int `json:"mss"`
	WindowScale *int `json:"wscale"`
	SACK        bool `json:"sack_permitted"`
	Timestamps  bool `json:"timestamps"`
	ECN         bool `json:"ecn"`
	AccECN      bool `json:"accecn"`
	TFO         bool `json:"tfo"`
	SYNData     int  `json:"syn_data"`
}

// NegotiatedJSON is what the handshake settled.
type NegotiatedJSON struct {
	MSSClient     *int `json:"mss_client_sends"`
	MSSServer     *int `json:"mss_server_sends"`
	WindowScale   bool `json:"window_scaling"`
	ShiftClient   *int `json:"wscale_client"`
	ShiftServer   *int `json:"wscale_server"`
	ShiftInferred bool `json:"wscale_inferred"`
	SACK          bool `json:"sack"`
	Timestamps    bool `json:"timestamps"`
	ECN           bool `json:"ecn"`
	AccECN        bool `json:"accecn"`
	TFO           bool `json:"tfo"`
}

// RetransJSON counts one side's retransmissions by kind.
type RetransJSON struct {
	Total         int `json:"total"`
	Fast          int `json:"fast"`
	RTO           int `json:"rto"`
	TailLossProbe int `json:"tail_loss_probe"`
	Spurious      int `json:"spurious"`
	SYN           int `json:"syn"`
	SYNACK        int `json:"synack"`
	FIN           int `json:"fin"`
}

// RetransPairJSON is both sides' retransmissions.
type RetransPairJSON struct {
	Client RetransJSON `json:"client"`
	Server RetransJSON `json:"server"`
}

// PairJSON is a count per side.
type PairJSON struct {
	Client int `json:"client"`
	Server int `json:"server"`
}

// StateJSON is one transition.
type StateJSON struct {
	State      string      `json:"state"`
	Frame      int         `json:"frame"`
	Time       json.Number `json:"time"`
	Reason     string      `json:"reason"`
	Correction bool        `json:"correction,omitempty"`
}

// StatesJSON is both ends' state histories.
type StatesJSON struct {
	Client []StateJSON `json:"client"`
	Server []StateJSON `json:"server"`
}

// RTTJSON is one sender's RTT estimate.
type RTTJSON struct {
	Samples int      `json:"samples"`
	SRTT    *float64 `json:"srtt"`
	RTTVar  *float64 `json:"rttvar"`
	Min     *float64 `json:"min"`
	RTO     *float64 `json:"rto"`
}

// RTTPairJSON is both senders' RTT estimates.
type RTTPairJSON struct {
	Client RTTJSON `json:"client"`
	Server RTTJSON `json:"server"`
}

// ConnToJSON converts a summary.
func ConnToJSON(s *analyze.Summary) ConnJSON {
	j := ConnJSON{
		ID:            s.ID,
		Client:        s.Client.Addr.String(),
		Server:        s.Server.Addr.String(),
		RoleGuessed:   s.RoleGuessed,
		Start:         json.Number(string(appendEpoch(nil, s.Start))),
		End:           json.Number(string(appendEpoch(nil, s.End))),
		Duration:      s.Duration().Seconds(),
		FirstFrame:    s.FirstFrame,
		LastFrame:     s.LastFrame,
		PacketsC2S:    s.Client.Packets,
		PacketsS2C:    s.Server.Packets,
		BytesC2S:      s.Client.PayloadBytes,
		BytesS2C:      s.Server.PayloadBytes,
		ClientOffered: offer(s.Client.Offered),
		ServerOffered: offer(s.Server.Offered),
		Negotiated: NegotiatedJSON{
			MSSClient:     optInt(int(s.Negotiated.MSSClient), s.Negotiated.MSSClient != 0),
			MSSServer:     optInt(int(s.Negotiated.MSSServer), s.Negotiated.MSSServer != 0),
			WindowScale:   s.Negotiated.WindowScale,
			ShiftClient:   optInt(int(s.Negotiated.ShiftClient), s.Negotiated.ShiftClient >= 0),
			ShiftServer:   optInt(int(s.Negotiated.ShiftServer), s.Negotiated.ShiftServer >= 0),
			ShiftInferred: s.Client.ShiftInferred || s.Server.ShiftInferred,
			SACK:          s.Negotiated.SACK,
			Timestamps:    s.Negotiated.Timestamps,
			ECN:           s.Negotiated.ECN,
			AccECN:        s.Negotiated.AccECN,
			TFO:           s.Negotiated.TFO,
		},
		Retransmissions: RetransPairJSON{Client: retrans(s.Client.Retrans), Server: retrans(s.Server.Retrans)},
		DupAcks:         PairJSON{s.Client.DupAcks, s.Server.DupAcks},
		ZeroWindows:     PairJSON{s.Client.ZeroWindows, s.Server.ZeroWindows},
		Duplicates:      PairJSON{s.Client.Duplicates, s.Server.Duplicates},
		ClosedBy:        s.ClosedBy,
		ClosedFirst:     s.FirstClosed,
		Close:           s.Close,
		ClientState:     s.Client.State.String(),
		ServerState:     s.Server.State.String(),
		States:          StatesJSON{Client: states(s.Client.History), Server: states(s.Server.History)},
		RTT:             RTTPairJSON{Client: rttJSON(s.Client.RTT), Server: rttJSON(s.Server.RTT)},
		ConnState:       s.ZeekState,
		History:         s.ZeekHistory,
		Vantage:         s.Vantage.String(),
		VantageReason:   s.VantageReason,
		ReusedPorts:     s.ReusedPorts,
		Previous:        s.Previous,
		EndReason:       s.EndReason.String(),
	}
	if s.HandshakeRTT > 0 {
		v := s.HandshakeRTT.Seconds()
		j.HandshakeRTT = &v
	}
	return j
}

func optInt(v int, ok bool) *int {
	if !ok {
		return nil
	}
	return &v
}

func optSeconds(d time.Duration, ok bool) *float64 {
	if !ok {
		return nil
	}
	v := d.Seconds()
	return &v
}

func offer(h tcp.Handshake) OfferJSON {
	return OfferJSON{
		SYN:         h.Seen,
		MSS:         optInt(int(h.MSS), h.MSS != 0),
		WindowScale: optInt(int(h.WindowScale), h.WindowScale >= 0),
		SACK:        h.SACK,
		Timestamps:  h.Timestamps,
		ECN:         h.ECN,
		AccECN:      h.AccECN,
		TFO:         h.TFO,
		SYNData:     h.Data,
	}
}

func retrans(r tcp.Retransmissions) RetransJSON {
	return RetransJSON{Total: r.Total, Fast: r.Fast, RTO: r.RTO, TailLossProbe: r.TailLossProbe,
		Spurious: r.Spurious, SYN: r.SYN, SYNACK: r.SYNACK, FIN: r.FIN}
}

func states(h []tcp.Transition) []StateJSON {
	out := make([]StateJSON, 0, len(h))
	for _, t := range h {
		out = append(out, StateJSON{State: t.State.String(), Frame: t.Frame, Time: json.Number(string(appendEpoch(nil, t.Time))),
			Reason: t.Reason.String(), Correction: t.Correction})
	}
	return out
}

func rttJSON(r tcp.RTT) RTTJSON {
	ok := r.Samples > 0
	return RTTJSON{Samples: r.Samples, SRTT: optSeconds(r.SRTT, ok), RTTVar: optSeconds(r.RTTVar, ok),
		Min: optSeconds(r.Min, ok), RTO: optSeconds(r.RTO, ok)}
}

// ConnLineJSON writes one connection as a JSON line.
func ConnLineJSON(w io.Writer, s *analyze.Summary) error {
	b, err := json.Marshal(ConnToJSON(s))
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// ConnTable writes the human table of `conns`.
func ConnTable(w io.Writer, sums []analyze.Summary) error {
	var t ConnRows
	for i := range sums {
		t.Add(&sums[i])
	}
	return t.write(w)
}

// bytesHuman prints a byte count with a binary unit.
func bytesHuman(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f%ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
