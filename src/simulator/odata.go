package simulator

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// fieldKind is the EDM type of a filterable property.
type fieldKind int

const (
	kindTime fieldKind = iota + 1
	kindString
	kindEnum // a string compared case-insensitively
	kindInt
)

var edmNames = map[fieldKind]string{kindTime: "Edm.DateTimeOffset", kindString: "Edm.String", kindEnum: "Edm.String", kindInt: "Edm.Int64"}

type field struct {
	kind fieldKind
	time func(d *data, i int32) int64  // kindTime
	str  func(d *data, i int32) string // kindString, kindEnum, kindInt (decimal)
}

// collection describes one list endpoint.
type collection struct {
	path        string // for messages and links
	typeName    string // e.g. "microsoft.graph.security.incident"
	context     string // @odata.context fragment
	flavor      apiFlavor
	alerts      bool // objects are alerts (else incidents)
	endpoint    bool // only Defender for Endpoint alerts
	maxTop      int
	defaultTop  int
	fields      map[string]field
	orderFields map[string]string // $orderby name → "updated" | "created"
	expand      []string
	nextLink    bool
}

var opNames = map[string]string{"eq": "Equal", "ne": "NotEqual", "gt": "GreaterThan", "ge": "GreaterThanOrEqual",
	"lt": "LessThan", "le": "LessThanOrEqual"}

// node is a parsed $filter expression.
type node struct {
	op          string // and, or, not, or a comparison operator
	left, right *node
	field       string
	f           field
	null        bool
	t           int64
	s           string
}

func (n *node) eval(d *data, i int32) bool {
	switch n.op {
	case "and":
		return n.left.eval(d, i) && n.right.eval(d, i)
	case "or":
		return n.left.eval(d, i) || n.right.eval(d, i)
	case "not":
		return !n.left.eval(d, i)
	}
	var c int
	switch n.f.kind {
	case kindTime:
		v := n.f.time(d, i)
		if n.null {
			return (v == 0) == (n.op == "eq")
		}
		if v == 0 {
			return n.op == "ne"
		}
		c = cmpInt64(v, n.t)
	case kindInt:
		a, _ := strconv.ParseInt(n.f.str(d, i), 10, 64)
		b, _ := strconv.ParseInt(n.s, 10, 64)
		c = cmpInt64(a, b)
	case kindEnum:
		v := n.f.str(d, i)
		if n.null {
			return (v == "") == (n.op == "eq")
		}
		c = strings.Compare(strings.ToLower(v), strings.ToLower(n.s))
	default:
		v := n.f.str(d, i)
		if n.null {
			return (v == "") == (n.op == "eq")
		}
		c = strings.Compare(v, n.s)
	}
	switch n.op {
	case "eq":
		return c == 0
	case "ne":
		return c != 0
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	case "le":
		return c <= 0
	}
	return false
}

// conjuncts returns the comparisons ANDed at the top of n.
func (n *node) conjuncts(out []*node) []*node {
	if n == nil {
		return out
	}
	if n.op == "and" {
		return n.right.conjuncts(n.left.conjuncts(out))
	}
	if n.op != "or" && n.op != "not" {
		out = append(out, n)
	}
	return out
}

// tokenize splits a $filter into identifiers, literals, quoted strings and parentheses.
func tokenize(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '(' || c == ')':
			toks = append(toks, string(c))
			i++
		case c == '\'':
			j := i + 1
			var b strings.Builder
			b.WriteByte('\'')
			for {
				if j >= len(s) {
					return nil, fmt.Errorf("There is an unterminated string literal at position %d in '%s'.", i, s)
				}
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(s[j])
				j++
			}
			toks = append(toks, b.String())
			i = j + 1
		default:
			j := i
			for j < len(s) && s[j] != ' ' && s[j] != '\t' && s[j] != '(' && s[j] != ')' {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks, nil
}

type filterParser struct {
	c    *collection
	toks []string
	pos  int
	src  string
}

func parseFilter(c *collection, s string) (*node, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("The $filter expression must evaluate to a single value of primitive type.")
	}
	p := &filterParser{c: c, toks: toks, src: s}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("Syntax error at position %d in '%s'.", p.offset(), s)
	}
	return n, nil
}

func (p *filterParser) offset() int {
	off := 0
	for i := 0; i < p.pos && i < len(p.toks); i++ {
		off += len(p.toks[i]) + 1
	}
	return off
}

func (p *filterParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *filterParser) or() (*node, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for strings.EqualFold(p.peek(), "or") {
		p.pos++
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = &node{op: "or", left: l, right: r}
	}
	return l, nil
}

func (p *filterParser) and() (*node, error) {
	l, err := p.factor()
	if err != nil {
		return nil, err
	}
	for strings.EqualFold(p.peek(), "and") {
		p.pos++
		r, err := p.factor()
		if err != nil {
			return nil, err
		}
		l = &node{op: "and", left: l, right: r}
	}
	return l, nil
}

