// Package modinput implements Splunk's modular-input protocol: the scheme
// document printed for --scheme, the <items> and <input> documents splunkd
// writes to stdin for --validate-arguments and for streaming, the XML event
// stream written to stdout, and the one-line stderr log format splunkd reads.
//
// The protocol is described in Splunk's "Modular inputs" developer pages; the
// package follows the behaviour that Splunk's own SDKs test for (UTF-16
// configuration documents, <error><message> validation failures, and
// <stream>/<event>/<done/> output).
//
// The package imports no other package of the project, so every input and the
// command build on it alone.
package modinput
