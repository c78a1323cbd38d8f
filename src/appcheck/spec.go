package appcheck

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// A .conf.spec file, as Splunk ships them, is loosely structured:
//
//	# comment
//	global_setting = <type>      settings before the first stanza apply everywhere
//	* prose describing the setting above
//	[<spec>]                     a stanza pattern: <...> is a placeholder
//	EVAL-<fieldname> = <eval>    a setting pattern
//	  indented prose
//
// Only lines that start in column 0 matter: "[...]" opens a stanza pattern;
// "name = value" with a name free of white space is a setting. Everything else
// (prose, examples, banners) is ignored.

// Spec is a parsed .conf.spec file.
type Spec struct {
	// Name is the file the spec came from, e.g. "props.conf.spec".
	Name string
	// Global holds the settings defined before the first stanza; they are
	// valid in every stanza.
	Global []*SettingSpec
	// Stanzas in file order.
	Stanzas []*StanzaSpec
}

// StanzaSpec is one stanza pattern and the settings documented under it.
type StanzaSpec struct {
	Pattern  string // as written, without brackets: "<spec>", "credential:<realm>:<username>"
	Line     int
	Settings []*SettingSpec
	re       *regexp.Regexp
	// defaultOf is the literal scheme for "scheme://<name>" patterns: the
	// bare [scheme] stanza is that scheme's default stanza.
	defaultOf string
}

// SettingSpec is one documented setting.
type SettingSpec struct {
	Key   string // as written: "EVAL-<fieldname>", "interval"
	Value string // the documented value, e.g. "<boolean>", "graph|legacy"
	Line  int
	re    *regexp.Regexp
}

// Matches reports whether a stanza name matches the pattern.
func (s *StanzaSpec) Matches(name string) bool {
	if s.defaultOf != "" && name == s.defaultOf {
		return true
	}
	if s.re == nil {
		return name == s.Pattern
	}
	return s.re.MatchString(name)
}

// Matches reports whether a setting name matches the pattern.
func (s *SettingSpec) Matches(key string) bool {
	if s.re == nil {
		return key == s.Key
	}
	return s.re.MatchString(key)
}

// ParseSpec parses a .conf.spec file read from r; name is used in errors.
func ParseSpec(name string, r io.Reader) (*Spec, error) {
	sp := &Spec{Name: name}
	var cur *StanzaSpec
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), maxLine)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimSuffix(sc.Text(), "\r")
		if lineNo == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if line == "" || line[0] == '#' || line[0] == '*' || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		if line[0] == '[' {
			trimmed := strings.TrimSpace(line)
			end := strings.LastIndexByte(trimmed, ']')
			if end < 0 {
				// "[<fieldname>=" style prose; not a header.
				continue
			}
			pat := trimmed[1:end]
			re, err := compilePattern(pat, true)
			if err != nil {
				return nil, &ParseError{File: name, Line: lineNo, Msg: fmt.Sprintf("stanza pattern [%s]: %v", pat, err)}
			}
			cur = &StanzaSpec{Pattern: pat, Line: lineNo, re: re}
			if i := strings.Index(pat, "://"); i > 0 && !strings.ContainsAny(pat[:i], "<[*") {
				cur.defaultOf = pat[:i]
			}
			sp.Stanzas = append(sp.Stanzas, cur)
			continue
		}
		eq := strings.IndexByte(line, '=')
		if eq <= 0 {
			continue
		}
		key := strings.TrimSpace(line[:eq])
		if key == "" || strings.ContainsAny(key, " \t") || strings.HasSuffix(key, ":") {
			continue // prose such as "Example 1:  LINE_BREAKER = ..."
		}
		re, err := compilePattern(key, false)
		if err != nil {
			return nil, &ParseError{File: name, Line: lineNo, Msg: fmt.Sprintf("setting pattern %q: %v", key, err)}
		}
		set := &SettingSpec{Key: key, Value: strings.TrimSpace(line[eq+1:]), Line: lineNo, re: re}
		if cur == nil {
			sp.Global = append(sp.Global, set)
		} else {
			cur.Settings = append(cur.Settings, set)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, &ParseError{File: name, Line: lineNo + 1, Msg: err.Error()}
	}
	return sp, nil
}

