package dissect_test

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/internal/dissect"
	"github.com/tcplens/tcplens/internal/pcap"
)

// linksDir holds the link-type captures (scripts/linkcaps).
const linksDir = "../../testdata/links"

// tsField says where dissect.Frame shows a field tshark decodes, and how
// tshark prints it.
type tsField struct {
	layers []string // the layer IDs that carry it
	field  string   // the field ID, or ID/sub-ID
	format func(f *dissect.Field) string
	// first: tshark lists the field twice (as itself and as the layer's
	// generic address); compare its first occurrence.
	first bool
}

var (
	dec     = func(f *dissect.Field) string { return strconv.FormatUint(f.RawValue(), 10) }
	hex2    = func(f *dissect.Field) string { return fmt.Sprintf("0x%02x", f.RawValue()) }
	hex4    = func(f *dissect.Field) string { return fmt.Sprintf("0x%04x", f.RawValue()) }
	value   = func(f *dissect.Field) string { return f.Value }
	word    = func(f *dissect.Field) string { v, _, _ := strings.Cut(f.Value, " "); return v }
	le16dec = func(f *dissect.Field) string { return strconv.Itoa(int(binary.LittleEndian.Uint16(f.Raw))) }
)

// linkFields maps the tshark fields of scripts/make-dissect-golden.sh to
// dissect's.
var linkFields = map[string]tsField{
	"eth.len":                {[]string{"ethernet"}, "ethertype", dec, false},
	"eth.dst":                {[]string{"ethernet"}, "dst", value, false},
	"eth.src":                {[]string{"ethernet"}, "src", value, false},
	"vlan.id":                {[]string{"ethernet", "sll", "sll2"}, "vlan_1/vid", dec, false},
	"llc.dsap":               {[]string{"llc"}, "dsap", hex2, false},
	"llc.ssap":               {[]string{"llc"}, "ssap", hex2, false},
	"llc.control":            {[]string{"llc"}, "control", hex4, false},
	"llc.oui":                {[]string{"snap"}, "oui", dec, false},
	"llc.type":               {[]string{"snap"}, "pid", hex4, false},
	"mpls.label":             {[]string{"mpls"}, "label", dec, false},
	"mpls.exp":               {[]string{"mpls"}, "tc", dec, false},
	"mpls.bottom":            {[]string{"mpls"}, "bos", dec, false},
	"mpls.ttl":               {[]string{"mpls"}, "ttl", dec, false},
	"pppoe.version":          {[]string{"pppoe"}, "version", dec, false},
	"pppoe.type":             {[]string{"pppoe"}, "type", dec, false},
	"pppoe.code":             {[]string{"pppoe"}, "code", hex2, false},
	"pppoe.session_id":       {[]string{"pppoe"}, "session_id", hex4, false},
	"pppoe.payload_length":   {[]string{"pppoe"}, "length", dec, false},
	"ppp.address":            {[]string{"ppp"}, "address", hex2, false},
	"ppp.control":            {[]string{"ppp"}, "control", hex2, false},
	"ppp.protocol":           {[]string{"ppp"}, "protocol", hex4, false},
	"chdlc.address":          {[]string{"chdlc"}, "address", hex2, false},
	"chdlc.protocol":         {[]string{"chdlc"}, "protocol", hex4, false},
	"fddi.fc":                {[]string{"fddi"}, "fc", hex2, false},
	"fddi.dst":               {[]string{"fddi"}, "dst", value, true},
	"fddi.src":               {[]string{"fddi"}, "src", value, true},
	"tr.ac":                  {[]string{"token_ring"}, "ac", hex2, false},
	"tr.fc":                  {[]string{"token_ring"}, "fc", hex2, false},
	"tr.dst":                 {[]string{"token_ring"}, "dst", value, false},
	"tr.src":                 {[]string{"token_ring"}, "src", value, true},
	"tr.rif_bytes":           {[]string{"token_ring"}, "rcf", func(f *dissect.Field) string { return strconv.Itoa(int(f.RawValue() >> 8 & 0x1f)) }, false},
	"wlan.fc.ds":             {[]string{"802.11"}, "frame_control", func(f *dissect.Field) string { return fmt.Sprintf("0x%02x", f.Raw[1]&3) }, false},
	"wlan.duration":          {[]string{"802.11"}, "duration", value, false},
	"wlan.da":                {[]string{"802.11"}, "da", value, false},
	"wlan.sa":                {[]string{"802.11"}, "sa", value, false},
	"wlan.seq":               {[]string{"802.11"}, "sequence_control", func(f *dissect.Field) string { return strconv.Itoa(int(binary.LittleEndian.Uint16(f.Raw) >> 4)) }, false},
	"radiotap.length":        {[]string{"radiotap"}, "length", value, false},
	"radiotap.flags":         {[]string{"radiotap"}, "flags", value, false},
	"radiotap.channel.freq":  {[]string{"radiotap"}, "channel", word, false},
	"radiotap.dbm_antsignal": {[]string{"radiotap"}, "dbm_antsignal", word, false},
	"prism.msgcode":          {[]string{"prism"}, "msgcode", value, false},
	"prism.msglen":           {[]string{"prism"}, "msglen", value, false},
	"prism.devname":          {[]string{"prism"}, "devname", value, false},
	"wlancap.length":         {[]string{"avs"}, "length", value, false},
	"wlancap.phytype":        {[]string{"avs"}, "phytype", value, false},
	"wlancap.antenna":        {[]string{"avs"}, "antenna", value, false},
	"wlancap.ssi_type":       {[]string{"avs"}, "ssi_type", value, false},
	"pflog.length":           {[]string{"pflog"}, "length", value, false},
	"pflog.af":               {[]string{"pflog"}, "af", word, false},
	"pflog.action":           {[]string{"pflog"}, "action", value, false},
	"pflog.reason":           {[]string{"pflog"}, "reason", value, false},
	"pflog.ifname":           {[]string{"pflog"}, "ifname", value, false},
	"pflog.ruleset":          {[]string{"pflog"}, "ruleset", value, false},
	"pflog.rulenr":           {[]string{"pflog"}, "rulenr", value, false},
	"pflog.subrulenr":        {[]string{"pflog"}, "subrulenr", value, false},
	"pflog.dir":              {[]string{"pflog"}, "dir", value, false},
	"enc.af":                 {[]string{"enc"}, "af", word, false},
	"enc.spi":                {[]string{"enc"}, "spi", value, false},
	"enc.flags":              {[]string{"enc"}, "flags", value, false},
	"ipnet.version":          {[]string{"ipnet"}, "version", value, false},
	"ipnet.family":           {[]string{"ipnet"}, "family", value, false},
	"ipnet.htype":            {[]string{"ipnet"}, "htype", value, false},
	"ipnet.pktlen":           {[]string{"ipnet"}, "pktlen", value, false},
	"ipnet.ifindex":          {[]string{"ipnet"}, "ifindex", value, false},
	"ipnet.grifindex":        {[]string{"ipnet"}, "grifindex", value, false},
	"ipnet.zsrc":             {[]string{"ipnet"}, "zsrc", value, false},
	"ipnet.zdst":             {[]string{"ipnet"}, "zdst", value, false},
	"nflog.family":           {[]string{"nflog"}, "family", value, false},
	"nflog.version":          {[]string{"nflog"}, "version", value, false},
	"nflog.res_id":           {[]string{"nflog"}, "res_id", value, false},
	"juniper.magic-number":   {[]string{"juniper"}, "magic", func(f *dissect.Field) string { return fmt.Sprintf("0x%06x", f.RawValue()) }, false},
	"juniper.ext_total_len":  {[]string{"juniper"}, "ext_len", value, false},
	"netanalyzer.port":       {[]string{"netanalyzer"}, "header", func(f *dissect.Field) string { return strconv.Itoa(int(binary.LittleEndian.Uint32(f.Raw) >> 14 & 3)) }, false},
	"netanalyzer.framelen": {[]string{"netanalyzer"}, "header", func(f *dissect.Field) string {
		return strconv.Itoa(int(binary.LittleEndian.Uint32(f.Raw) >> 16 & 0xfff))
	}, false},
	"fr.dlci":     {[]string{"frame_relay"}, "address", func(f *dissect.Field) string { return strconv.Itoa(int(f.Raw[0]>>2)<<4 | int(f.Raw[1]>>4)) }, false},
	"fr.nlpid":    {[]string{"frame_relay"}, "nlpid", value, false},
	"atm.vpi":     {[]string{"sunatm"}, "vpi", value, false},
	"atm.vci":     {[]string{"sunatm"}, "vci", value, false},
	"ap1394.type": {[]string{"ap1394"}, "type", value, false},
	"ipoib.type":  {[]string{"ipoib"}, "type", value, false},
	"null.family": {[]string{"loopback"}, "family", word, false},
	"sll.pkttype": {[]string{"sll", "sll2"}, "pkttype", word, false},
	"sll.hatype":  {[]string{"sll", "sll2"}, "hatype", value, false},
	"sll.halen":   {[]string{"sll", "sll2"}, "halen", value, false},
	"sll.ifindex": {[]string{"sll2"}, "ifindex", value, false},
}

