package cim

import (
	"fmt"
	"strings"
	"unicode"
)

// Expr is a parsed eval expression.
type Expr interface{ exprNode() }

type (
	strLit struct{ s string }
	numLit struct {
		n    float64
		text string
	}
	fieldRef struct{ name string }
	call     struct {
		name string
		args []Expr
	}
	binary struct {
		op   string
		l, r Expr
	}
)

func (strLit) exprNode()   {}
func (numLit) exprNode()   {}
func (fieldRef) exprNode() {}
func (call) exprNode()     {}
func (binary) exprNode()   {}

// ParseError reports where an eval expression could not be parsed.
type ParseError struct {
	Expr string
	Pos  int // byte offset into Expr
	Msg  string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("cim: eval: %s at offset %d in %q", e.Msg, e.Pos, e.Expr)
}

type tokKind int

const (
	tEOF tokKind = iota
	tStr
	tNum
	tIdent  // bare word: field name, function name or keyword
	tQuoted // 'field name'
	tOp
)

type token struct {
	kind tokKind
	text string
	pos  int
}

func lexEval(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(src) && src[j] != '"'; j++ {
				if src[j] == '\\' && j+1 < len(src) && (src[j+1] == '"' || src[j+1] == '\\') {
					j++
				}
				b.WriteByte(src[j])
			}
			if j >= len(src) {
				return nil, &ParseError{src, i, "unterminated string"}
			}
			toks = append(toks, token{tStr, b.String(), i})
			i = j + 1
		case c == '\'':
			j := strings.IndexByte(src[i+1:], '\'')
			if j < 0 {
				return nil, &ParseError{src, i, "unterminated quoted field name"}
			}
			toks = append(toks, token{tQuoted, src[i+1 : i+1+j], i})
			i += j + 2
		case c >= '0' && c <= '9':
			j := i
			for j < len(src) && (src[j] >= '0' && src[j] <= '9' || src[j] == '.') {
				j++
			}
			toks = append(toks, token{tNum, src[i:j], i})
			i = j
		case c == '_' || unicode.IsLetter(rune(c)):
			j := i
			for j < len(src) && (src[j] == '_' || src[j] >= '0' && src[j] <= '9' || unicode.IsLetter(rune(src[j]))) {
				j++
			}
			if j+1 < len(src) && src[j] == '.' && (src[j+1] == '_' || unicode.IsLetter(rune(src[j+1]))) {
				// Splunk reads a.b as the concatenation of fields a and b;
				// a dotted field name must be written 'a.b'.
				return nil, &ParseError{src, i, fmt.Sprintf("ambiguous %s.%c...: quote dotted field names", src[i:j], src[j+1])}
			}
			toks = append(toks, token{tIdent, src[i:j], i})
			i = j
		default:
			two := ""
			if i+1 < len(src) {
				two = src[i : i+2]
			}
			switch two {
			case "==", "!=", "<=", ">=":
				toks = append(toks, token{tOp, two, i})
				i += 2
				continue
			}
			switch c {
			case '(', ')', ',', '.', '+', '-', '*', '/', '%', '<', '>', '=':
				toks = append(toks, token{tOp, string(c), i})
				i++
			default:
				return nil, &ParseError{src, i, fmt.Sprintf("unknown character %q", c)}
			}
		}
	}
	toks = append(toks, token{tEOF, "", len(src)})
	return toks, nil
}

type parser struct {
	src  string
	toks []token
	i    int
}

// ParseEval parses an eval expression. It accepts only the operators and the
// functions the evaluator implements (see Functions); anything else is an error.
func ParseEval(src string) (Expr, error) {
	toks, err := lexEval(src)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, toks: toks}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.errf(t, "unexpected %q", t.text)
	}
	return e, nil
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token { t := p.toks[p.i]; p.i++; return t }
func (p *parser) errf(t token, f string, a ...any) error {
	return &ParseError{p.src, t.pos, fmt.Sprintf(f, a...)}
}
func (p *parser) isOp(s string) bool   { t := p.peek(); return t.kind == tOp && t.text == s }
func (p *parser) isWord(s string) bool { t := p.peek(); return t.kind == tIdent && t.text == s }

// Operators lists the eval operators the evaluator implements: the ones
// props.conf uses. Splunk's others (+ * / % < > <= >= NOT XOR LIKE IN) are
// parse errors.
func Operators() []string { return []string{"==", "!=", "AND", "OR", ".", "-"} }

// keywords Splunk's eval knows as operators.
var evalKeywords = map[string]bool{"AND": true, "OR": true, "NOT": true, "XOR": true, "LIKE": true, "IN": true}

func (p *parser) or() (Expr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.isWord("OR") {
		p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = binary{"OR", l, r}
	}
	return l, nil
}

func (p *parser) and() (Expr, error) {
	l, err := p.not()
	if err != nil {
		return nil, err
	}
	for p.isWord("AND") {
		p.next()
		r, err := p.not()
		if err != nil {
			return nil, err
		}
		l = binary{"AND", l, r}
	}
	return l, nil
}

