// Package report writes the HTML report: one self-contained file with the
// capture's facts, its findings by severity, a sortable and filterable
// table of every connection, and the chosen connections in pictures
// (package graph) with zoom, pan, tooltips and the jump from a graph's
// mark to its ladder step.
//
// The page is inert toward the capture: it loads nothing and sends
// nothing, its Content-Security-Policy admits its own script and style
// sheet alone (by hash), html/template escapes every string the capture
// can put in it, the connection table travels as JSON that the script
// reads as data and writes as text, and the pictures escape their own.
package report
