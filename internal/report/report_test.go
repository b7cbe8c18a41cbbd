package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/tcplens/tcplens/internal/analyze"
	"github.com/tcplens/tcplens/internal/diagnose"
	"github.com/tcplens/tcplens/internal/pcap"
)

// hostile are strings a capture or its file name can carry, each trying
// to break out of where the page puts it: text, attribute, script,
// style, JSON, comment.
var hostile = []string{
	`<script>alert("text")</script>`,
	`"><img src=x onerror=alert('attr')>`,
	`</script><script>alert('script')</script>`,
	`</style><style>body{display:none}</style>`,
	`\u003c/script\u003e"},{"rows":[]}`,
	`<!-- --><svg onload=alert('svg')>`,
	"\x00\x1b[31m\xff\xfe bad bytes",
	`javascript:alert('href')`,
}

func hostileReport() *Report {
	h := strings.Join(hostile, " ")
	rep := &diagnose.Report{Stats: analyze.Stats{Frames: 3, Segments: 2, Links: map[pcap.LinkType]int{1: 3}}}
	c := diagnose.Conn{Facts: &diagnose.Facts{}}
	c.ID = 1
	c.Client.Addr = netip.MustParseAddrPort("192.0.2.1:40000")
	c.Server.Addr = netip.MustParseAddrPort("[2001:db8::1]:443")
	c.Close, c.ZeekState, c.ZeekHistory = "none", h, h
	rep.Conns = []diagnose.Conn{c}
	rep.Findings = []diagnose.Finding{
		{ID: h, Severity: diagnose.Error, Conn: 1, Frames: []int{1, 2}, Title: h, Explanation: h, Advice: h},
		{ID: "capture-wide", Severity: diagnose.Warning, Title: h, Explanation: h},
	}
	return &Report{
		Files:     []File{{Name: h + ".pcapng", Format: "pcapng", Interfaces: []Interface{{Name: h, Link: 1}}}},
		Diagnosis: rep,
		Chosen:    h,
		Version:   h,
	}
}

// TestHostileStrings writes a report whose every string from a capture is
// hostile and reads it back as a browser would: the page's own script and
// data are the only scripts, no element has an event handler, a URL or a
// style of its own, and the hostile strings come back whole as text.
func TestHostileStrings(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, hostileReport()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, bad := range []string{"<script>alert", "<img", "<svg onload", "</style><style>"} {
		if strings.Contains(out, bad) {
			t.Errorf("the page holds %q unescaped", bad)
		}
	}

	doc, err := html.Parse(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	var scripts, styles []*html.Node
	var texts strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode && (n.Parent == nil || n.Parent.Data != "script" && n.Parent.Data != "style") {
			texts.WriteString(n.Data)
		}
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script":
				scripts = append(scripts, n)
			case "style":
				styles = append(styles, n)
			case "img", "iframe", "object", "embed", "link", "base", "form":
				t.Errorf("the page has a <%s> element", n.Data)
			}
			for _, a := range n.Attr {
				key := strings.ToLower(a.Key)
				if strings.HasPrefix(key, "on") || key == "style" || key == "src" || key == "srcdoc" ||
					(key == "href" && !strings.HasPrefix(a.Val, "#")) {
					t.Errorf("<%s %s=%q>: the page's elements have no handlers, styles, sources or outside links", n.Data, a.Key, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)

	if len(scripts) != 2 || len(styles) != 1 {
		t.Fatalf("%d scripts and %d style sheets, want the table's data, the page's script and its style sheet", len(scripts), len(styles))
	}
	var data table
	if err := json.Unmarshal([]byte(scripts[0].FirstChild.Data), &data); err != nil || len(data.Rows) != 1 {
		t.Errorf("the table's data does not parse as its one row: %v", err)
	} else if zeek := data.Rows[0][11].(string); !strings.Contains(zeek, hostile[2]) {
		t.Errorf("the table's data lost the hostile string: %q", zeek)
	}
	js := scripts[1].FirstChild.Data
	if js != pageJS {
		t.Error("the page's script is not exactly report.js")
	}

	// The policy admits the page's script and style sheet by hash, and
	// nothing else.
	policy := ""
	var find func(n *html.Node)
	find = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "meta" {
			var equiv, content string
			for _, a := range n.Attr {
				switch a.Key {
				case "http-equiv":
					equiv = a.Val
				case "content":
					content = a.Val
				}
			}
			if equiv == "Content-Security-Policy" {
				policy = content
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			find(c)
		}
	}
	find(doc)
	for _, want := range []string{"default-src 'none'", "script-src " + sha(js) + ";", "style-src " + sha(styles[0].FirstChild.Data) + ";", "base-uri 'none'", "form-action 'none'"} {
		if !strings.Contains(policy, want) {
			t.Errorf("the policy %q lacks %q", policy, want)
		}
	}

	// What the capture said is there, as text.
	visible := texts.String()
	for _, h := range hostile[:4] {
		if !strings.Contains(visible, h) {
			t.Errorf("the page's text lost %q", h)
		}
	}
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}
