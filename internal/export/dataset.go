package export

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/pqfile"
)

// Format is the file format of a dataset.
type Format uint8

const (
	Parquet Format = iota // Apache Parquet: zstd, dictionaries for the columns of few values
	JSONL                 // JSON lines: one object per row
)

func (f Format) ext() string {
	if f == JSONL {
		return ".jsonl"
	}
	return ".parquet"
}

// The tables' names, which are their directories.
const (
	TableConnections = "connections"
	TableFindings    = "findings"
	TableTransitions = "transitions"
	TableSegments    = "segments"
)

// Rows per Parquet row group. A group is held in memory until it is full
// and written out, so these bound the memory a partition's open file
// takes, whatever the capture's size: about 20 MiB for segments, 30 for
// connections.
const (
	connectionGroupRows = 64 << 10
	segmentGroupRows    = 128 << 10
)

// pageBytes is about how large a column's page is before it is encoded
// and compressed: an open file fills one per column (70 for
// connections); pages of 64 KiB are as well read as larger ones, and
// the page index skips them finer.
const pageBytes = 64 << 10

// maxOpenPartitions bounds the partitions of one table written at once.
// Rows come in roughly time order (connections as they end, segments as
// they were captured), so one or two are open at a time; a row for a
// partition closed already goes to a new file in it.
const maxOpenPartitions = 4

// batchRows is how many rows a partition gathers before handing them to
// the file writer at once.
const batchRows = 1024

// Dataset writes the tables of an export under a directory, one
// directory per table, partitioned as Hive does:
//
//	DIR/TABLE/sensor=SENSOR/date=YYYY-MM-DD/hour=H/NAME-N.parquet
//
// date and hour are UTC, of the connection's first packet (of the
// segment's own time for segments). NAME must differ between the runs
// that write into one dataset (each capture group and shard has its
// own), so that none overwrites another's files; a file is written under
// a temporary name and renamed when complete, so that a run that fails
// leaves no partial file that a query would read.
//
// Rows come in through Tables, one per goroutine that makes them, which
// gather them in batches per partition; the files are opened, encoded,
// compressed and written on a goroutine of the Dataset's own, so that
// this work overlaps the analysis that makes the rows. The segments come
// through SegmentTable, one per worker of the analysis, each with its
// files and its goroutine.
type Dataset struct {
	w           *writer
	connections *fileSet[Connection]
	findings    *fileSet[Finding]
	transitions *fileSet[Transition]
	// The segments table, when asked for, is written in parts: each its
	// own files and its own writer (SegmentTable), so that its rows,
	// many times the others', are encoded on every core.
	segments          bool
	segmentParts      []segmentPart
	dir, sensor, name string
	format            Format
}

type segmentPart struct {
	w   *writer
	set *fileSet[Segment]
}

// writer runs the file work, in the order it was handed over.
type writer struct {
	jobs chan func() error
	done chan struct{}
	mu   sync.Mutex
	err  error // the first job's error; later jobs are skipped
}

// writerDepth is how many batches may wait for the writer: enough to
// smooth out a burst of connections ending at once, few enough to bound
// the memory they hold.
const writerDepth = 16

func newWriter() *writer {
	w := &writer{jobs: make(chan func() error, writerDepth), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for job := range w.jobs {
			if w.failed() == nil {
				if err := job(); err != nil {
					w.mu.Lock()
					w.err = err
					w.mu.Unlock()
				}
			}
		}
	}()
	return w
}

// close runs the jobs last, ends the writer and reports its first
// error.
func (w *writer) close(last ...func() error) error {
	for _, job := range last {
		w.jobs <- job
	}
	close(w.jobs)
	<-w.done
	return w.err
}

