package dashboards

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// EvalExpr evaluates a Splunk eval expression over one event's fields (multivalue: several
// strings; a missing field is null). It implements what the add-on's macros use: literals,
// fields, . + - * / == != < > <= >= AND OR NOT, and the functions coalesce, if, case, in,
// lower, upper, substr, len, like, isnull, isnotnull, null, true, false, tonumber, round,
// replace, strptime (with %Y %m %d %H %M %S %z only) and mvappend. Anything else is an
// error, so a macro that starts using another construct fails its test instead of passing
// untested. A nil result is null.
func EvalExpr(expr string, fields map[string][]string) ([]string, error) {
	p := &evalParser{toks: lexEval(expr), fields: fields}
	v, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.i != len(p.toks) {
		return nil, fmt.Errorf("eval: unexpected %q in %q", p.toks[p.i].text, expr)
	}
	return v, nil
}

type evalParser struct {
	toks   []token
	i      int
	fields map[string][]string
}

func (p *evalParser) peek() token {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return token{kind: -1}
}

func (p *evalParser) isOp(s string) bool { t := p.peek(); return t.kind == tOp && t.text == s }
func (p *evalParser) isWord(s string) bool {
	t := p.peek()
	return t.kind == tWord && strings.EqualFold(t.text, s)
}

func truthy(v []string) bool { return len(v) == 1 && v[0] == "true" }

func boolVal(b bool) []string {
	if b {
		return []string{"true"}
	}
	return []string{"false"}
}

func (p *evalParser) or() ([]string, error) {
	l, err := p.and()
	for err == nil && p.isWord("OR") {
		p.i++
		var r []string
		if r, err = p.and(); err == nil {
			l = boolVal(truthy(l) || truthy(r))
		}
	}
	return l, err
}

func (p *evalParser) and() ([]string, error) {
	l, err := p.not()
	for err == nil && p.isWord("AND") {
		p.i++
		var r []string
		if r, err = p.not(); err == nil {
			l = boolVal(truthy(l) && truthy(r))
		}
	}
	return l, err
}

func (p *evalParser) not() ([]string, error) {
	if p.isWord("NOT") {
		p.i++
		v, err := p.not()
		return boolVal(!truthy(v)), err
	}
	return p.cmp()
}

func (p *evalParser) cmp() ([]string, error) {
	l, err := p.add()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	if t.kind != tOp || !isComparison(t.text) {
		return l, nil
	}
	p.i++
	r, err := p.add()
	if err != nil || l == nil || r == nil {
		return nil, err // a comparison with null is null
	}
	ln, lok := num(l)
	rn, rok := num(r)
	c := strings.Compare(l[0], r[0])
	if lok && rok {
		c = cmpFloat(ln, rn)
	}
	switch t.text {
	case "=", "==":
		return boolVal(c == 0), nil
	case "!=":
		return boolVal(c != 0), nil
	case "<":
		return boolVal(c < 0), nil
	case ">":
		return boolVal(c > 0), nil
	case "<=":
		return boolVal(c <= 0), nil
	}
	return boolVal(c >= 0), nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func num(v []string) (float64, bool) {
	if len(v) != 1 {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v[0]), 64)
	return f, err == nil
}

func numVal(f float64) []string { return []string{strconv.FormatFloat(f, 'f', -1, 64)} }

func (p *evalParser) add() ([]string, error) {
	l, err := p.mul()
	for err == nil && (p.isOp("+") || p.isOp("-") || p.isOp(".")) {
		op := p.peek().text
		p.i++
		var r []string
		if r, err = p.mul(); err != nil {
			break
		}
		if l == nil || r == nil {
			l = nil
			continue
		}
		ln, lok := num(l)
		rn, rok := num(r)
		switch {
		case op == ".":
			l = []string{l[0] + r[0]}
		case lok && rok && op == "+":
			l = numVal(ln + rn)
		case lok && rok:
			l = numVal(ln - rn)
		case op == "+":
			l = []string{l[0] + r[0]}
		default:
			return nil, fmt.Errorf("eval: %q - %q: not numbers", l[0], r[0])
		}
	}
	return l, err
}

func (p *evalParser) mul() ([]string, error) {
	l, err := p.unary()
	for err == nil && (p.isOp("*") || p.isOp("/") || p.isOp("%")) {
		op := p.peek().text
		p.i++
		var r []string
		if r, err = p.unary(); err != nil {
			break
		}
		ln, lok := num(l)
		rn, rok := num(r)
		if !lok || !rok {
			l = nil
			continue
		}
		switch op {
		case "*":
			l = numVal(ln * rn)
		case "/":
			l = numVal(ln / rn)
		default:
			l = numVal(math.Mod(ln, rn))
		}
	}
	return l, err
}

func (p *evalParser) unary() ([]string, error) {
	if p.isOp("-") {
		p.i++
		v, err := p.unary()
		if n, ok := num(v); ok && err == nil {
			return numVal(-n), nil
		}
		return nil, err
	}
	return p.primary()
}

