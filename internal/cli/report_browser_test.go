package cli

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcplens/tcplens/internal/browser"
	"github.com/tcplens/tcplens/internal/testcap"
)

// TestReportInBrowser opens reports in headless Chromium, as a person
// would: the page must render with no console error, no exception, no
// policy violation and no request beyond itself; the table, the findings
// and the pictures must be there; a click on a graph's mark must scroll
// the ladder to that segment; the mouse wheel must zoom; the connection
// table must fit the 1280-px window, IPv6 addresses too. Screenshots go
// to the test's artifact directory (go test -artifacts keeps them).
//
// TCPLENS_BROWSER_CAPTURE=FILE adds a report of FILE (a large capture, for
// BENCHMARKS.md): the same checks, and how long each step took, logged.
func TestReportInBrowser(t *testing.T) {
	chromium := browser.Require(t)
	b, err := browser.Start(chromium, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	cases := []struct{ name, capture string }{
		{"demo", ""},
		{"fast-retransmit", filepath.Join(testdata, "kernel", "fast-retransmit.pcap")},
		{"zero-window", filepath.Join(testdata, "kernel", "zero-window.pcap")},
		{"ipv6", filepath.Join(testdata, "kernel", "client-close-ipv6.pcap")},
		{"ipv6-long", longIPv6Capture(t)},
		{"hostile", hostileCapture(t)},
		{"100k-segments", longCapture(t)},
	}
	if big := os.Getenv("TCPLENS_BROWSER_CAPTURE"); big != "" {
		cases = append(cases, struct{ name, capture string }{"large", big})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			page := filepath.Join(t.TempDir(), "report.html")
			args := []string{"report", "-o", page}
			if tc.capture != "" {
				args = append(args, tc.capture)
			}
			began := time.Now()
			if _, stderr, code := run(t, nil, args...); code != 0 {
				t.Fatalf("tcplens %s: exit %d: %s", strings.Join(args, " "), code, stderr)
			}
			t.Logf("report written in %v", time.Since(began))
			checkReportPage(t, b, page)
		})
	}
}

// pageFacts is what the page shows once loaded.
type pageFacts struct {
	Conns, Rows, Groups, Details, Open int
	Ladders, TSGs, Windows, RTTs       int
	Scripts                            int
	CSP                                string
}

func checkReportPage(t *testing.T, b *browser.Browser, path string) {
	p, err := b.NewPage(1280, 900)
	if err != nil {
		t.Fatal(err)
	}
	url := "file://" + path
	began := time.Now()
	if err := p.Navigate(url); err != nil {
		t.Fatal(err)
	}
	t.Logf("page loaded in %v", time.Since(began))
	shot(t, p, "overview.png")
	checkTableFits(t, p)

	var f pageFacts
	must(t, p.Eval(`(() => {
		const n = s => document.querySelectorAll(s).length;
		return {Conns: JSON.parse(document.getElementById('conn-data').textContent).rows.length,
			Rows: n('#conn-table tbody tr'), Groups: n('#findings details.group'),
			Details: n('details.conn'), Open: n('details.conn[open]'),
			Ladders: n('details.conn svg.ladder'), TSGs: n('details.conn svg.tsg'),
			Windows: n('details.conn svg.window'), RTTs: n('details.conn svg.rtt'),
			Scripts: n('script'),
			CSP: document.querySelector('meta[http-equiv="Content-Security-Policy"]').content};
	})()`, &f))
	t.Logf("%+v", f)
	if f.Conns == 0 || f.Rows != min(f.Conns, 200) {
		t.Errorf("the table shows %d rows of %d connections, want min(%d, 200)", f.Rows, f.Conns, f.Conns)
	}
	if f.Details == 0 || f.Open != 1 || f.Ladders != f.Details || f.TSGs != f.Details || f.Windows != f.Details || f.RTTs != f.Details {
		t.Errorf("pictures: %d connections, %d open, %d ladders, %d tsg, %d window, %d rtt; want as many of each as connections, one open",
			f.Details, f.Open, f.Ladders, f.TSGs, f.Windows, f.RTTs)
	}
	if f.Scripts != 2 || !strings.Contains(f.CSP, "default-src 'none'") || !strings.Contains(f.CSP, "script-src 'sha256-") {
		t.Errorf("%d scripts (want the data and the page's own), policy %q", f.Scripts, f.CSP)
	}

	// The connection with the longest ladder: the hardest to draw and to
	// scroll.
	must(t, p.Eval(`(() => {
		let best = null, most = -1;
		for (const sec of document.querySelectorAll('details.conn')) {
			const n = sec.querySelectorAll('.ladder .row').length;
			if (n > most) [best, most] = [sec, n];
		}
		for (const sec of document.querySelectorAll('details.conn[open]')) sec.open = false;
		best.open = true;
		best.dataset.checked = 'yes';
	})()`, nil))
	checkJump(t, p)
	checkZoom(t, p)
	checkTable(t, p, f.Conns)

	if probs := p.Problems(); len(probs) > 0 {
		t.Errorf("the page complained:\n%s", strings.Join(probs, "\n"))
	}
	for _, r := range p.Requests() {
		if r != url {
			t.Errorf("the page asked for %s; it must ask for nothing", r)
		}
	}
}

