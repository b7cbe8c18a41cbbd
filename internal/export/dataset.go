package export

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/tcplens/tcplens/internal/pcap"
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
//	DIR/TABLE/sensor=SENSOR/date=YYYY-MM-DD/hour=HH/NAME-N.parquet
//
// date and hour are UTC, of the connection's first packet (of the
// segment's own time for segments). NAME must differ between the runs
// that write into one dataset (each capture group and shard has its
// own), so that none overwrites another's files; a file is written under
// a temporary name and renamed when complete, so that a run that fails
// leaves no partial file that a query would read.
type Dataset struct {
	Connections *Table[Connection]
	Findings    *Table[Finding]
	Transitions *Table[Transition]
	Segments    *Table[Segment] // nil unless asked for
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
		Connections: newTable[Connection](dir, TableConnections, format, sensor, name, connectionGroupRows),
		Findings:    newTable[Finding](dir, TableFindings, format, sensor, name, connectionGroupRows),
		Transitions: newTable[Transition](dir, TableTransitions, format, sensor, name, connectionGroupRows),
	}
	if segments {
		d.Segments = newTable[Segment](dir, TableSegments, format, sensor, name, segmentGroupRows)
	}
	return d, nil
}

// Close completes every file, and reports the first error met.
func (d *Dataset) Close() error {
	errs := []error{d.Connections.Close(), d.Findings.Close(), d.Transitions.Close()}
	if d.Segments != nil {
		errs = append(errs, d.Segments.Close())
	}
	return errors.Join(errs...)
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

// Table writes the rows of one table, each into its partition.
type Table[T any] struct {
	dir, name    string
	format       Format
	sensor, file string
	groupRows    int64
	open         map[partition]*partFile[T]
	files        map[partition]int // files started in each partition
	clock        uint64
	rows         int64
	err          error
}

// partition is a date and an hour in UTC.
type partition struct {
	year, month, day, hour int
}

func partitionOf(t pcap.Time) partition {
	s := t.Std()
	return partition{s.Year(), int(s.Month()), s.Day(), s.Hour()}
}

func (p partition) dir() string {
	return fmt.Sprintf("date=%04d-%02d-%02d/hour=%02d", p.year, p.month, p.day, p.hour)
}

func newTable[T any](dir, name string, format Format, sensor, file string, groupRows int64) *Table[T] {
	return &Table[T]{dir: dir, name: name, format: format, sensor: sensor, file: file, groupRows: groupRows,
		open: make(map[partition]*partFile[T]), files: make(map[partition]int)}
}

// Rows is how many rows the table was given.
func (t *Table[T]) Rows() int64 { return t.rows }

// Write adds a row to the partition of time at. The table keeps the row
// until its batch is written, so the row's slices must not change after.
func (t *Table[T]) Write(at pcap.Time, row *T) error {
	if t.err != nil {
		return t.err
	}
	p := partitionOf(at)
	f := t.open[p]
	if f == nil {
		if f, t.err = t.openPartition(p); t.err != nil {
			return t.err
		}
	}
	t.clock++
	f.used = t.clock
	f.batch = append(f.batch, *row)
	t.rows++
	if len(f.batch) == batchRows {
		t.err = f.flush()
	}
	return t.err
}

func (t *Table[T]) openPartition(p partition) (*partFile[T], error) {
	if len(t.open) >= maxOpenPartitions {
		var oldest partition
		var used uint64
		for q, f := range t.open {
			if used == 0 || f.used < used {
				oldest, used = q, f.used
			}
		}
		err := t.open[oldest].close()
		delete(t.open, oldest)
		if err != nil {
			return nil, err
		}
	}
	dir := filepath.Join(t.dir, t.name, "sensor="+t.sensor, p.dir())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	t.files[p]++
	path := filepath.Join(dir, t.file+"-"+strconv.Itoa(t.files[p])+t.format.ext())
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return nil, err
	}
	pf := &partFile[T]{path: path, f: f, batch: make([]T, 0, batchRows)}
	if t.format == JSONL {
		pf.bw = bufio.NewWriterSize(f, 256<<10)
		pf.enc = json.NewEncoder(pf.bw)
		pf.enc.SetEscapeHTML(false)
	} else {
		pf.pw = parquet.NewGenericWriter[T](f,
			parquet.Compression(&zstd.Codec{Level: zstd.SpeedFastest}),
			parquet.MaxRowsPerRowGroup(t.groupRows),
			parquet.CreatedBy("tcplens", "", ""))
	}
	t.open[p] = pf
	return pf, nil
}

// Close completes the table's open files.
func (t *Table[T]) Close() error {
	for p, f := range t.open {
		if err := f.close(); err != nil && t.err == nil {
			t.err = err
		}
		delete(t.open, p)
	}
	return t.err
}

// partFile is one file being written in a partition.
type partFile[T any] struct {
	path  string // its name once complete; it is written as path+".tmp"
	f     *os.File
	pw    *parquet.GenericWriter[T]
	bw    *bufio.Writer
	enc   *json.Encoder
	batch []T
	used  uint64
}

func (p *partFile[T]) flush() error {
	defer func() { clear(p.batch); p.batch = p.batch[:0] }()
	if p.pw != nil {
		_, err := p.pw.Write(p.batch)
		return err
	}
	for i := range p.batch {
		if err := p.enc.Encode(&p.batch[i]); err != nil {
			return err
		}
	}
	return nil
}

func (p *partFile[T]) close() error {
	err := p.flush()
	if p.pw != nil {
		err = errors.Join(err, p.pw.Close())
	} else {
		err = errors.Join(err, p.bw.Flush())
	}
	err = errors.Join(err, p.f.Close())
	if err != nil {
		os.Remove(p.f.Name())
		return fmt.Errorf("%s: %w", p.path, err)
	}
	return os.Rename(p.f.Name(), p.path)
}
