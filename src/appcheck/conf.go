// Package appcheck checks a Splunk app, as a source tree or as a packaged
// .tgz, against the AppInspect rules that matter for TA-m365-defender:
// package structure, file permissions, .conf files against Splunk's
// .conf.spec files, spec coverage of every modular-input argument, plain-text
// secrets, icons and views.
//
// A .conf file is a sequence of lines:
//
//	# a comment (only when '#' is the first non-blank character)
//	[stanza name]
//	key = value
//	key = a long value \
//	      continued on the next line
//
// Settings that come before the first stanza belong to the implicit
// [default] stanza. A line ending in a backslash continues on the next line;
// the value keeps the line break, as splunkd does. Anything else is a
// *ParseError naming the file and line.
package appcheck

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Conf is a parsed .conf (or .meta) file.
type Conf struct {
	// Name is the file name it was parsed from, used in findings.
	Name string
	// Stanzas in file order. Settings before the first stanza header are in
	// a stanza named "default" with Implicit set.
	Stanzas []*Stanza
}

// Stanza is one [name] section of a .conf file.
type Stanza struct {
	Name     string
	Line     int  // line of the header; 0 for the implicit default stanza
	Implicit bool // settings before any header
	Settings []Setting
}

// Setting is one key = value line (after joining continuation lines).
type Setting struct {
	Key   string
	Value string
	Line  int // line where the setting starts
}

// Get returns the value of the last setting named key and whether it exists
// (splunkd lets the last definition win).
func (s *Stanza) Get(key string) (string, bool) {
	for i := len(s.Settings) - 1; i >= 0; i-- {
		if s.Settings[i].Key == key {
			return s.Settings[i].Value, true
		}
	}
	return "", false
}

// Stanza returns the first stanza with the given name, or nil.
func (c *Conf) Stanza(name string) *Stanza {
	for _, s := range c.Stanzas {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// ErrSyntax is wrapped by every *ParseError.
var ErrSyntax = errors.New("syntax error")

// ParseError reports where a .conf or .spec file could not be parsed.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("appcheck: %s:%d: %s", e.File, e.Line, e.Msg)
}

// Unwrap lets errors.Is(err, ErrSyntax) match.
func (e *ParseError) Unwrap() error { return ErrSyntax }

// maxLine bounds a single physical line; splunkd's own limit is far lower in
// practice, and a larger line means the file is not a .conf file.
const maxLine = 1 << 20

// ParseConf parses a .conf or .meta file read from r; name is used in errors.
func ParseConf(name string, r io.Reader) (*Conf, error) {
	c := &Conf{Name: name}
	var cur *Stanza
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), maxLine)
	lineNo := 0
	first := true
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if first {
			line = strings.TrimPrefix(line, "\ufeff")
			first = false
		}
		line = strings.TrimSuffix(line, "\r")
		start := lineNo
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		// Join continuation lines: a trailing backslash keeps the line
		// break and reads on.
		for strings.HasSuffix(line, `\`) && sc.Scan() {
			lineNo++
			next := strings.TrimSuffix(sc.Text(), "\r")
			line = line[:len(line)-1] + "\n" + next
		}
		trimmed = strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "[") {
			end := strings.LastIndexByte(trimmed, ']')
			if end < 0 {
				return nil, &ParseError{File: name, Line: start, Msg: fmt.Sprintf("stanza header %q has no closing ']'", trimmed)}
			}
			if rest := strings.TrimSpace(trimmed[end+1:]); rest != "" {
				return nil, &ParseError{File: name, Line: start, Msg: fmt.Sprintf("unexpected text %q after stanza header", rest)}
			}
			cur = &Stanza{Name: trimmed[1:end], Line: start}
			c.Stanzas = append(c.Stanzas, cur)
			continue
		}
		eq := strings.IndexByte(trimmed, '=')
		if eq < 0 {
			return nil, &ParseError{File: name, Line: start, Msg: fmt.Sprintf("expected [stanza], key = value or # comment, got %q", clip(trimmed))}
		}
		key := strings.TrimSpace(trimmed[:eq])
		if key == "" {
			return nil, &ParseError{File: name, Line: start, Msg: "setting has no name before '='"}
		}
		if strings.ContainsAny(key, " \t\n") {
			return nil, &ParseError{File: name, Line: start, Msg: fmt.Sprintf("setting name %q contains white space", clip(key))}
		}
		if cur == nil {
			cur = &Stanza{Name: "default", Implicit: true}
			c.Stanzas = append(c.Stanzas, cur)
		}
		cur.Settings = append(cur.Settings, Setting{Key: key, Value: strings.TrimSpace(trimmed[eq+1:]), Line: start})
	}
	if err := sc.Err(); err != nil {
		return nil, &ParseError{File: name, Line: lineNo + 1, Msg: err.Error()}
	}
	return c, nil
}

// ParseConfBytes is ParseConf over a byte slice.
func ParseConfBytes(name string, b []byte) (*Conf, error) {
	return ParseConf(name, bytes.NewReader(b))
}

func clip(s string) string {
	const max = 60
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