// checkJump clicks a mark of the open connection's time-sequence graph,
// the last whose centre is not covered by another, and checks that the
// ladder scrolled to its step and that the tooltip tells its frame.
func checkJump(t *testing.T, p *browser.Page) {
	var mark struct {
		Frame int
		X, Y  float64
	}
	must(t, p.Eval(`(() => {
		const sec = document.querySelector('details.conn[data-checked]');
		const marks = Array.from(sec.querySelectorAll('svg.tsg .plot [data-f]')).reverse();
		for (const m of marks) {
			m.scrollIntoView({block: 'center'});
			const r = m.getBoundingClientRect();
			const x = r.left + r.width / 2, y = r.top + r.height / 2;
			if (document.elementFromPoint(x, y) === m) return {Frame: +m.dataset.f, X: x, Y: y};
		}
		return {Frame: 0};
	})()`, &mark))
	if mark.Frame == 0 {
		t.Fatal("no mark of the time-sequence graph can be clicked")
	}
	must(t, p.Move(mark.X, mark.Y))
	var tip string
	must(t, p.Eval(`document.getElementById('tip').hidden ? '' : document.getElementById('tip').textContent`, &tip))
	if !strings.Contains(tip, fmt.Sprintf("frame %d ", mark.Frame)) {
		t.Errorf("the tooltip over frame %d's mark says %q", mark.Frame, tip)
	}
	began := time.Now()
	must(t, p.Click(mark.X, mark.Y))
	var got struct {
		Frame                          int
		Top, Bottom, BoxTop, BoxBottom float64
		Scroll, RowY, BoxHeight, View  float64
	}
	must(t, p.Eval(`(() => {
		const sec = document.querySelector('details.conn[data-checked]');
		const row = sec.querySelector('.ladder .row.sel');
		if (!row) return {Frame: 0};
		const box = sec.querySelector('.ladder-box');
		const r = row.getBoundingClientRect(), b = box.getBoundingClientRect();
		return {Frame: +row.dataset.f, Top: r.top, Bottom: r.bottom, BoxTop: b.top, BoxBottom: b.bottom,
			Scroll: box.scrollTop, RowY: +row.dataset.y, BoxHeight: box.clientHeight, View: innerHeight};
	})()`, &got))
	t.Logf("clicked frame %d's mark: ladder at frame %d, scrolled %.0f px, in %v", mark.Frame, got.Frame, got.Scroll, time.Since(began))
	if got.Frame != mark.Frame {
		t.Fatalf("clicking frame %d's mark selected ladder step %d", mark.Frame, got.Frame)
	}
	if got.Top < got.BoxTop || got.Bottom > got.BoxBottom || got.Top < 0 || got.Bottom > got.View {
		t.Errorf("the selected step is at %.0f-%.0f px, outside the ladder's box (%.0f-%.0f) or the window (0-%.0f)",
			got.Top, got.Bottom, got.BoxTop, got.BoxBottom, got.View)
	}
	if got.RowY > got.BoxHeight && got.Scroll == 0 {
		t.Errorf("the step is %.0f px down a %.0f px box, and the box did not scroll", got.RowY, got.BoxHeight)
	}
	shot(t, p, "ladder-after-click.png")
	shotOf(t, p, "details.conn[data-checked] .ladder-box", "ladder-box.png")
	checkJumpNearest(t, p)
	must(t, p.Eval(`document.querySelector('details.conn[data-checked] svg.tsg').scrollIntoView({block: 'start'})`, nil))
	shot(t, p, "pictures.png")
	shotOf(t, p, "details.conn[data-checked] svg.tsg", "tsg.png")
}