func (p *filterParser) factor() (*node, error) {
	switch t := p.peek(); {
	case t == "":
		return nil, fmt.Errorf("Expression expected at position %d in '%s'.", len(p.src), p.src)
	case strings.EqualFold(t, "not"):
		p.pos++
		n, err := p.factor()
		if err != nil {
			return nil, err
		}
		return &node{op: "not", left: n}, nil
	case t == "(":
		p.pos++
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("')' or operator expected at position %d in '%s'.", p.offset(), p.src)
		}
		p.pos++
		return n, nil
	}
	return p.comparison()
}

func (p *filterParser) comparison() (*node, error) {
	if p.pos+3 > len(p.toks) {
		return nil, fmt.Errorf("Syntax error at position %d in '%s'.", len(p.src), p.src)
	}
	name, op, lit := p.toks[p.pos], strings.ToLower(p.toks[p.pos+1]), p.toks[p.pos+2]
	p.pos += 3
	f, ok := p.c.fields[name]
	if !ok {
		return nil, fmt.Errorf("Could not find a property named '%s' on type '%s'.", name, p.c.typeName)
	}
	opName, ok := opNames[op]
	if !ok {
		return nil, fmt.Errorf("Syntax error: character '%s' is not valid at position %d in '%s'.", op, p.offset(), p.src)
	}
	n := &node{op: op, field: name, f: f}
	if lit == "null" {
		n.null = true
		if op != "eq" && op != "ne" {
			return nil, fmt.Errorf("The operator '%s' is not valid with null.", opName)
		}
		return n, nil
	}
	quoted := strings.HasPrefix(lit, "'")
	incompatible := func(other string) error {
		return fmt.Errorf("A binary operator with incompatible types was detected. Found operand types '%s' and '%s' for operator kind '%s'.",
			edmNames[f.kind], other, opName)
	}
	switch f.kind {
	case kindTime:
		if quoted {
			return nil, incompatible("Edm.String")
		}
		t, err := time.Parse(time.RFC3339Nano, lit)
		if err != nil {
			return nil, fmt.Errorf("The DateTimeOffset text '%s' should be in format 'yyyy-mm-ddThh:mm:ss('.'s+)?(zzzzzz)?' and each field value is within valid range.", lit)
		}
		n.t = t.UnixNano()
	case kindInt:
		if quoted {
			return nil, incompatible("Edm.String")
		}
		if _, err := strconv.ParseInt(lit, 10, 64); err != nil {
			return nil, fmt.Errorf("Could not find a property named '%s' on type '%s'.", lit, p.c.typeName)
		}
		n.s = lit
	default:
		if !quoted {
			if _, err := strconv.ParseInt(lit, 10, 64); err == nil {
				return nil, incompatible("Edm.Int32")
			}
			return nil, fmt.Errorf("Could not find a property named '%s' on type '%s'.", lit, p.c.typeName)
		}
		if op != "eq" && op != "ne" && f.kind == kindEnum {
			return nil, fmt.Errorf("The operator '%s' is not supported for enumeration property '%s'.", opName, name)
		}
		n.s = lit[1:]
	}
	return n, nil
}

// query is a parsed list request.
type query struct {
	filter      *node
	orderBy     string // "updated", "created"
	desc        bool
	top         int
	skip        int
	count       bool
	expand      bool
	selectKeys  []string
	token       *pageToken
	passthrough url.Values // options copied into the nextLink
}

// pageToken is the decoded $skiptoken.
type pageToken struct {
	offset bool
	n      int   // offset mode: objects already returned
	t      int64 // keyset mode: sort key of the last object returned
	i      int32
}

func (t pageToken) encode() string {
	var s string
	if t.offset {
		s = "o:" + strconv.Itoa(t.n)
	} else {
		s = "k:" + strconv.FormatInt(t.t, 36) + ":" + strconv.FormatInt(int64(t.i), 36)
	}
	return base64.RawURLEncoding.EncodeToString([]byte("sim1|" + s))
}

func decodeToken(s string) (*pageToken, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, false
	}
	v, ok := strings.CutPrefix(string(b), "sim1|")
	if !ok {
		return nil, false
	}
	parts := strings.Split(v, ":")
	switch {
	case len(parts) == 2 && parts[0] == "o":
		n, err := strconv.Atoi(parts[1])
		return &pageToken{offset: true, n: n}, err == nil && n >= 0
	case len(parts) == 3 && parts[0] == "k":
		t, err1 := strconv.ParseInt(parts[1], 36, 64)
		i, err2 := strconv.ParseInt(parts[2], 36, 32)
		return &pageToken{t: t, i: int32(i)}, err1 == nil && err2 == nil
	}
	return nil, false
}

