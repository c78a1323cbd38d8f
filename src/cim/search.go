package cim

import (
	"fmt"
	"regexp"
	"strings"
)

// Search is a parsed event type search: field=value and field!=value terms
// combined with AND (also implied by juxtaposition), OR, NOT and parentheses.
// As in Splunk's search language, OR binds tighter than AND, values compare
// case-insensitively, * is a wildcard, and a field holding several values
// matches when any value does. Free-text terms, pipes and subsearches are not
// supported and are parse errors.
type Search interface {
	Match(f Fields) bool
}

type (
	termNode struct {
		field, value string
		negate       bool // field!=value
		re           *regexp.Regexp
	}
	andNode []Search
	orNode  []Search
	notNode struct{ x Search }
)

func (t termNode) Match(f Fields) bool {
	vals := f[t.field]
	if len(vals) == 0 {
		return false // both = and != need the field to exist
	}
	any := false
	for _, v := range vals {
		if t.re.MatchString(v) {
			any = true
			break
		}
	}
	return any != t.negate
}

func (a andNode) Match(f Fields) bool {
	for _, x := range a {
		if !x.Match(f) {
			return false
		}
	}
	return true
}

func (o orNode) Match(f Fields) bool {
	for _, x := range o {
		if x.Match(f) {
			return true
		}
	}
	return false
}

func (n notNode) Match(f Fields) bool { return !n.x.Match(f) }

// ParseSearch parses an event type search string.
func ParseSearch(s string) (Search, error) {
	toks, err := lexSearch(s)
	if err != nil {
		return nil, err
	}
	p := &searchParser{src: s, toks: toks}
	n, err := p.and()
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		return nil, fmt.Errorf("cim: search %q: unexpected %q", s, p.toks[p.i])
	}
	return n, nil
}

func lexSearch(s string) ([]string, error) {
	var toks []string
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')':
			toks = append(toks, string(c))
			i++
		case c == '|' || c == '[' || c == ']':
			return nil, fmt.Errorf("cim: search %q: %q is not allowed in an event type", s, c)
		default:
			var b strings.Builder
			for i < len(s) && !strings.ContainsRune(" \t\r\n()", rune(s[i])) {
				if s[i] == '"' {
					j := strings.IndexByte(s[i+1:], '"')
					if j < 0 {
						return nil, fmt.Errorf("cim: search %q: unterminated quote", s)
					}
					b.WriteString(s[i : i+j+2])
					i += j + 2
					continue
				}
				b.WriteByte(s[i])
				i++
			}
			toks = append(toks, b.String())
		}
	}
	return toks, nil
}

type searchParser struct {
	src  string
	toks []string
	i    int
}

func (p *searchParser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *searchParser) and() (Search, error) {
	var items andNode
	for {
		t := p.peek()
		if t == "" || t == ")" || t == "OR" {
			break
		}
		if t == "AND" {
			p.i++
			continue
		}
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		items = append(items, x)
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("cim: search %q: empty expression", p.src)
	}
	if len(items) == 1 {
		return items[0], nil
	}
	return items, nil
}

func (p *searchParser) or() (Search, error) {
	x, err := p.not()
	if err != nil {
		return nil, err
	}
	items := orNode{x}
	for p.peek() == "OR" {
		p.i++
		y, err := p.not()
		if err != nil {
			return nil, err
		}
		items = append(items, y)
	}
	if len(items) == 1 {
		return x, nil
	}
	return items, nil
}

func (p *searchParser) not() (Search, error) {
	if p.peek() == "NOT" {
		p.i++
		x, err := p.not()
		if err != nil {
			return nil, err
		}
		return notNode{x}, nil
	}
	return p.primary()
}

func (p *searchParser) primary() (Search, error) {
	t := p.peek()
	p.i++
	if t == "(" {
		x, err := p.and()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("cim: search %q: missing )", p.src)
		}
		p.i++
		return x, nil
	}
	neg := false
	field, value, ok := strings.Cut(t, "!=")
	if ok {
		neg = true
	} else if field, value, ok = strings.Cut(t, "="); !ok {
		return nil, fmt.Errorf("cim: search %q: free-text term %q is not supported; use field=value", p.src, t)
	}
	if field == "" || strings.ContainsAny(field, `"*`) {
		return nil, fmt.Errorf("cim: search %q: bad field name in %q", p.src, t)
	}
	if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
		value = value[1 : len(value)-1]
	} else if strings.Contains(value, `"`) {
		return nil, fmt.Errorf("cim: search %q: stray quote in %q", p.src, t)
	}
	parts := strings.Split(value, "*")
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	re, err := regexp.Compile("(?is)^" + strings.Join(parts, ".*") + "$")
	if err != nil { // e.g. a value that is not UTF-8
		return nil, fmt.Errorf("cim: search %q: bad value in %q: %w", p.src, t, err)
	}
	return termNode{field: field, value: value, negate: neg, re: re}, nil
}
