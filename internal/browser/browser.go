// Package browser drives headless Chromium over the DevTools protocol, for
// tests only: it opens a page, records what the page complained of (console
// errors, uncaught exceptions, policy violations) and every request it
// made, evaluates scripts in it, clicks, scrolls and takes screenshots.
//
// It speaks the protocol over the pipe Chromium opens with
// --remote-debugging-pipe (file descriptors 3 and 4, one JSON message per
// NUL-terminated record), so it needs no port, no WebSocket and no
// dependency. Chromium starts with a fresh profile and every background
// service off: it reaches for no network of its own.
package browser

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// Find returns the path of a Chromium binary on $PATH.
func Find() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium, chromium-browser or google-chrome on $PATH (Debian: apt-get install chromium)")
}

// Require returns Chromium's path, or skips t with the reason; with
// NETLAB_REQUIRE=1 in the environment (CI) it fails t instead, so that the
// browser tests cannot silently stop running.
func Require(t testing.TB) string {
	t.Helper()
	path, err := Find()
	if err == nil {
		return path
	}
	if os.Getenv("NETLAB_REQUIRE") == "1" {
		t.Fatalf("browser: %v (NETLAB_REQUIRE=1)", err)
	}
	t.Skipf("browser: %v", err)
	return ""
}

// Timeout bounds every wait for the browser: a hung browser fails the
// test rather than hanging it. Nothing is asserted about how fast it is.
var Timeout = 2 * time.Minute

// Browser is a running headless Chromium.
type Browser struct {
	cmd    *exec.Cmd
	toB    *os.File
	fromB  *os.File
	stderr strings.Builder

	mu       sync.Mutex
	nextID   int
	pending  map[int]chan message
	sessions map[string]*Page
	readErr  error
	done     chan struct{}
}

type message struct {
	ID        int             `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *protocolError  `json:"error,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
}

type protocolError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Start starts Chromium at path with the profile directory profile, which
// should be new and empty.
func Start(path, profile string) (*Browser, error) {
	toR, toW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	fromR, fromW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
		"--user-data-dir="+profile, "--remote-debugging-pipe", "about:blank")
	cmd.ExtraFiles = []*os.File{toR, fromW} // fds 3 and 4
	b := &Browser{cmd: cmd, toB: toW, fromB: fromR, pending: map[int]chan message{}, sessions: map[string]*Page{}, done: make(chan struct{})}
	cmd.Stderr = &lockedWriter{b: &b.stderr, mu: &b.mu}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("browser: start %s: %w", path, err)
	}
	toR.Close()
	fromW.Close()
	go b.read()
	return b, nil
}

type lockedWriter struct {
	b  *strings.Builder
	mu *sync.Mutex
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// read delivers the browser's messages: answers to their callers, events
// to their pages.
func (b *Browser) read() {
	defer close(b.done)
	r := bufio.NewReaderSize(b.fromB, 1<<20)
	for {
		rec, err := r.ReadBytes(0)
		if err != nil {
			b.mu.Lock()
			b.readErr = fmt.Errorf("browser: the pipe from chromium closed: %w", err)
			for id, ch := range b.pending {
				close(ch)
				delete(b.pending, id)
			}
			b.mu.Unlock()
			return
		}
		var m message
		if err := json.Unmarshal(rec[:len(rec)-1], &m); err != nil {
			continue
		}
		b.mu.Lock()
		if m.ID != 0 {
			if ch := b.pending[m.ID]; ch != nil {
				delete(b.pending, m.ID)
				ch <- m
			}
		} else if p := b.sessions[m.SessionID]; p != nil {
			p.events = append(p.events, m)
			select {
			case p.notify <- struct{}{}:
			default:
			}
		}
		b.mu.Unlock()
	}
}

// call sends one command and waits for its answer, decoded into result
// when result is not nil.
func (b *Browser) call(session, method string, params, result any) error {
	raw, err := json.Marshal(params)
	if err != nil {
		return err
	}
	ch := make(chan message, 1)
	b.mu.Lock()
	if b.readErr != nil {
		b.mu.Unlock()
		return b.readErr
	}
	b.nextID++
	id := b.nextID
	b.pending[id] = ch
	b.mu.Unlock()
	msg, _ := json.Marshal(message{ID: id, Method: method, Params: raw, SessionID: session})
	if _, err := b.toB.Write(append(msg, 0)); err != nil {
		return fmt.Errorf("browser: %s: %w", method, err)
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return fmt.Errorf("browser: %s: %v; chromium said: %s", method, b.readErr, b.Stderr())
		}
		if m.Error != nil {
			return fmt.Errorf("browser: %s: %s (%d)", method, m.Error.Message, m.Error.Code)
		}
		if result != nil {
			return json.Unmarshal(m.Result, result)
		}
		return nil
	case <-time.After(Timeout):
		return fmt.Errorf("browser: %s: no answer in %v", method, Timeout)
	}
}

