package event

import (
	"strings"
	"testing"
)

// apiNames are the names JSON output and golden files carry. They are API:
// this table changes only by adding a kind at the end, never by renaming.
var apiNames = []struct {
	kind Kind
	name string
}{
	{Retransmission, "retransmission"},
	{FastRetransmission, "fast_retransmission"},
	{SpuriousRetransmission, "spurious_retransmission"},
	{OutOfOrder, "out_of_order"},
	{LostSegment, "lost_segment"},
	{AckLostSegment, "ack_lost_segment"},
	{DuplicateAck, "duplicate_ack"},
	{ZeroWindow, "zero_window"},
	{ZeroWindowProbe, "zero_window_probe"},
	{ZeroWindowProbeAck, "zero_window_probe_ack"},
	{WindowUpdate, "window_update"},
	{WindowFull, "window_full"},
	{KeepAlive, "keep_alive"},
	{KeepAliveAck, "keep_alive_ack"},
	{ReusedPorts, "reused_ports"},
	{RTORetransmission, "rto_retransmission"},
	{TailLossProbe, "tail_loss_probe"},
	{SYNRetransmission, "syn_retransmission"},
	{SYNACKRetransmission, "synack_retransmission"},
	{FINRetransmission, "fin_retransmission"},
	{DSACK, "dsack"},
	{PAWSReject, "paws_reject"},
	{BadChecksum, "bad_checksum"},
	{ChallengeACK, "challenge_ack"},
	{OutOfWindow, "out_of_window"},
	{WindowScaleInferred, "window_scale_inferred"},
	{Malformed, "malformed"},
	{DuplicateFrame, "duplicate_frame"},
}

func TestNames(t *testing.T) {
	if got, want := int(numKinds)-1, len(apiNames); got != want {
		t.Fatalf("%d kinds, the API table lists %d: add the new kind to apiNames", got, want)
	}
	seen := map[string]Kind{}
	for _, tc := range apiNames {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.kind.String(); got != tc.name {
				t.Errorf("Kind(%d).String() = %q, want %q", tc.kind, got, tc.name)
			}
			if k, ok := Parse(tc.name); !ok || k != tc.kind {
				t.Errorf("Parse(%q) = %v, %v, want %v, true", tc.name, k, ok, tc.kind)
			}
			if prev, dup := seen[tc.name]; dup {
				t.Errorf("%q names both %d and %d", tc.name, prev, tc.kind)
			}
			seen[tc.name] = tc.kind
			// snake_case: what jq filters and golden files can rely on.
			if strings.Trim(tc.name, "abcdefghijklmnopqrstuvwxyz_") != "" {
				t.Errorf("%q is not snake_case", tc.name)
			}
			ex := tc.kind.Explain()
			if ex == "" || strings.HasSuffix(ex, ".") || strings.Contains(ex, "\n") {
				t.Errorf("Explain(%s) = %q: want one line, no final period", tc.name, ex)
			}
		})
	}
}

func TestInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind Kind
	}{
		{"zero", Invalid},
		{"past the last", numKinds},
		{"max", Kind(255)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.kind.String(); got != "invalid" {
				t.Errorf("Kind(%d).String() = %q, want invalid", tc.kind, got)
			}
			if got := tc.kind.Explain(); got != "" {
				t.Errorf("Kind(%d).Explain() = %q, want empty", tc.kind, got)
			}
		})
	}
	for _, name := range []string{"", "invalid", "Retransmission", "dup_ack", "retransmission "} {
		if k, ok := Parse(name); ok || k != Invalid {
			t.Errorf("Parse(%q) = %v, %v, want Invalid, false", name, k, ok)
		}
	}
}

// TestSetHoldsEveryKind guards the bit set's width: a kind past bit 31
// would silently vanish from every Set.
func TestSetHoldsEveryKind(t *testing.T) {
	var s Set
	for k := Kind(1); k < numKinds; k++ {
		s.Add(k)
		if !s.Has(k) {
			t.Fatalf("Set cannot hold %s (kind %d)", k, k)
		}
	}
	if got := len(s.Kinds()); got != int(numKinds)-1 {
		t.Errorf("a set of every kind lists %d kinds, want %d", got, numKinds-1)
	}
}

func TestSet(t *testing.T) {
	for _, tc := range []struct {
		name   string
		add    []Kind
		remove []Kind
		want   []Kind // in the constants' order, whatever the order of adding
		names  string // AppendNames with ","
	}{
		{name: "empty", names: ""},
		{name: "one", add: []Kind{DuplicateAck}, want: []Kind{DuplicateAck}, names: "duplicate_ack"},
		{
			name:  "order of the constants",
			add:   []Kind{DuplicateFrame, Retransmission, ZeroWindow},
			want:  []Kind{Retransmission, ZeroWindow, DuplicateFrame},
			names: "retransmission,zero_window,duplicate_frame",
		},
		{name: "added twice", add: []Kind{KeepAlive, KeepAlive}, want: []Kind{KeepAlive}, names: "keep_alive"},
		{
			name:   "removed",
			add:    []Kind{KeepAlive, ZeroWindow},
			remove: []Kind{KeepAlive},
			want:   []Kind{ZeroWindow},
			names:  "zero_window",
		},
		{name: "removing what is absent", add: []Kind{ZeroWindow}, remove: []Kind{KeepAlive}, want: []Kind{ZeroWindow}, names: "zero_window"},
		{name: "emptied", add: []Kind{DSACK}, remove: []Kind{DSACK}, names: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s Set
			for _, k := range tc.add {
				s.Add(k)
			}
			for _, k := range tc.remove {
				s.Remove(k)
			}
			got := s.Kinds()
			if len(got) != len(tc.want) {
				t.Fatalf("Kinds() = %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("Kinds() = %v, want %v", got, tc.want)
				}
			}
			if s.Empty() != (len(tc.want) == 0) {
				t.Errorf("Empty() = %v with %v", s.Empty(), got)
			}
			for k := Kind(1); k < numKinds; k++ {
				in := false
				for _, w := range tc.want {
					in = in || w == k
				}
				if s.Has(k) != in {
					t.Errorf("Has(%s) = %v, want %v", k, s.Has(k), in)
				}
			}
			if got := string(s.AppendNames([]byte(nil), ",")); got != tc.names {
				t.Errorf("AppendNames = %q, want %q", got, tc.names)
			}
			if got := string(s.AppendNames([]byte("x "), ", ")); got != "x "+strings.ReplaceAll(tc.names, ",", ", ") {
				t.Errorf("AppendNames after a prefix = %q", got)
			}
		})
	}
}