// compilePattern turns a spec name into an anchored regular expression:
// "<placeholder>" matches one or more characters ("<optional...>" zero or
// more), "*" and "..." match anything, and everything else is literal. A
// name without any of them is compared as a string: it returns nil.
func compilePattern(p string, stanza bool) (*regexp.Regexp, error) {
	if !strings.Contains(p, "<") && !strings.Contains(p, "...") && (stanza || !strings.Contains(p, "*")) {
		return nil, nil
	}
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); {
		switch {
		case p[i] == '<':
			end := strings.IndexByte(p[i:], '>')
			if end < 0 {
				b.WriteString(regexp.QuoteMeta(p[i:]))
				i = len(p)
				continue
			}
			inner := p[i+1 : i+end]
			if strings.HasPrefix(inner, "optional") {
				b.WriteString("(?s:.*)")
			} else {
				b.WriteString("(?s:.+)")
			}
			i += end + 1
		case strings.HasPrefix(p[i:], "..."):
			b.WriteString("(?s:.*)")
			i += 3
		case p[i] == '*' && !stanza:
			b.WriteString("(?s:.*)")
			i++
		default:
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
			i++
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// SpecSet is every spec known for one .conf file name: Splunk's own and the
// app's README/<name>.spec, merged.
type SpecSet struct {
	Conf  string  // "props.conf"
	Specs []*Spec // system first, then the app's
	// Extra lists settings allowed in stanzas matched by App specs beyond what
	// they document, e.g. the modular-input settings of inputs.conf.
	Extra []*SettingSpec
}

// stanzaMatch describes how a conf stanza was matched against a SpecSet.
type stanzaMatch struct {
	settings []*SettingSpec
	matched  bool
	appOwned bool // matched a stanza of the app's own spec
}

func (ss *SpecSet) match(st *Stanza) stanzaMatch {
	var m stanzaMatch
	if st.Name == "default" {
		// [default] takes any setting the file type documents.
		m.matched = true
		for _, sp := range ss.Specs {
			m.settings = append(m.settings, sp.Global...)
			for _, s := range sp.Stanzas {
				m.settings = append(m.settings, s.Settings...)
			}
		}
		m.settings = append(m.settings, ss.Extra...)
		return m
	}
	for i, sp := range ss.Specs {
		m.settings = append(m.settings, sp.Global...)
		for _, s := range sp.Stanzas {
			if s.Matches(st.Name) {
				m.matched = true
				m.settings = append(m.settings, s.Settings...)
				if i > 0 || sp.app() {
					m.appOwned = true
				}
			}
		}
	}
	if m.appOwned {
		m.settings = append(m.settings, ss.Extra...)
	}
	if len(ss.Specs) > 0 && !m.matched && len(ss.Specs[0].Stanzas) == 0 {
		// A spec without stanza patterns documents global settings only.
		m.matched = true
	}
	return m
}

func (sp *Spec) app() bool { return strings.HasPrefix(sp.Name, "README/") }

// checkValue checks a value against a documented value shape. It returns ""
// when the value is acceptable or the shape is not one it understands.
func checkValue(shape, value string) string {
	v := strings.TrimSpace(value)
	switch strings.TrimSpace(shape) {
	case "<boolean>", "<bool>":
		if _, ok := parseBool(v); !ok {
			return "a boolean (true/false, 1/0, yes/no)"
		}
	case "<integer>", "<int>":
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return "an integer"
		}
	case "<non-negative integer>", "<unsigned integer>", "<positive integer>":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || (shape == "<positive integer>" && n == 0) {
			return strings.Trim(shape, "<>")
		}
	case "<decimal>", "<number>", "<float>":
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return "a number"
		}
	default:
		alts, ok := enumeration(shape)
		if !ok {
			return ""
		}
		for _, a := range alts {
			if strings.EqualFold(a, v) {
				return ""
			}
		}
		return "one of " + strings.Join(alts, ", ")
	}
	return ""
}

var enumWord = regexp.MustCompile(`^[A-Za-z0-9_.:-]+$`)

// enumeration recognises value shapes that list every allowed value:
// "a|b|c", "a | b", "[a|b]", "<a|b>", "{a|b}". Shapes holding a placeholder
// or free text are not enumerations.
func enumeration(shape string) ([]string, bool) {
	s := strings.TrimSpace(shape)
	if len(s) >= 2 {
		switch {
		case s[0] == '[' && s[len(s)-1] == ']', s[0] == '<' && s[len(s)-1] == '>', s[0] == '{' && s[len(s)-1] == '}':
			s = s[1 : len(s)-1]
		}
	}
	if !strings.Contains(s, "|") {
		return nil, false
	}
	var alts []string
	for _, a := range strings.Split(s, "|") {
		a = strings.TrimSpace(a)
		if !enumWord.MatchString(a) {
			return nil, false
		}
		alts = append(alts, a)
	}
	return alts, true
}

// parseBool accepts the boolean spellings splunkd accepts.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "t", "yes", "y", "on":
		return true, true
	case "0", "false", "f", "no", "n", "off":
		return false, true
	}
	return false, false
}
