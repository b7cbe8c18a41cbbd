package netlab

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"time"
)

// Record is a run saved for tests without root: the capture sits beside
// it as <Scenario>.pcap. It is the JSON schema of testdata/kernel/*.json;
// times are RFC 3339 with nanoseconds, UTC, on the capture's clock.
type Record struct {
	Scenario string `json:"scenario"`
	Doc      string `json:"doc"`
	Capture  string `json:"capture"` // file name of the main capture, in the record's directory
	Vantage  string `json:"vantage"` // "client" or "server": whose interface the main capture was taken on
	Snaplen  int    `json:"snaplen"` // 0: whole frames
	// Captures are the captures saved with the record, the main one
	// among them; a record without them has only the main one, taken at
	// Vantage (see Points).
	Captures []CaptureRecord `json:"captures,omitempty"`
	// Client and Server are the focus connection's endpoints (ip:port,
	// IPv6 as [addr]:port).
	Client string `json:"client"`
	Server string `json:"server"`
	// ClientPorts is the client's ip_local_port_range, the first of the
	// run's own block of ports ("41024 41039"); empty in records made
	// before runs had ports of their own (40001 and up).
	ClientPorts string            `json:"client_ports,omitempty"`
	DelayMS     float64           `json:"delay_ms"` // the path's one-way delay, each way
	Sysctls     map[string]string `json:"sysctls,omitempty"`
	// Drops are the frames the path lost, in order.
	Drops []DropRecord `json:"drops"`
	// Held are the frames the path held back so that later ones
	// overtook them (Drop.Hold), in order.
	Held []DropRecord `json:"held,omitempty"`
	// States are the kernel's states of the focus connection and of the
	// server's listening socket.
	States StatesRecord `json:"states"`
	// Conns are all connections on the service port (the focus one too).
	Conns []ConnRecord `json:"conns"`
	// Expect is what the scenario promises of the states: the harness
	// checked it on this run.
	Expect ExpectRecord `json:"expect"`

	Start        time.Time `json:"start"` // polling began (and the capture, unless it started late)
	End          time.Time `json:"end"`   // polling ended
	PollInterval float64   `json:"poll_interval_ms"`
	MaxPollGapMS float64   `json:"max_poll_gap_ms"` // longest time between two polls of one endpoint
	// RelayLateMS is the longest a frame waited in the relay beyond the
	// path's delay; absent in records made before it was measured.
	RelayLateMS *float64 `json:"relay_late_ms,omitempty"`
	Kernel      string   `json:"kernel"` // uname -r
	Notes       []string `json:"notes,omitempty"`
}

// CaptureRecord is one saved capture of a run.
type CaptureRecord struct {
	Point string `json:"point"` // "client", "router" or "server"
	File  string `json:"file"`  // in the record's directory
	// FromClientMS and FromServerMS are the path's one-way delay between
	// each endpoint and the point.
	FromClientMS float64 `json:"from_client_ms"`
	FromServerMS float64 `json:"from_server_ms"`
}

// Points returns the record's captures; for a record saved before runs
// were captured at several points, its one capture, at Vantage.
func (rec *Record) Points() []CaptureRecord {
	if len(rec.Captures) > 0 {
		return rec.Captures
	}
	c := CaptureRecord{Point: rec.Vantage, File: rec.Capture}
	if rec.Vantage == Server.String() {
		c.FromClientMS = rec.DelayMS
	} else {
		c.FromServerMS = rec.DelayMS
	}
	return []CaptureRecord{c}
}

// StatesRecord holds observations per endpoint.
type StatesRecord struct {
	Client   []StateRecord `json:"client"`
	Server   []StateRecord `json:"server"`
	Listener []StateRecord `json:"listener,omitempty"`
}

// StateRecord is one Observation: the state was first seen at Time and
// not yet at NotBefore (zero when it predates polling).
type StateRecord struct {
	State     string    `json:"state"`
	Time      time.Time `json:"time"`
	NotBefore time.Time `json:"not_before"`
	// Source is SourceTrace or SourcePoll; empty in records made before
	// the tracepoint was used, whose states are all the poller's.
	Source string `json:"source,omitempty"`
}

// ConnRecord is one Conn.
type ConnRecord struct {
	Client string       `json:"client"`
	Server string       `json:"server"`
	States StatesRecord `json:"states"`
}

// DropRecord is one Dropped frame.
type DropRecord struct {
	Time   time.Time `json:"time"`
	Dir    string    `json:"dir"` // "c2s" or "s2c"
	Rule   string    `json:"rule"`
	Flags  string    `json:"flags"` // tcpdump letters
	Seq    uint32    `json:"seq_raw"`
	Ack    uint32    `json:"ack_raw"`
	Len    int       `json:"len"`
	Offset int64     `json:"offset"` // stream offset of the first payload byte, -1 if unknown
	// HeldMS is how much longer than the path's delay a held frame was
	// kept; absent for a drop.
	HeldMS float64 `json:"held_ms,omitempty"`
}

// dropRecord is the saved form of a dropped or held frame.
func dropRecord(d Dropped) DropRecord {
	return DropRecord{
		Time: d.Time.UTC(), Dir: d.Dir.String(), Rule: d.Rule, Flags: d.Flags.String(),
		Seq: d.Seq, Ack: d.Ack, Len: d.Len, Offset: d.Offset, HeldMS: ms(d.Held),
	}
}

