// Package exporttest reads back what tcplens export wrote, for tests: a
// dataset's tables as sorted rows, whichever the format, so that two
// exports compare row for row.
package exporttest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/tcplens/tcplens/internal/export"
)

// Dataset is every table of an export, each row as its JSON text, sorted.
type Dataset struct {
	Connections, Findings, Transitions, Segments []string
}

// Read reads the dataset under dir.
func Read(t testing.TB, dir string) Dataset {
	t.Helper()
	return Dataset{
		Connections: Table[export.Connection](t, dir, export.TableConnections),
		Findings:    Table[export.Finding](t, dir, export.TableFindings),
		Transitions: Table[export.Transition](t, dir, export.TableTransitions),
		Segments:    Table[export.Segment](t, dir, export.TableSegments),
	}
}

// Table reads every file of one table, each row as its JSON text (the
// same for a Parquet row and a JSON lines one), sorted. A file that is
// neither, a temporary file left behind included, fails the test.
func Table[T any](t testing.TB, dir, table string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join(dir, table), func(path string, d os.DirEntry, err error) error {
		if os.IsNotExist(err) && path == filepath.Join(dir, table) {
			return filepath.SkipDir // no such table: no rows
		}
		if err != nil || d.IsDir() {
			return err
		}
		switch filepath.Ext(path) {
		case ".parquet":
			rows, err := parquet.ReadFile[T](path)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			for i := range rows {
				b, err := json.Marshal(&rows[i])
				if err != nil {
					return err
				}
				out = append(out, string(b))
			}
		case ".jsonl":
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
				// Read into the row type and written again, so that both
				// formats compare alike.
				var row T
				if err := json.Unmarshal([]byte(l), &row); err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				b, err := json.Marshal(&row)
				if err != nil {
					return err
				}
				out = append(out, string(b))
			}
		default:
			return fmt.Errorf("%s: a file that is not the dataset's", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// Diff describes how two datasets differ, table by table, or is "".
func Diff(got, want Dataset) string {
	var b strings.Builder
	for _, tc := range []struct {
		table     string
		got, want []string
	}{
		{export.TableConnections, got.Connections, want.Connections},
		{export.TableFindings, got.Findings, want.Findings},
		{export.TableTransitions, got.Transitions, want.Transitions},
		{export.TableSegments, got.Segments, want.Segments},
	} {
		if slices.Equal(tc.got, tc.want) {
			continue
		}
		fmt.Fprintf(&b, "%s: %d rows against %d; first difference:\n", tc.table, len(tc.got), len(tc.want))
		for i := range max(len(tc.got), len(tc.want)) {
			var g, w string
			if i < len(tc.got) {
				g = tc.got[i]
			}
			if i < len(tc.want) {
				w = tc.want[i]
			}
			if g != w {
				fmt.Fprintf(&b, "  got:  %s\n  want: %s\n", g, w)
				break
			}
		}
	}
	return b.String()
}