func (w *writer) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// NewDataset returns a dataset writing under dir in format, its files
// named name in the partitions of sensor.
func NewDataset(dir string, format Format, sensor, name string, segments bool) (*Dataset, error) {
	if err := ValidName(sensor); err != nil {
		return nil, fmt.Errorf("sensor %w", err)
	}
	if err := ValidName(name); err != nil {
		return nil, fmt.Errorf("file name %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	d := &Dataset{
		w:           newWriter(),
		connections: newFileSet(dir, TableConnections, format, sensor, name, connectionColumns, connectionGroupRows),
		findings:    newFileSet(dir, TableFindings, format, sensor, name, findingColumns, connectionGroupRows),
		transitions: newFileSet(dir, TableTransitions, format, sensor, name, transitionColumns, connectionGroupRows),
		segments:    segments,
		dir:         dir, sensor: sensor, name: name, format: format,
	}
	return d, nil
}

// SegmentTable returns the segments table for one goroutine to write
// rows into (a worker of the analysis, part from 0): its rows go to files
// of its own, NAME-wPART-N, encoded on a goroutine of its own. Call it
// before any rows are written; Flush it when done.
func (d *Dataset) SegmentTable(part int) *Table[Segment] {
	p := segmentPart{newWriter(), newFileSet(d.dir, TableSegments, d.format, d.sensor, d.name+"-w"+strconv.Itoa(part), segmentColumns, segmentGroupRows)}
	d.segmentParts = append(d.segmentParts, p)
	return newTable(p.w, p.set)
}

// Tables returns the tables for one goroutine to write rows into; Flush
// them when it is done.
func (d *Dataset) Tables() *Tables {
	return &Tables{
		Connections: newTable(d.w, d.connections),
		Findings:    newTable(d.w, d.findings),
		Transitions: newTable(d.w, d.transitions),
	}
}

// Close completes every file, once every Tables and segments table was
// flushed, and reports the first error met.
func (d *Dataset) Close() error {
	errs := make([]error, 0, len(d.segmentParts)+1)
	for _, p := range d.segmentParts {
		errs = append(errs, p.w.close(p.set.closeAll))
	}
	return errors.Join(append(errs, d.w.close(d.connections.closeAll, d.findings.closeAll, d.transitions.closeAll))...)
}

// ValidName checks a sensor or file name: it becomes part of a path, so
// letters, digits, '.', '_' and '-' only, not starting with '.'.
func ValidName(s string) error {
	if s == "" {
		return errors.New("name is empty")
	}
	for i, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
		case c == '.' && i > 0:
		default:
			return fmt.Errorf("name %q: only letters, digits, '.', '_' and '-' (not first) may be used", s)
		}
	}
	return nil
}

// Tables are a dataset's tables but the segments, as one goroutine
// writes rows into them.
type Tables struct {
	Connections *Table[Connection]
	Findings    *Table[Finding]
	Transitions *Table[Transition]
}

// Flush hands every partial batch to the dataset, and reports the first
// error met so far.
func (t *Tables) Flush() error {
	return errors.Join(t.Connections.Flush(), t.Findings.Flush(), t.Transitions.Flush())
}

// Table gathers one goroutine's rows of a table in batches, one per
// partition, and hands each batch to the dataset's writer when it is
// full.
type Table[T any] struct {
	w       *writer
	set     *fileSet[T]
	batches map[partition]*batch[T]
	// cur is the batch of the latest row's partition, which holds the
	// times from curFrom to curTo: rows come in time order mostly, and a
	// map lookup and a calendar computation per row cost a tenth of
	// writing a segment's.
	cur            *batch[T]
	curFrom, curTo pcap.Time
	rows           int64
	err            error
}

type batch[T any] struct {
	p    partition
	rows []T
}

// partition is a date and an hour in UTC.
type partition struct {
	year, month, day, hour int
}

// partitionOf is the partition of time t, and the times it holds.
func partitionOf(t pcap.Time) (p partition, from, to pcap.Time) {
	s := t.Std()
	start := s.Truncate(time.Hour)
	return partition{s.Year(), int(s.Month()), s.Day(), s.Hour()}, pcap.Time(start.UnixNano()), pcap.Time(start.Add(time.Hour).UnixNano())
}

func (p partition) dir() string {
	return fmt.Sprintf("date=%04d-%02d-%02d/hour=%d", p.year, p.month, p.day, p.hour)
}

func newTable[T any](w *writer, set *fileSet[T]) *Table[T] {
	return &Table[T]{w: w, set: set, batches: make(map[partition]*batch[T])}
}

// Rows is how many rows the table was given.
func (t *Table[T]) Rows() int64 { return t.rows }

// Write adds a row to the partition of time at. The table keeps the row
// until its batch is written, so the row's slices must not change after.
func (t *Table[T]) Write(at pcap.Time, row *T) error {
	if t.err != nil {
		return t.err
	}
	if t.cur == nil || at < t.curFrom || at >= t.curTo {
		p, from, to := partitionOf(at)
		b := t.batches[p]
		if b == nil {
			b = &batch[T]{p: p, rows: t.set.newBatch()}
			t.batches[p] = b
		}
		t.cur, t.curFrom, t.curTo = b, from, to
	}
	b := t.cur
	b.rows = append(b.rows, *row)
	t.rows++
	if len(b.rows) == batchRows {
		t.send(b.p, b.rows)
		b.rows = t.set.newBatch()
	}
	return t.err
}