// Stderr is what Chromium wrote to its standard error.
func (b *Browser) Stderr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stderr.String()
}

// Close stops Chromium, the process this package started.
func (b *Browser) Close() error {
	_ = b.call("", "Browser.close", struct{}{}, nil)
	b.toB.Close()
	waited := make(chan error, 1)
	go func() { waited <- b.cmd.Wait() }()
	select {
	case <-waited:
	case <-time.After(Timeout):
		b.cmd.Process.Kill()
		<-waited
	}
	b.fromB.Close()
	return nil
}

// Page is one tab.
type Page struct {
	b       *Browser
	session string
	events  []message // guarded by b.mu
	notify  chan struct{}
	seen    int // events already looked at by waitEvent
}

// NewPage opens a blank tab whose viewport is width by height CSS pixels,
// with the console, the log, exceptions and the network watched.
func (b *Browser) NewPage(width, height int) (*Page, error) {
	var target struct {
		TargetID string `json:"targetId"`
	}
	if err := b.call("", "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		return nil, err
	}
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.call("", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached); err != nil {
		return nil, err
	}
	p := &Page{b: b, session: attached.SessionID, notify: make(chan struct{}, 1)}
	b.mu.Lock()
	b.sessions[p.session] = p
	b.mu.Unlock()
	for _, m := range []string{"Page.enable", "Runtime.enable", "Log.enable", "Network.enable"} {
		if err := p.call(m, struct{}{}, nil); err != nil {
			return nil, err
		}
	}
	err := p.call("Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}, nil)
	return p, err
}

func (p *Page) call(method string, params, result any) error {
	return p.b.call(p.session, method, params, result)
}

// Navigate loads url and waits for its load event.
func (p *Page) Navigate(url string) error {
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	p.b.mu.Lock()
	p.seen = len(p.events)
	p.b.mu.Unlock()
	if err := p.call("Page.navigate", map[string]any{"url": url}, &nav); err != nil {
		return err
	}
	if nav.ErrorText != "" {
		return fmt.Errorf("browser: navigate %s: %s", url, nav.ErrorText)
	}
	return p.waitEvent("Page.loadEventFired")
}

func (p *Page) waitEvent(method string) error {
	deadline := time.After(Timeout)
	for {
		p.b.mu.Lock()
		for ; p.seen < len(p.events); p.seen++ {
			if p.events[p.seen].Method == method {
				p.seen++
				p.b.mu.Unlock()
				return nil
			}
		}
		p.b.mu.Unlock()
		select {
		case <-p.notify:
		case <-p.b.done:
			return fmt.Errorf("browser: waiting for %s: chromium went away: %s", method, p.b.Stderr())
		case <-deadline:
			return fmt.Errorf("browser: no %s in %v", method, Timeout)
		}
	}
}

// Eval evaluates a JavaScript expression in the page, awaiting it if it is
// a promise, and decodes its value (JSON-serialisable) into out, which may
// be nil.
func (p *Page) Eval(expr string, out any) error {
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	err := p.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &r)
	if err != nil {
		return err
	}
	if e := r.ExceptionDetails; e != nil {
		return fmt.Errorf("browser: evaluating %q: %s %s", expr, e.Text, e.Exception.Description)
	}
	if out == nil || len(r.Result.Value) == 0 {
		return nil
	}
	return json.Unmarshal(r.Result.Value, out)
}

// Move moves the mouse to (x, y), in CSS pixels of the viewport.
func (p *Page) Move(x, y float64) error {
	return p.call("Input.dispatchMouseEvent", map[string]any{"type": "mouseMoved", "x": x, "y": y, "button": "none"}, nil)
}