// ExpectRecord is the list part of Expect.
type ExpectRecord struct {
	Client    []string `json:"client"`
	Server    []string `json:"server"`
	ClientEnd string   `json:"client_end"`
	ServerEnd string   `json:"server_end"`
	CheckEnd  bool     `json:"check_end"`
}

func obsRecords(obs []Observation) []StateRecord {
	out := make([]StateRecord, len(obs))
	for i, o := range obs {
		out[i] = StateRecord{State: o.State, Time: o.Time.UTC(), NotBefore: o.NotBefore.UTC(), Source: o.Source}
		if o.NotBefore.IsZero() {
			out[i].NotBefore = time.Time{}
		}
	}
	return out
}

// Record converts the result to its saved form, with its main capture
// alone, as Save keeps it.
func (res *Result) Record() *Record {
	c, _ := res.CaptureAt(res.Vantage.String())
	c.Path = res.Scenario.Name + ".pcap"
	return res.record(c)
}

// record converts the result to its saved form with the given captures,
// whose Path is the file name in the record's directory; the first
// taken at the vantage is the main one.
func (res *Result) record(captures ...Capture) *Record {
	sc := res.Scenario
	snap := sc.Snaplen
	switch {
	case snap == 0:
		snap = DefaultSnaplen
	case snap < 0:
		snap = 0
	}
	late := ms(res.RelayLate)
	rec := &Record{
		Scenario: sc.Name, Doc: sc.Doc,
		Vantage: res.Vantage.String(), Snaplen: snap,
		Client: res.ClientAddr.String(), Server: res.ServerAddr.String(),
		DelayMS: ms(res.Delay), Sysctls: sc.Sysctls,
		Drops: []DropRecord{},
		States: StatesRecord{
			Client: obsRecords(res.Client), Server: obsRecords(res.Server), Listener: obsRecords(res.Listener),
		},
		Expect: ExpectRecord{
			Client: sc.Expect.Client, Server: sc.Expect.Server,
			ClientEnd: sc.Expect.ClientEnd, ServerEnd: sc.Expect.ServerEnd, CheckEnd: sc.Expect.CheckEnd,
		},
		ClientPorts: fmt.Sprintf("%d %d", res.ClientPorts[0], res.ClientPorts[1]),
		RelayLateMS: &late,
		Start:       res.Start.UTC(), End: res.End.UTC(),
		PollInterval: ms(PollInterval), MaxPollGapMS: ms(res.MaxPollGap),
		Kernel: res.Kernel, Notes: res.Notes,
	}
	for _, c := range captures {
		if rec.Capture == "" && c.Point == rec.Vantage {
			rec.Capture = c.Path
		}
		rec.Captures = append(rec.Captures, CaptureRecord{Point: c.Point, File: c.Path, FromClientMS: ms(c.FromClient), FromServerMS: ms(c.FromServer)})
	}
	for _, d := range res.Drops {
		rec.Drops = append(rec.Drops, dropRecord(d))
	}
	for _, d := range res.Held {
		rec.Held = append(rec.Held, dropRecord(d))
	}
	for _, c := range res.Conns {
		rec.Conns = append(rec.Conns, ConnRecord{
			Client: c.Client.String(), Server: c.Server.String(),
			States: StatesRecord{Client: obsRecords(c.ClientStates), Server: obsRecords(c.ServerStates)},
		})
	}
	return rec
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Save writes the main capture and the record into dir as <name>.pcap
// and <name>.json.
func (res *Result) Save(dir string) error {
	name := res.Scenario.Name
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := copyFile(filepath.Join(dir, name+".pcap"), res.Capture); err != nil {
		return err
	}
	return writeRecord(filepath.Join(dir, name+".json"), res.Record())
}

// SavePoints writes every capture of the run and the record into the
// directory dir/<name>: <point>.pcap for each capture point and
// record.json.
func (res *Result) SavePoints(dir string) error {
	dir = filepath.Join(dir, res.Scenario.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var saved []Capture
	for _, c := range res.Captures {
		file := c.Point + ".pcap"
		if err := copyFile(filepath.Join(dir, file), c.Path); err != nil {
			return err
		}
		c.Path = file
		saved = append(saved, c)
	}
	return writeRecord(filepath.Join(dir, "record.json"), res.record(saved...))
}

func writeRecord(path string, rec *Record) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// LoadRecord reads a record saved by Save.
func LoadRecord(path string) (*Record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rec Record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("netlab: %s: %w", path, err)
	}
	return &rec, nil
}

// CapturePath is the path of the record's main capture, given the record's own path.
func (rec *Record) CapturePath(recordPath string) string {
	return filepath.Join(filepath.Dir(recordPath), rec.Capture)
}

// PointPath is the path of one of the record's captures, given the
// record's own path.
func (c CaptureRecord) PointPath(recordPath string) string {
	return filepath.Join(filepath.Dir(recordPath), c.File)
}

// ClientAddr parses the focus connection's client endpoint.
func (rec *Record) ClientAddr() (netip.AddrPort, error) { return netip.ParseAddrPort(rec.Client) }

// ServerAddr parses the focus connection's server endpoint.
func (rec *Record) ServerAddr() (netip.AddrPort, error) { return netip.ParseAddrPort(rec.Server) }

// StateNames lists the state names of observations.
func StateNames(obs []StateRecord) []string {
	s := make([]string, len(obs))
	for i, o := range obs {
		s[i] = o.State
	}
	return s
}