// Fields whose tshark value is not a field's but derived from the 802.11
// header's addresses in order, or from an attribute's text.
var (
	wlanAddr = map[string]int{"wlan.ra": 0, "wlan.ta": 1}
)

// occurrences returns what dissect shows of tshark field name in d, one
// string per occurrence, as tshark prints it.
func occurrences(d *dissect.Dissection, name string) []string {
	if i, ok := wlanAddr[name]; ok {
		for _, l := range d.Layers {
			if l.ID != "802.11" {
				continue
			}
			n := 0
			for _, f := range l.Fields {
				if strings.HasPrefix(f.Label, "address ") {
					if n == i {
						return []string{f.Value}
					}
					n++
				}
			}
		}
		return nil
	}
	if name == "nflog.prefix" {
		for _, l := range d.Layers {
			for _, f := range l.Fields {
				if l.ID == "nflog" && f.Label == "prefix" {
					s, _ := strconv.Unquote(f.Value)
					return []string{s}
				}
			}
		}
		return nil
	}
	spec := linkFields[name]
	id, subID, _ := strings.Cut(spec.field, "/")
	var out []string
	for _, l := range d.Layers {
		if !contains(spec.layers, l.ID) {
			continue
		}
		for i := range l.Fields {
			f := &l.Fields[i]
			if f.ID != id {
				continue
			}
			if subID != "" {
				for j := range f.Fields {
					if f.Fields[j].ID == subID {
						out = append(out, spec.format(&f.Fields[j]))
					}
				}
				continue
			}
			out = append(out, spec.format(f))
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestLinkFieldsMatchTshark compares, frame by frame, the link-layer
// fields dissect.Frame shows in every link-type capture with what tshark
// 4.0 decodes of them (testdata/tshark-link, scripts/make-dissect-golden.sh).
func TestLinkFieldsMatchTshark(t *testing.T) {
	files, err := filepath.Glob("../../testdata/tshark-link/*.tsv")
	if err != nil || len(files) == 0 {
		t.Fatalf("no tshark link files: %v", err)
	}
	for _, tsv := range files {
		name := strings.TrimSuffix(filepath.Base(tsv), ".tsv")
		t.Run(name, func(t *testing.T) {
			header, rows := readTsharkTable(t, tsv)
			frames := dissectAll(t, filepath.Join(linksDir, name))
			compared := 0
			for _, row := range rows {
				n, _ := strconv.Atoi(row[0])
				d, ok := frames[n]
				if !ok {
					t.Errorf("frame %d: tshark has it, tcplens read no such frame", n)
					continue
				}
				for i, field := range header[1:] {
					want := row[i+1]
					got := occurrences(d, field)
					if spec, ok := linkFields[field]; ok && spec.first && want != "" {
						want, _, _ = strings.Cut(want, ";")
					}
					if strings.Join(got, ";") != want {
						t.Errorf("frame %d: %s = %q, tshark %q", n, field, strings.Join(got, ";"), want)
					}
					compared++
				}
			}
			if compared == 0 {
				t.Error("no field compared")
			}
		})
	}
}

// TestLinkCapturesDissect: every frame of every link-type capture is
// dissected through its link layers, IP and TCP to the payload, with no
// stop and no warning.
func TestLinkCapturesDissect(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(linksDir, "*.pcap"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no link captures: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			for n, d := range dissectAll(t, path) {
				if d.Stop != nil || len(d.Warnings) > 0 {
					t.Errorf("frame %d: stop %+v, warnings %v", n, d.Stop, d.Warnings)
				}
				var ids []string
				for _, l := range d.Layers {
					ids = append(ids, l.ID)
				}
				if !strings.Contains(strings.Join(ids, " "), "tcp payload") && !strings.HasSuffix(strings.Join(ids, " "), "tcp") {
					t.Errorf("frame %d: layers %v do not reach TCP", n, ids)
				}
			}
		})
	}
}

// dissectAll dissects every frame of a capture, checking the invariants.
func dissectAll(t *testing.T, path string) map[int]*dissect.Dissection {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcap.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]*dissect.Dissection{}
	for {
		fr, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		d := dissect.Frame(&fr, dissect.Capture{})
		checkInvariants(t, d, fr.Data)
		out[fr.Number] = d
	}
}

// readTsharkTable reads a tab-separated tshark table: its header and rows,
// comment lines left out.
func readTsharkTable(t *testing.T, path string) (header []string, rows [][]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		cols := strings.Split(line, "\t")
		if header == nil {
			header = cols
			continue
		}
		if len(cols) != len(header) {
			t.Fatalf("%s: %d columns in %q, header has %d", path, len(cols), line, len(header))
		}
		rows = append(rows, cols)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return header, rows
}