// checkJumpNearest clicks, when the ladder leaves segments out, a mark
// whose segment it left out: the ladder must go to the nearest step it
// shows and say so.
func checkJumpNearest(t *testing.T, p *browser.Page) {
	var mark struct {
		Frame, Nearest int
		X, Y           float64
	}
	must(t, p.Eval(`(() => {
		const sec = document.querySelector('details.conn[data-checked]');
		const shown = Array.from(sec.querySelectorAll('.ladder .row[data-f]'), r => +r.dataset.f);
		const marks = Array.from(sec.querySelectorAll('svg.tsg .plot .data[data-f]')).filter(m => !shown.includes(+m.dataset.f));
		for (const m of marks.slice(Math.floor(marks.length / 2))) {
			m.scrollIntoView({block: 'center'});
			const r = m.getBoundingClientRect();
			const x = r.left + r.width / 2, y = r.top + r.height / 2;
			// Marks of a dense graph overlap: the one on top is clicked.
			const top = document.elementFromPoint(x, y);
			if (!top || !top.matches('.plot .data[data-f]') || shown.includes(+top.dataset.f)) continue;
			const f = +top.dataset.f;
			const nearest = shown.reduce((a, b) => Math.abs(b - f) < Math.abs(a - f) ? b : a);
			return {Frame: f, Nearest: nearest, X: x, Y: y};
		}
		return {Frame: 0};
	})()`, &mark))
	if mark.Frame == 0 {
		return // the ladder shows every segment
	}
	must(t, p.Click(mark.X, mark.Y))
	var got struct {
		Frame int
		Note  string
	}
	must(t, p.Eval(`(() => {
		const sec = document.querySelector('details.conn[data-checked]');
		const row = sec.querySelector('.ladder .row.sel'), note = sec.querySelector('.jump-note');
		return {Frame: row ? +row.dataset.f : 0, Note: note ? note.textContent : ''};
	})()`, &got))
	t.Logf("clicked frame %d's mark, which the ladder leaves out: ladder at frame %d: %q", mark.Frame, got.Frame, got.Note)
	if got.Frame != mark.Nearest || !strings.Contains(got.Note, fmt.Sprintf("Frame %d is not in the ladder", mark.Frame)) {
		t.Errorf("clicking frame %d's mark, left out of the ladder, selected step %d (want the nearest, %d) and said %q",
			mark.Frame, got.Frame, mark.Nearest, got.Note)
	}
}

// checkZoom turns the wheel over the open connection's time-sequence
// graph and checks the plot zoomed and its axis was redrawn.
func checkZoom(t *testing.T, p *browser.Page) {
	var at struct {
		X, Y      float64
		Label, At string
	}
	must(t, p.Eval(`(() => {
		const plot = document.querySelector('details.conn[data-checked] svg.tsg .plot');
		plot.ownerSVGElement.scrollIntoView({block: 'center'});
		// The frame, not the plot, whose box grows with what is drawn
		// beyond it and clipped.
		const r = plot.ownerSVGElement.querySelector('.frame').getBoundingClientRect();
		const x = r.left + r.width * 0.7, y = r.top + r.height / 2, at = document.elementFromPoint(x, y);
		return {X: x, Y: y, Label: plot.ownerSVGElement.querySelector('.xaxis').textContent,
			At: at ? at.tagName + '.' + at.getAttribute('class') : 'nothing'};
	})()`, &at))
	for range 3 {
		must(t, p.Wheel(at.X, at.Y, -120))
	}
	var after struct{ ViewBox, Label string }
	must(t, p.Eval(`(() => {
		const plot = document.querySelector('details.conn[data-checked] svg.tsg .plot');
		return {ViewBox: plot.getAttribute('viewBox'), Label: plot.ownerSVGElement.querySelector('.xaxis').textContent};
	})()`, &after))
	if after.ViewBox == "0 0 10000 10000" || after.Label == at.Label {
		t.Errorf("after three turns of the wheel at (%.0f, %.0f), over %s, the plot's viewBox is %q and its time axis %q (was %q)",
			at.X, at.Y, at.At, after.ViewBox, after.Label, at.Label)
	}
}