// Flush hands every partial batch to the writer.
func (t *Table[T]) Flush() error {
	for p, b := range t.batches {
		if len(b.rows) > 0 {
			t.send(p, b.rows)
		}
		delete(t.batches, p)
	}
	t.cur = nil
	return t.err
}

func (t *Table[T]) send(p partition, b []T) {
	set := t.set
	t.w.jobs <- func() error { return set.write(p, b) }
	if err := t.w.failed(); err != nil {
		t.err = err
	}
}

// fileSet is the files of one table: only the writer's goroutine touches
// it, but for the batches it hands back.
type fileSet[T any] struct {
	dir, name    string
	format       Format
	sensor, file string
	columns      *pqfile.Schema[T]
	groupRows    int
	open         map[partition]*partFile[T]
	files        map[partition]int // files started in each partition
	clock        uint64
	free         chan []T // batches written, for reuse
}

func newFileSet[T any](dir, name string, format Format, sensor, file string, columns *pqfile.Schema[T], groupRows int) *fileSet[T] {
	return &fileSet[T]{dir: dir, name: name, format: format, sensor: sensor, file: file, columns: columns, groupRows: groupRows,
		open: make(map[partition]*partFile[T]), files: make(map[partition]int), free: make(chan []T, writerDepth)}
}

func (s *fileSet[T]) newBatch() []T {
	select {
	case b := <-s.free:
		return b
	default:
		return make([]T, 0, batchRows)
	}
}

// write writes a batch of rows into the partition's file, opening it
// when needed, and takes the batch back for reuse.
func (s *fileSet[T]) write(p partition, batch []T) error {
	f := s.open[p]
	if f == nil {
		var err error
		if f, err = s.openPartition(p); err != nil {
			return err
		}
	}
	s.clock++
	f.used = s.clock
	err := f.write(batch)
	clear(batch)
	select {
	case s.free <- batch[:0]:
	default:
	}
	return err
}

func (s *fileSet[T]) openPartition(p partition) (*partFile[T], error) {
	if len(s.open) >= maxOpenPartitions {
		var oldest partition
		var used uint64
		for q, f := range s.open {
			if used == 0 || f.used < used {
				oldest, used = q, f.used
			}
		}
		err := s.open[oldest].close()
		delete(s.open, oldest)
		if err != nil {
			return nil, err
		}
	}
	dir := filepath.Join(s.dir, s.name, "sensor="+s.sensor, p.dir())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	s.files[p]++
	path := filepath.Join(dir, s.file+"-"+strconv.Itoa(s.files[p])+s.format.ext())
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return nil, err
	}
	pf := &partFile[T]{path: path, f: f, bw: bufio.NewWriterSize(f, 256<<10)}
	if s.format == JSONL {
		pf.enc = json.NewEncoder(pf.bw)
		pf.enc.SetEscapeHTML(false)
	} else {
		pf.pw = pqfile.NewWriter(pf.bw, s.columns, pqfile.Options{GroupRows: s.groupRows, PageBytes: pageBytes})
	}
	s.open[p] = pf
	return pf, nil
}

// closeAll completes the set's open files.
func (s *fileSet[T]) closeAll() error {
	var errs []error
	for p, f := range s.open {
		errs = append(errs, f.close())
		delete(s.open, p)
	}
	return errors.Join(errs...)
}

// partFile is one file being written in a partition.
type partFile[T any] struct {
	path string // its name once complete; it is written as path+".tmp"
	f    *os.File
	pw   *pqfile.Writer[T]
	bw   *bufio.Writer
	enc  *json.Encoder
	used uint64
}

func (p *partFile[T]) write(batch []T) error {
	if p.pw != nil {
		return p.pw.Write(batch)
	}
	for i := range batch {
		if err := p.enc.Encode(&batch[i]); err != nil {
			return err
		}
	}
	return nil
}

func (p *partFile[T]) close() error {
	var err error
	if p.pw != nil {
		err = p.pw.Close()
	}
	err = errors.Join(err, p.bw.Flush(), p.f.Close())
	if err != nil {
		os.Remove(p.f.Name())
		return fmt.Errorf("%s: %w", p.path, err)
	}
	return os.Rename(p.f.Name(), p.path)
}
