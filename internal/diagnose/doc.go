// Package diagnose turns analysed connections into findings: what went
// wrong (or what is merely worth knowing), in plain words, with the frames
// that prove it, the numbers behind the claim and the advice the
// troubleshooting literature gives.
//
// Each rule of the catalogue (see [Catalogue]) is one function over a
// connection's summary (package analyze) and the small, bounded facts a
// [Collector] gathers while the capture streams past: the TTL and IP ID
// of each end's own packets, idle gaps, in-flight bytes against the
// receiver's window, stalls, and a few evidence frames per kind.
//
// The diagnosis streams: the rules about one connection run when it
// ends, and its facts and summary are then forgotten, unless the report
// keeps it whole (the most interesting, those asked for, the worst of
// each finding). Rules that need the whole capture (SYN floods, TIME_WAIT
// pressure, a host's usual TTL) read capped aggregates that the
// connections fed as they ended, and run when the capture ends; a cap
// that cut a count makes the finding say "at least". When more than
// [AggregateAbove] connections share a finding id, one finding stands for
// them all: how many, what they share, the worst examples with their
// evidence.
//
// Rules measure against the connection's own round-trip time where one
// was measured, not fixed thresholds, and where the capture cannot tell
// two causes apart the explanation says which evidence would. Analysis
// never prints: renderers format findings.
package diagnose
