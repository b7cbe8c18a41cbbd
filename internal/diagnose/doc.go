// Package diagnose turns analysed connections into findings: what went
// wrong (or what is merely worth knowing), in plain words, with the frames
// that prove it, the numbers behind the claim and the advice the
// troubleshooting literature gives.
//
// Each rule of the catalogue (see [Catalogue]) is one function over a
// connection's summary (package analyze) and the small, bounded facts a
// [Collector] gathers while the capture streams past: the TTL and IP ID
// of each end's own packets, idle gaps, in-flight bytes against the
// receiver's window, stalls, and a few evidence frames per kind. Rules
// that need the whole capture (SYN floods, TIME_WAIT pressure, a host's
// usual TTL) run when the capture ends.
//
// Rules measure against the connection's own round-trip time where one
// was measured, not fixed thresholds, and where the capture cannot tell
// two causes apart the explanation says which evidence would. Analysis
// never prints: renderers format findings.
package diagnose