// Click moves to (x, y), then presses and releases the left button there,
// as a person's click does: the page sees pointer, mouse and click events.
func (p *Page) Click(x, y float64) error {
	if err := p.Move(x, y); err != nil {
		return err
	}
	for _, typ := range []string{"mousePressed", "mouseReleased"} {
		params := map[string]any{"type": typ, "x": x, "y": y, "button": "left", "clickCount": 1}
		if err := p.call("Input.dispatchMouseEvent", params, nil); err != nil {
			return err
		}
	}
	return nil
}

// Wheel turns the mouse wheel at (x, y) by deltaY pixels (negative: up).
func (p *Page) Wheel(x, y, deltaY float64) error {
	return p.call("Input.dispatchMouseEvent", map[string]any{"type": "mouseWheel", "x": x, "y": y, "deltaX": 0, "deltaY": deltaY}, nil)
}

// Screenshot takes a PNG of the viewport.
func (p *Page) Screenshot() ([]byte, error) {
	var r struct {
		Data string `json:"data"`
	}
	if err := p.call("Page.captureScreenshot", map[string]any{"format": "png"}, &r); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(r.Data)
}

// ScreenshotOf takes a PNG of what the element selector names shows in
// the viewport now (its visible part, clipped to the viewport), scrolled
// into view first if none of it is in view.
func (p *Page) ScreenshotOf(selector string) ([]byte, error) {
	var r struct{ X, Y, Width, Height float64 }
	sel, _ := json.Marshal(selector)
	err := p.Eval(`(() => {
		// An element out of view would give a clip of no height, which
		// Chromium never answers: bring it into view first.
		const el = document.querySelector(`+string(sel)+`);
		let b = el.getBoundingClientRect();
		if (b.top >= innerHeight || b.bottom <= 0) {
			el.scrollIntoView({block: 'start'});
			b = el.getBoundingClientRect();
		}
		const x = Math.max(b.left, 0), y = Math.max(b.top, 0);
		return {X: x + scrollX, Y: y + scrollY, Width: Math.min(b.right, innerWidth) - x, Height: Math.min(b.bottom, innerHeight) - y};
	})()`, &r)
	if err != nil {
		return nil, err
	}
	var shot struct {
		Data string `json:"data"`
	}
	clip := map[string]any{"x": r.X, "y": r.Y, "width": r.Width, "height": r.Height, "scale": 1}
	if err := p.call("Page.captureScreenshot", map[string]any{"format": "png", "clip": clip}, &shot); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(shot.Data)
}

// Problems lists what the page complained of so far: console errors and
// warnings, uncaught exceptions, and the log's errors and warnings (where
// Chromium reports Content-Security-Policy violations and failed loads).
func (p *Page) Problems() []string {
	p.b.mu.Lock()
	defer p.b.mu.Unlock()
	var out []string
	for _, m := range p.events {
		switch m.Method {
		case "Runtime.consoleAPICalled":
			var e struct {
				Type string `json:"type"`
				Args []struct {
					Value       any    `json:"value"`
					Description string `json:"description"`
				} `json:"args"`
			}
			if json.Unmarshal(m.Params, &e) == nil && (e.Type == "error" || e.Type == "warning" || e.Type == "assert") {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, fmt.Sprint(a.Value, a.Description))
				}
				out = append(out, "console."+e.Type+": "+strings.Join(parts, " "))
			}
		case "Runtime.exceptionThrown":
			out = append(out, "exception: "+string(m.Params))
		case "Log.entryAdded":
			var e struct {
				Entry struct {
					Level, Source, Text, URL string
				} `json:"entry"`
			}
			if json.Unmarshal(m.Params, &e) == nil && (e.Entry.Level == "error" || e.Entry.Level == "warning") {
				out = append(out, "log "+e.Entry.Level+" ("+e.Entry.Source+"): "+e.Entry.Text+" "+e.Entry.URL)
			}
		}
	}
	return out
}

// Requests lists the URLs the page asked for, the page itself included.
func (p *Page) Requests() []string {
	p.b.mu.Lock()
	defer p.b.mu.Unlock()
	var out []string
	for _, m := range p.events {
		if m.Method != "Network.requestWillBeSent" {
			continue
		}
		var e struct {
			Request struct {
				URL string `json:"url"`
			} `json:"request"`
		}
		if json.Unmarshal(m.Params, &e) == nil {
			out = append(out, e.Request.URL)
		}
	}
	return out
}
