package main

import (
	"strings"
	"testing"
)

// FuzzParsers: the stream and log readers never panic, and a log line's
// level is one of the five or empty.
func FuzzParsers(f *testing.F) {
	f.Add(`<stream><event stanza="s://a"><time>1.5</time><data>{"id":"1"}</data></event></stream>`)
	f.Add(`INFO msg="poll complete" events=3 error="a \"b\""`)
	f.Add(`WARN msg=x k="unterminated`)
	f.Add("<stream><event><data><![CDATA[x]]></data></event>")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = collectStream(strings.NewReader(s))
		l := parseLogLine(s)
		if l.Level != "" && !levels[l.Level] {
			t.Fatalf("level %q", l.Level)
		}
		_, _ = eventTime(s)
		_, _, _ = objectKey(s)
	})
}