// longIPv6Capture is client-close-ipv6.pcap with addresses of eight
// groups of four digits, as wide as an IPv6 address gets. Each stands in
// for one with the same one's-complement sum, so every checksum stays as
// captured.
func longIPv6Capture(t *testing.T) string {
	t.Helper()
	frames, err := testcap.ReadFile(filepath.Join(testdata, "kernel", "client-close-ipv6.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	var swap [][2][]byte
	for i, a := range []string{"fd00:77::1", "fd00:77::2"} {
		from := netip.MustParseAddr(a).As16()
		to := [16]byte{0x20, 0x01, 0x0d, 0xb8, 0x85, 0xa3, 0x1f, 0x2e, 0x9c, 0x4b, 0x6d, 0x0a, 0x3b, 0x70 + byte(i)}
		// The last group makes up the difference: from's sum less to's
		// so far, in one's complement.
		var sum uint32
		for j := 0; j < 16; j += 2 {
			sum += uint32(binary.BigEndian.Uint16(from[j:])) + uint32(^binary.BigEndian.Uint16(to[j:]))
		}
		for sum > 0xffff {
			sum = sum&0xffff + sum>>16
		}
		binary.BigEndian.PutUint16(to[14:], uint16(sum))
		swap = append(swap, [2][]byte{from[:], to[:]})
	}
	for i := range frames {
		for _, s := range swap {
			frames[i].Data = bytes.ReplaceAll(frames[i].Data, s[0], s[1])
		}
	}
	return writeCapture(t, "long-ipv6.pcapng", "", frames)
}

// checkTableFits checks that the connection table fits its box in the
// page's 1280-px window: wider, its last columns are cut off or hide
// behind a scrollbar, and the findings column, the one that matters
// most, goes first. The longest address, IPv6, must wrap rather than
// stretch the table.
func checkTableFits(t *testing.T, p *browser.Page) {
	var got struct {
		View, Page, Box, BoxScroll, Table int
		Cols                              []string
	}
	must(t, p.Eval(`(() => {
		const box = document.querySelector('.table-box'), table = document.getElementById('conn-table');
		return {View: innerWidth, Page: document.documentElement.scrollWidth,
			Box: box.clientWidth, BoxScroll: box.scrollWidth, Table: table.scrollWidth,
			Cols: Array.from(table.tHead.rows[0].cells, th => th.innerText.replace(/\s+/g, ' ') + ' ' + Math.round(th.getBoundingClientRect().width))};
	})()`, &got))
	shotOf(t, p, ".table-box", "table.png")
	t.Logf("at %d px: the table is %d px wide in a %d px box; columns %s", got.View, got.Table, got.Box, strings.Join(got.Cols, ", "))
	if got.Table > got.Box || got.BoxScroll > got.Box || got.Page > got.View {
		t.Errorf("at %d px the connection table is %d px wide (its box scrolls %d px) in a %d px box, the page %d px: it overflows",
			got.View, got.Table, got.BoxScroll, got.Box, got.Page)
	}
}

// checkTable filters the connection table and sorts it.
func checkTable(t *testing.T, p *browser.Page, conns int) {
	var got struct {
		None, All     int
		Count         string
		First, Second float64
	}
	began := time.Now()
	must(t, p.Eval(`(() => {
		const filter = document.getElementById('conn-filter');
		const rows = () => document.querySelectorAll('#conn-table tbody tr').length;
		filter.value = 'no-such-thing-anywhere';
		filter.dispatchEvent(new Event('input'));
		const none = rows(), count = document.getElementById('conn-count').textContent;
		filter.value = '';
		filter.dispatchEvent(new Event('input'));
		const th = document.querySelector('#conn-table th[data-key="dur"]');
		th.click();
		th.click();
		const durs = Array.from(document.querySelectorAll('#conn-table tbody tr')).slice(0, 2).map(tr => tr.cells[4].textContent);
		const secs = s => parseFloat(s) * ({s: 1, ms: 1e-3, 'µs': 1e-6, ns: 1e-9})[s.split(' ')[1]];
		return {None: none, All: rows(), Count: count, First: secs(durs[0]), Second: durs[1] ? secs(durs[1]) : 0};
	})()`, &got))
	t.Logf("filtered and sorted %d connections twice in %v", conns, time.Since(began))
	if got.None != 0 || got.All != min(conns, 200) {
		t.Errorf("filtering: %d rows for a word in none (%q), %d for none, want 0 and %d", got.None, got.Count, got.All, min(conns, 200))
	}
	if got.First < got.Second {
		t.Errorf("sorted by duration, longest first, the first two rows are %v and %v", got.First, got.Second)
	}
}

func shot(t *testing.T, p *browser.Page, name string) {
	t.Helper()
	png, err := p.Screenshot()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.ArtifactDir(), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

func shotOf(t *testing.T, p *browser.Page, selector, name string) {
	t.Helper()
	png, err := p.ScreenshotOf(selector)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(t.ArtifactDir(), name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
