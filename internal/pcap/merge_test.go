package pcap_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/tcplens/tcplens/internal/pcap"
)

// script is a Source that hands out fixed frames and errors, then io.EOF.
type script struct {
	steps []step
	calls int
}

// step is one result of Next: a frame at time t, or err.
type step struct {
	t   pcap.Time
	err error
}

func (s *script) Next() (pcap.Frame, error) {
	if s.calls >= len(s.steps) {
		s.calls++
		return pcap.Frame{}, io.EOF
	}
	st := s.steps[s.calls]
	s.calls++
	if st.err != nil {
		return pcap.Frame{}, st.err
	}
	// Number and Data say which step of the source this was.
	return pcap.Frame{Number: s.calls, Time: st.t, Data: []byte{byte(s.calls)}}, nil
}

func frames(ts ...pcap.Time) *script {
	s := &script{}
	for _, t := range ts {
		s.steps = append(s.steps, step{t: t})
	}
	return s
}

// merged is one result of a merged Next: a frame from source file, its
// step there and its time, or an error from source file.
type merged struct {
	file int
	step int
	t    pcap.Time
	err  error
}

func (m merged) String() string {
	if m.err != nil {
		return fmt.Sprintf("error from source %d: %v", m.file, m.err)
	}
	return fmt.Sprintf("frame %d of source %d at %d", m.step, m.file, m.t)
}

func TestMerge(t *testing.T) {
	bad := &pcap.FormatError{Format: "pcap", Offset: 40, Frame: 2, Msg: "bad record"}
	tests := []struct {
		name string
		srcs func() []pcap.Source
		want []merged
	}{
		{"interleaved", func() []pcap.Source {
			return []pcap.Source{frames(1, 4, 5), frames(2, 3, 6)}
		}, []merged{{0, 1, 1, nil}, {1, 1, 2, nil}, {1, 2, 3, nil}, {0, 2, 4, nil}, {0, 3, 5, nil}, {1, 3, 6, nil}}},
		{"equal timestamps keep source order", func() []pcap.Source {
			return []pcap.Source{frames(1, 1, 2), frames(1, 2), frames(1)}
		}, []merged{{0, 1, 1, nil}, {0, 2, 1, nil}, {1, 1, 1, nil}, {2, 1, 1, nil}, {0, 3, 2, nil}, {1, 2, 2, nil}}},
		{"an error from one source, then more frames", func() []pcap.Source {
			return []pcap.Source{frames(1, 4), &script{steps: []step{{t: 2}, {err: bad}, {t: 3}}}}
		}, []merged{{0, 1, 1, nil}, {1, 1, 2, nil}, {1, 0, 0, bad}, {1, 3, 3, nil}, {0, 2, 4, nil}}},
		{"an error before any frame", func() []pcap.Source {
			return []pcap.Source{&script{steps: []step{{err: bad}, {err: bad}, {t: 5}}}, frames(7)}
		}, []merged{{0, 0, 0, bad}, {0, 0, 0, bad}, {0, 3, 5, nil}, {1, 1, 7, nil}}},
		{"empty sources", func() []pcap.Source {
			return []pcap.Source{frames(), frames(3), frames()}
		}, []merged{{1, 1, 3, nil}}},
		{"no sources", func() []pcap.Source { return nil }, nil},
		{"one source is passed through", func() []pcap.Source {
			return []pcap.Source{frames(9, 3)} // not sorted: nothing to merge
		}, []merged{{0, 1, 9, nil}, {0, 2, 3, nil}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := pcap.Merge(tc.srcs()...)
			var got []merged
			n := 0
			for range 100 {
				f, err := m.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					var se *pcap.SourceError
					if !errors.As(err, &se) {
						t.Fatalf("Next() = %v (%T), want a *pcap.SourceError", err, err)
					}
					if err.Error() != se.Err.Error() {
						t.Errorf("Next() = %q, want the source's message %q", err, se.Err)
					}
					got = append(got, merged{file: se.File, err: se.Err})
					continue
				}
				n++
				step := int(f.Data[0])
				got = append(got, merged{file: f.File, step: step, t: f.Time})
				// Merged frames are renumbered; a single source keeps its numbers.
				if len(tc.srcs()) > 1 && f.Number != n {
					t.Errorf("Next() = frame number %d, want %d", f.Number, n)
				}
				if len(tc.srcs()) == 1 && f.Number != step {
					t.Errorf("Next() = frame number %d, want the source's %d", f.Number, step)
				}
			}
			if _, err := m.Next(); err != io.EOF {
				t.Errorf("Next() after io.EOF = %v, want io.EOF", err)
			}
			for i := range max(len(got), len(tc.want)) {
				switch {
				case i >= len(got):
					t.Errorf("Next() = io.EOF, want %v", tc.want[i])
				case i >= len(tc.want):
					t.Errorf("Next() = %v, want io.EOF", got[i])
				case got[i] != tc.want[i]:
					t.Errorf("Next() = %v, want %v", got[i], tc.want[i])
				}
			}
		})
	}
}