func (p *parser) not() (Expr, error) {
	if p.isWord("NOT") {
		return nil, p.errf(p.peek(), "operator NOT is not implemented by the test evaluator")
	}
	return p.cmp()
}

func (p *parser) cmp() (Expr, error) {
	l, err := p.add()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t.kind == tIdent && (t.text == "LIKE" || t.text == "IN" || t.text == "XOR") {
			return nil, p.errf(t, "operator %s is not implemented by the test evaluator", t.text)
		}
		if t.kind != tOp {
			return l, nil
		}
		switch t.text {
		case "<", ">", "<=", ">=":
			return nil, p.errf(t, "operator %s is not implemented by the test evaluator", t.text)
		case "=", "==", "!=":
			p.next()
			r, err := p.add()
			if err != nil {
				return nil, err
			}
			op := t.text
			if op == "=" {
				op = "=="
			}
			l = binary{op, l, r}
		default:
			return l, nil
		}
	}
}

func (p *parser) add() (Expr, error) {
	l, err := p.mul()
	if err != nil {
		return nil, err
	}
	for p.isOp("+") || p.isOp("-") || p.isOp(".") {
		if p.isOp("+") {
			return nil, p.errf(p.peek(), "operator + is not implemented by the test evaluator")
		}
		op := p.next().text
		r, err := p.mul()
		if err != nil {
			return nil, err
		}
		l = binary{op, l, r}
	}
	return l, nil
}

func (p *parser) mul() (Expr, error) {
	l, err := p.unaryMinus()
	if err != nil {
		return nil, err
	}
	if p.isOp("*") || p.isOp("/") || p.isOp("%") {
		return nil, p.errf(p.peek(), "operator %s is not implemented by the test evaluator", p.peek().text)
	}
	return l, nil
}

func (p *parser) unaryMinus() (Expr, error) {
	if p.isOp("-") {
		return nil, p.errf(p.peek(), "unary - is not implemented by the test evaluator")
	}
	return p.primary()
}

func (p *parser) primary() (Expr, error) {
	t := p.next()
	switch t.kind {
	case tStr:
		return strLit{t.text}, nil
	case tNum:
		var f float64
		if _, err := fmt.Sscan(t.text, &f); err != nil {
			return nil, p.errf(t, "bad number %q", t.text)
		}
		return numLit{f, t.text}, nil
	case tQuoted:
		return fieldRef{t.text}, nil
	case tIdent:
		if evalKeywords[t.text] {
			return nil, p.errf(t, "unexpected keyword %s", t.text)
		}
		if p.isOp("(") {
			p.next()
			fn, ok := evalFuncs[t.text]
			if !ok {
				return nil, p.errf(t, "function %s() is not implemented by the test evaluator", t.text)
			}
			var args []Expr
			for !p.isOp(")") {
				a, err := p.or()
				if err != nil {
					return nil, err
				}
				args = append(args, a)
				if p.isOp(",") {
					p.next()
					continue
				}
				if !p.isOp(")") {
					return nil, p.errf(p.peek(), "expected , or ) in %s()", t.text)
				}
			}
			p.next()
			if len(args) < fn.minArgs || (fn.maxArgs >= 0 && len(args) > fn.maxArgs) {
				return nil, p.errf(t, "%s() takes %s arguments, got %d", t.text, fn.arity(), len(args))
			}
			return call{t.text, args}, nil
		}
		return fieldRef{t.text}, nil
	case tOp:
		if t.text == "(" {
			e, err := p.or()
			if err != nil {
				return nil, err
			}
			if !p.isOp(")") {
				return nil, p.errf(p.peek(), "expected )")
			}
			p.next()
			return e, nil
		}
	}
	if t.kind == tEOF {
		return nil, p.errf(t, "unexpected end of expression")
	}
	return nil, p.errf(t, "unexpected %q", t.text)
}

// FieldRefs returns the names of the fields an expression reads.
func FieldRefs(e Expr) []string {
	var out []string
	seen := map[string]bool{}
	var walk func(Expr)
	walk = func(e Expr) {
		switch x := e.(type) {
		case fieldRef:
			if !seen[x.name] {
				seen[x.name] = true
				out = append(out, x.name)
			}
		case call:
			for _, a := range x.args {
				walk(a)
			}
		case binary:
			walk(x.l)
			walk(x.r)
		}
	}
	walk(e)
	return out
}

// OperatorNames returns the operators an expression uses.
func OperatorNames(e Expr) []string {
	var out []string
	var walk func(Expr)
	walk = func(e Expr) {
		switch x := e.(type) {
		case call:
			for _, a := range x.args {
				walk(a)
			}
		case binary:
			out = append(out, x.op)
			walk(x.l)
			walk(x.r)
		}
	}
	walk(e)
	return out
}

// FuncNames returns the eval functions an expression calls.
func FuncNames(e Expr) []string {
	var out []string
	var walk func(Expr)
	walk = func(e Expr) {
		switch x := e.(type) {
		case call:
			out = append(out, x.name)
			for _, a := range x.args {
				walk(a)
			}
		case binary:
			walk(x.l)
			walk(x.r)
		}
	}
	walk(e)
	return out
}