func (p *evalParser) primary() ([]string, error) {
	t := p.peek()
	p.i++
	switch t.kind {
	case tString:
		return []string{t.text}, nil
	case tField:
		return p.fields[t.text], nil
	case tOp:
		if t.text == "(" {
			v, err := p.or()
			if err != nil {
				return nil, err
			}
			if !p.isOp(")") {
				return nil, fmt.Errorf("eval: missing )")
			}
			p.i++
			return v, nil
		}
		return nil, fmt.Errorf("eval: unexpected %q", t.text)
	case tWord:
		if isNumber(t.text) {
			return []string{t.text}, nil
		}
		if !p.isOp("(") {
			return p.fields[t.text], nil
		}
		p.i++
		var args [][]string
		for !p.isOp(")") {
			v, err := p.or()
			if err != nil {
				return nil, err
			}
			args = append(args, v)
			if p.isOp(",") {
				p.i++
			} else if !p.isOp(")") {
				return nil, fmt.Errorf("eval: %s(): expected , or )", t.text)
			}
		}
		p.i++
		return call(strings.ToLower(t.text), args)
	}
	return nil, fmt.Errorf("eval: unexpected end of expression")
}

func call(fn string, a [][]string) ([]string, error) {
	want := func(n int) error {
		if len(a) != n {
			return fmt.Errorf("eval: %s() takes %d arguments, got %d", fn, n, len(a))
		}
		return nil
	}
	str := func(v []string) (string, bool) {
		if len(v) == 0 {
			return "", false
		}
		return v[0], true
	}
	switch fn {
	case "coalesce":
		for _, v := range a {
			if v != nil {
				return v, nil
			}
		}
		return nil, nil
	case "if":
		if err := want(3); err != nil {
			return nil, err
		}
		if truthy(a[0]) {
			return a[1], nil
		}
		return a[2], nil
	case "case":
		for i := 0; i+1 < len(a); i += 2 {
			if truthy(a[i]) {
				return a[i+1], nil
			}
		}
		return nil, nil
	case "in":
		if len(a) < 2 || a[0] == nil {
			return nil, nil
		}
		for _, v := range a[1:] {
			if len(v) == 1 && v[0] == a[0][0] {
				return boolVal(true), nil
			}
		}
		return boolVal(false), nil
	case "true", "false":
		return boolVal(fn == "true"), want(0)
	case "null":
		return nil, want(0)
	case "isnull", "isnotnull":
		if err := want(1); err != nil {
			return nil, err
		}
		return boolVal((a[0] == nil) == (fn == "isnull")), nil
	case "lower", "upper", "len", "tonumber":
		if err := want(1); err != nil {
			return nil, err
		}
		s, ok := str(a[0])
		if !ok {
			return nil, nil
		}
		switch fn {
		case "lower":
			return []string{strings.ToLower(s)}, nil
		case "upper":
			return []string{strings.ToUpper(s)}, nil
		case "len":
			return numVal(float64(len([]rune(s)))), nil
		}
		if n, ok := num([]string{s}); ok {
			return numVal(n), nil
		}
		return nil, nil
	case "round":
		n, ok := num(a[0])
		if !ok {
			return nil, nil
		}
		d := 0.0
		if len(a) > 1 {
			d, _ = num(a[1])
		}
		m := math.Pow(10, d)
		return numVal(math.Round(n*m) / m), nil
	case "substr":
		s, ok := str(a[0])
		if !ok || len(a) < 2 {
			return nil, nil
		}
		start, _ := num(a[1])
		r := []rune(s)
		from := int(start) - 1
		if from < 0 {
			from = 0
		}
		if from > len(r) {
			from = len(r)
		}
		to := len(r)
		if len(a) > 2 {
			n, _ := num(a[2])
			if from+int(n) < to {
				to = from + int(n)
			}
		}
		return []string{string(r[from:to])}, nil
	case "like":
		if err := want(2); err != nil {
			return nil, err
		}
		s, ok := str(a[0])
		pat, ok2 := str(a[1])
		if !ok || !ok2 {
			return nil, nil
		}
		re := "^" + strings.NewReplacer("%", ".*", "_", ".").Replace(regexp.QuoteMeta(pat)) + "$"
		return boolVal(regexp.MustCompile("(?s)" + re).MatchString(s)), nil
	case "replace":
		if err := want(3); err != nil {
			return nil, err
		}
		s, ok := str(a[0])
		if !ok || a[1] == nil || a[2] == nil {
			return nil, nil
		}
		re, err := regexp.Compile(a[1][0])
		if err != nil {
			return nil, fmt.Errorf("eval: replace(): %w", err)
		}
		repl := regexp.MustCompile(`\\(\d)`).ReplaceAllString(a[2][0], "$${$1}")
		return []string{re.ReplaceAllString(s, repl)}, nil
	case "strptime":
		if err := want(2); err != nil {
			return nil, err
		}
		s, ok := str(a[0])
		if !ok || a[1] == nil {
			return nil, nil
		}
		layout := strings.NewReplacer("%Y", "2006", "%m", "01", "%d", "02", "%H", "15", "%M", "04", "%S", "05", "%z", "-0700").Replace(a[1][0])
		if strings.Contains(layout, "%") {
			return nil, fmt.Errorf("eval: strptime format %q is not implemented by the test evaluator", a[1][0])
		}
		tm, err := time.Parse(layout, s)
		if err != nil {
			return nil, nil // Splunk: null when the text does not match
		}
		return numVal(float64(tm.Unix())), nil
	case "mvappend":
		var out []string
		for _, v := range a {
			out = append(out, v...)
		}
		if out == nil {
			return nil, nil
		}
		return out, nil
	}
	return nil, fmt.Errorf("eval: function %s() is not implemented by the test evaluator", fn)
}