// refMerge is the obviously correct merge of frame lists already read:
// repeatedly take the earliest head, the first source on a tie. It
// returns (file, offset) pairs in merged order.
func refMerge(lists [][]frame) [][2]int64 {
	var out [][2]int64
	heads := make([]int, len(lists))
	for {
		best := -1
		for i, l := range lists {
			if heads[i] < len(l) && (best < 0 || l[heads[i]].Time < lists[best][heads[best]].Time) {
				best = i
			}
		}
		if best < 0 {
			return out
		}
		out = append(out, [2]int64{int64(best), lists[best][heads[best]].Offset})
		heads[best]++
	}
}

// TestMergeReaders merges real readers: frames come in the reference
// merge's order, each with the Data it had when read alone (a source is
// not advanced while its frame is out), numbered 1, 2, 3 …; an error from
// a corrupt file arrives as a *SourceError and reading goes on. Real
// captures are not always in time order (suri-bug-1450's frame 2 is years
// early), which the reference merge handles the same way.
func TestMergeReaders(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		errs  int // SourceErrors expected
	}{
		// The same file twice: every timestamp ties. Its frames are large,
		// so the readers' buffers are compacted as they go.
		{"one file twice", []string{"suri-decode-sll2-02.pcap.gz", "suri-decode-sll2-02.pcap.gz"}, 0},
		{"pcap and pcapng", []string{"zeek-http-get.pcap", "zeek-pcapng-multi-interface.pcapng", "zeek-wikipedia.pcap"}, 0},
		{"corrupt files among good ones", []string{"zeek-tcp-rst-inject-rae.pcap", "suri-smtp-to-comma.pcap", "suri-bug-1450-04-tls_DER-incomplete-header.pcap"}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var lists [][]frame
			var srcs []pcap.Source
			for _, name := range tc.files {
				data := loadCapture(t, name)
				lists = append(lists, readAll(t, data).frames)
				r, err := pcap.NewReader(bytes.NewReader(data))
				if err != nil {
					t.Fatal(err)
				}
				srcs = append(srcs, r)
			}
			want := refMerge(lists)
			// data[file][offset] is the data that frame had when read alone.
			data := make([]map[int64][]byte, len(lists))
			for i, l := range lists {
				data[i] = map[int64][]byte{}
				for _, f := range l {
					data[i][f.Offset] = f.Data
				}
			}
			m := pcap.Merge(srcs...)
			n, errs := 0, 0
			for range 2*len(want) + 10 {
				f, err := m.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					var se *pcap.SourceError
					var fe *pcap.FormatError
					if !errors.As(err, &se) || !errors.As(err, &fe) {
						t.Fatalf("Next() = %v (%T), want a *pcap.SourceError wrapping a *pcap.FormatError", err, err)
					}
					errs++
					continue
				}
				if n >= len(want) {
					t.Fatalf("Next() = %s, want io.EOF", describe(f))
				}
				if f.Number != n+1 || int64(f.File) != want[n][0] || f.Offset != want[n][1] {
					t.Fatalf("Next() = %s, want frame %d from file %d at offset %d", describe(f), n+1, want[n][0], want[n][1])
				}
				if !bytes.Equal(f.Data, data[f.File][f.Offset]) {
					t.Fatalf("Next() = %s: Data differs from the frame read alone", describe(f))
				}
				n++
			}
			if n != len(want) || errs != tc.errs {
				t.Errorf("merged %d frames and %d errors, want %d and %d", n, errs, len(want), tc.errs)
			}
		})
	}
}