// parseQuery validates the OData options of a list request on c.
func parseQuery(c *collection, raw string) (*query, *apiError) {
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return nil, badRequest("The query specified in the URI is not valid. %s", err)
	}
	q := &query{top: c.defaultTop, passthrough: url.Values{}}
	known := map[string]bool{"$filter": true, "$orderby": true, "$top": true, "$skip": true, "$count": true,
		"$expand": true, "$select": true, "$skiptoken": true, "$format": true}
	for k, v := range vals {
		lk := strings.ToLower(k)
		if !strings.HasPrefix(k, "$") {
			continue // Graph ignores unknown non-$ parameters
		}
		if !known[lk] {
			return nil, badRequest("The query parameter '%s' is not supported.", k)
		}
		if len(v) > 1 {
			return nil, badRequest("Query option '%s' was specified more than once, but it must be specified at most once.", k)
		}
	}
	get := func(k string) (string, bool) {
		for kk, v := range vals {
			if strings.EqualFold(kk, k) {
				return v[0], true
			}
		}
		return "", false
	}
	if v, ok := get("$filter"); ok {
		n, err := parseFilter(c, v)
		if err != nil {
			return nil, badRequest("Invalid filter clause: %s", err)
		}
		q.filter = n
		q.passthrough.Set("$filter", v)
	}
	if v, ok := get("$orderby"); ok {
		keys := strings.Split(v, ",")
		for i, k := range keys {
			f := strings.Fields(k)
			if len(f) == 0 || len(f) > 2 || (len(f) == 2 && !strings.EqualFold(f[1], "asc") && !strings.EqualFold(f[1], "desc")) {
				return nil, badRequest("Syntax error at position %d in '%s'.", len(v), v)
			}
			desc := len(f) == 2 && strings.EqualFold(f[1], "desc")
			if i > 0 {
				if f[0] != "id" { // "id" as a tie-breaker matches the simulator's own order
					return nil, badRequest("The $orderby option supports one property and an optional 'id' tie-breaker; got '%s'.", v)
				}
				continue
			}
			ord, ok := c.orderFields[f[0]]
			if !ok {
				if _, isField := c.fields[f[0]]; isField {
					return nil, badRequest("The property '%s' cannot be used in the $orderby query option.", f[0])
				}
				return nil, badRequest("Could not find a property named '%s' on type '%s'.", f[0], c.typeName)
			}
			q.orderBy, q.desc = ord, desc
		}
		q.passthrough.Set("$orderby", v)
	}
	if v, ok := get("$top"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, badRequest("Invalid value '%s' for $top query option found. The $top query option requires a non-negative integer value.", v)
		}
		if n > c.maxTop {
			e := badRequest("The query specified in the URI is not valid. The limit of '%d' for Top query has been exceeded. The value from the incoming request is '%d'.", c.maxTop, n)
			if c.flavor == flavorGraph {
				e.code = "" // as Graph sends it
			}
			return nil, e
		}
		q.top = n
		q.passthrough.Set("$top", v)
	}
	if v, ok := get("$skip"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, badRequest("Invalid value '%s' for $skip query option found. The $skip query option requires a non-negative integer value.", v)
		}
		q.skip = n
	}
	if v, ok := get("$count"); ok {
		switch strings.ToLower(v) {
		case "true":
			q.count = true
		case "false":
		default:
			return nil, badRequest("'%s' is not a valid count option.", v)
		}
		q.passthrough.Set("$count", v)
	}
	if v, ok := get("$expand"); ok {
		for _, e := range strings.Split(v, ",") {
			e = strings.TrimSpace(e)
			if !slices.Contains(c.expand, e) {
				return nil, badRequest("Could not find a property named '%s' on type '%s'.", e, c.typeName)
			}
			q.expand = true
		}
		q.passthrough.Set("$expand", v)
	}
	if v, ok := get("$select"); ok {
		for _, k := range strings.Split(v, ",") {
			if k = strings.TrimSpace(k); k != "" {
				q.selectKeys = append(q.selectKeys, k)
			}
		}
		q.passthrough.Set("$select", v)
	}
	if v, ok := get("$skiptoken"); ok {
		t, ok := decodeToken(v)
		if !ok {
			return nil, badRequest("The skip token '%s' is not valid.", v)
		}
		q.token = t
	}
	return q, nil
}

// encodeQuery renders options the way Graph writes nextLinks: literal $,
// quotes and colons, %20 for spaces.
func encodeQuery(v url.Values) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	r := strings.NewReplacer("+", "%20", "%24", "$", "%27", "'", "%3A", ":", "%2C", ",")
	for _, k := range keys {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(r.Replace(url.QueryEscape(v.Get(k))))
	}
	return b.String()
}
