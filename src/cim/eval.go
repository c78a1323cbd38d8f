package cim

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Kind is the type of an eval value.
type Kind int

// The eval value kinds.
const (
	Null Kind = iota
	String
	Number
	Bool
	Multi
)

// Value is the result of evaluating an expression.
type Value struct {
	Kind Kind
	Str  string
	Num  float64
	Bool bool
	MV   []string
}

var null = Value{}

func str(s string) Value   { return Value{Kind: String, Str: s} }
func num(n float64) Value  { return Value{Kind: Number, Num: n} }
func boolean(b bool) Value { return Value{Kind: Bool, Bool: b} }
func fromVals(v []string) Value {
	switch len(v) {
	case 0:
		return null
	case 1:
		return str(v[0])
	}
	return Value{Kind: Multi, MV: slices.Clone(v)}
}

// Values converts the value to field values (nil for null).
func (v Value) Values() []string {
	switch v.Kind {
	case Null:
		return nil
	case Multi:
		return slices.Clone(v.MV)
	}
	s, _ := v.text()
	return []string{s}
}

func (v Value) text() (string, bool) {
	switch v.Kind {
	case String:
		return v.Str, true
	case Number:
		return formatNum(v.Num), true
	case Bool:
		return strconv.FormatBool(v.Bool), true
	}
	return "", false
}

func formatNum(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func (v Value) number() (float64, bool) {
	switch v.Kind {
	case Number:
		return v.Num, true
	case String:
		f, err := strconv.ParseFloat(strings.TrimSpace(v.Str), 64)
		return f, err == nil
	}
	return 0, false
}

// ErrMultivalue is returned when a scalar operation meets a multivalue field,
// whose meaning in Splunk depends on the function; the add-on's expressions
// must use the mv* functions for those.
var ErrMultivalue = errors.New("scalar operation on a multivalue value")

type evalFunc struct {
	minArgs, maxArgs int // maxArgs < 0: unbounded
	// lazy functions get the unevaluated arguments
	lazy func(env *evalEnv, args []Expr) (Value, error)
	fn   func(args []Value) (Value, error)
}

func (f evalFunc) arity() string {
	switch {
	case f.maxArgs < 0:
		return fmt.Sprintf("at least %d", f.minArgs)
	case f.minArgs == f.maxArgs:
		return strconv.Itoa(f.minArgs)
	}
	return fmt.Sprintf("%d to %d", f.minArgs, f.maxArgs)
}

type evalEnv struct {
	funcs  map[string]evalFunc
	fields Fields
	// bound overrides one field with a single value (mvfilter).
	boundName string
	boundVal  *string
}

func (env *evalEnv) field(name string) Value {
	if env.boundVal != nil && name == env.boundName {
		return str(*env.boundVal)
	}
	return fromVals(env.fields[name])
}

// Eval evaluates a parsed expression against fields.
func Eval(e Expr, f Fields) (Value, error) {
	return (&evalEnv{funcs: evalFuncs, fields: f}).eval(e)
}

func (env *evalEnv) eval(e Expr) (Value, error) {
	switch x := e.(type) {
	case strLit:
		return str(x.s), nil
	case numLit:
		return num(x.n), nil
	case fieldRef:
		return env.field(x.name), nil
	case call:
		fn, ok := env.funcs[x.name]
		if !ok {
			return null, fmt.Errorf("cim: eval: function %s() is not implemented", x.name)
		}
		if fn.lazy != nil {
			return fn.lazy(env, x.args)
		}
		args := make([]Value, len(x.args))
		for i, a := range x.args {
			v, err := env.eval(a)
			if err != nil {
				return null, err
			}
			args[i] = v
		}
		v, err := fn.fn(args)
		if err != nil {
			return null, fmt.Errorf("%s(): %w", x.name, err)
		}
		return v, nil
	case binary:
		return env.binary(x)
	}
	return null, fmt.Errorf("cim: eval: unknown node %T", e)
}

func truth(v Value) (bool, error) {
	switch v.Kind {
	case Bool:
		return v.Bool, nil
	case Null:
		return false, nil
	}
	return false, fmt.Errorf("expected a boolean, got %s", v.describe())
}

func (v Value) describe() string {
	switch v.Kind {
	case Null:
		return "null"
	case String:
		return fmt.Sprintf("string %q", v.Str)
	case Number:
		return "number " + formatNum(v.Num)
	case Bool:
		return "boolean"
	}
	return fmt.Sprintf("multivalue %q", v.MV)
}

func (env *evalEnv) binary(x binary) (Value, error) {
	l, err := env.eval(x.l)
	if err != nil {
		return null, err
	}
	if x.op == "AND" || x.op == "OR" {
		lb, err := truth(l)
		if err != nil {
			return null, fmt.Errorf("%s: %w", x.op, err)
		}
		if x.op == "AND" && !lb {
			return boolean(false), nil
		}
		if x.op == "OR" && lb {
			return boolean(true), nil
		}
		r, err := env.eval(x.r)
		if err != nil {
			return null, err
		}
		rb, err := truth(r)
		if err != nil {
			return null, fmt.Errorf("%s: %w", x.op, err)
		}
		return boolean(rb), nil
	}
	r, err := env.eval(x.r)
	if err != nil {
		return null, err
	}
	if l.Kind == Multi || r.Kind == Multi {
		return null, fmt.Errorf("operator %s: %w (%s, %s)", x.op, ErrMultivalue, l.describe(), r.describe())
	}
	switch x.op {
	case ".":
		ls, lok := l.text()
		rs, rok := r.text()
		if !lok || !rok {
			return null, nil
		}
		return str(ls + rs), nil
	case "-":
		ln, lok := l.number()
		rn, rok := r.number()
		if !lok || !rok {
			return null, nil
		}
		return num(ln - rn), nil
	case "==", "!=":
		if l.Kind == Null || r.Kind == Null {
			return boolean(false), nil
		}
		c := 1
		ln, lok := l.number()
		rn, rok := r.number()
		if lok && rok {
			if ln == rn {
				c = 0
			}
		} else {
			ls, _ := l.text()
			rs, _ := r.text()
			c = strings.Compare(ls, rs)
		}
		return boolean((c == 0) == (x.op == "==")), nil
	}
	return null, fmt.Errorf("cim: eval: unknown operator %s", x.op)
}

// scalar returns the text of a single value; null gives ok=false.
func scalar(v Value) (string, bool, error) {
	if v.Kind == Multi {
		return "", false, fmt.Errorf("%w: %s", ErrMultivalue, v.describe())
	}
	s, ok := v.text()
	return s, ok, nil
}

// compileSplunkRegex compiles a PCRE-style pattern with Go's RE2 syntax. The
// subset the add-on may use is what both engines read alike; a pattern RE2
// rejects (look-around, back references) is an error.
func compileSplunkRegex(pat string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(pat)
	if err != nil {
		return nil, fmt.Errorf("regex %q: %w", pat, err)
	}
	return re, nil
}

// replacement converts a Splunk/PCRE replacement ("\1") to Go's ("${1}").
func replacement(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			b.WriteString("${" + string(s[i+1]) + "}")
			i++
		case s[i] == '$':
			b.WriteString("$$")
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// strptimeLayout converts the strptime directives the add-on uses to a Go
// layout. Unknown directives are an error.
func strptimeLayout(f string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			b.WriteByte(f[i])
			continue
		}
		if i+1 >= len(f) {
			return "", errors.New("format ends with %")
		}
		i++
		switch f[i] {
		case 'Y':
			b.WriteString("2006")
		case 'm':
			b.WriteString("01")
		case 'd':
			b.WriteString("02")
		case 'H':
			b.WriteString("15")
		case 'M':
			b.WriteString("04")
		case 'S':
			b.WriteString("05")
		case 'z':
			b.WriteString("-0700")
		case '%':
			b.WriteByte('%')
		default:
			return "", fmt.Errorf("strptime directive %%%c is not implemented by the test evaluator", f[i])
		}
	}
	return b.String(), nil
}

// Functions lists the eval functions the evaluator implements.
func Functions() []string {
	names := make([]string, 0, len(evalFuncs))
	for k := range evalFuncs {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// evalFuncs is the read-only table of implemented functions. The closures
// reach other functions through evalEnv.funcs, not through this variable, so
// the table has no initialization cycle.
var evalFuncs = buildFuncs()

func oneString(fn func(string) string) evalFunc {
	return evalFunc{minArgs: 1, maxArgs: 1, fn: func(a []Value) (Value, error) {
		s, ok, err := scalar(a[0])
		if err != nil || !ok {
			return null, err
		}
		return str(fn(s)), nil
	}}
}

func buildFuncs() map[string]evalFunc {
	return map[string]evalFunc{
		"case": {minArgs: 2, maxArgs: -1, lazy: func(env *evalEnv, args []Expr) (Value, error) {
			if len(args)%2 != 0 {
				return null, errors.New("case(): needs condition, value pairs")
			}
			for i := 0; i < len(args); i += 2 {
				c, err := env.eval(args[i])
				if err != nil {
					return null, err
				}
				b, err := truth(c)
				if err != nil {
					return null, fmt.Errorf("case() condition %d: %w", i/2+1, err)
				}
				if b {
					return env.eval(args[i+1])
				}
			}
			return null, nil
		}},
		"if": {minArgs: 3, maxArgs: 3, lazy: func(env *evalEnv, args []Expr) (Value, error) {
			c, err := env.eval(args[0])
			if err != nil {
				return null, err
			}
			b, err := truth(c)
			if err != nil {
				return null, fmt.Errorf("if() condition: %w", err)
			}
			if b {
				return env.eval(args[1])
			}
			return env.eval(args[2])
		}},
		"coalesce": {minArgs: 1, maxArgs: -1, fn: func(a []Value) (Value, error) {
			for _, v := range a {
				if v.Kind != Null {
					return v, nil
				}
			}
			return null, nil
		}},
		"null": {minArgs: 0, maxArgs: 0, fn: func([]Value) (Value, error) { return null, nil }},
		"true": {minArgs: 0, maxArgs: 0, fn: func([]Value) (Value, error) { return boolean(true), nil }},
		"isnotnull": {minArgs: 1, maxArgs: 1, fn: func(a []Value) (Value, error) {
			return boolean(a[0].Kind != Null), nil
		}},
		"nullif": {minArgs: 2, maxArgs: 2, fn: func(a []Value) (Value, error) {
			x, xok, err := scalar(a[0])
			if err != nil {
				return null, err
			}
			y, yok, err := scalar(a[1])
			if err != nil {
				return null, err
			}
			if !xok || (yok && x == y) {
				return null, nil
			}
			return a[0], nil
		}},
		"lower": oneString(strings.ToLower),
		"match": {minArgs: 2, maxArgs: 2, fn: func(a []Value) (Value, error) {
			s, ok, err := scalar(a[0])
			if err != nil {
				return null, err
			}
			pat, pok, err := scalar(a[1])
			if err != nil || !pok {
				return null, errors.New("regex must be a string")
			}
			re, err := compileSplunkRegex(pat)
			if err != nil {
				return null, err
			}
			if !ok {
				return boolean(false), nil
			}
			return boolean(re.MatchString(s)), nil
		}},
		"replace": {minArgs: 3, maxArgs: 3, fn: func(a []Value) (Value, error) {
			s, ok, err := scalar(a[0])
			if err != nil {
				return null, err
			}
			pat, _, err := scalar(a[1])
			if err != nil {
				return null, err
			}
			rep, _, err := scalar(a[2])
			if err != nil {
				return null, err
			}
			re, err := compileSplunkRegex(pat)
			if err != nil {
				return null, err
			}
			if !ok {
				return null, nil
			}
			return str(re.ReplaceAllString(s, replacement(rep))), nil
		}},
		"substr": {minArgs: 2, maxArgs: 3, fn: func(a []Value) (Value, error) {
			s, ok, err := scalar(a[0])
			if err != nil || !ok {
				return null, err
			}
			r := []rune(s)
			start, sok := a[1].number()
			if !sok {
				return null, errors.New("start must be a number")
			}
			i := int(start) - 1
			if start < 0 {
				i = len(r) + int(start)
			}
			i = max(0, min(i, len(r)))
			j := len(r)
			if len(a) == 3 {
				n, nok := a[2].number()
				if !nok {
					return null, errors.New("length must be a number")
				}
				j = max(i, min(len(r), i+int(n)))
			}
			return str(string(r[i:j])), nil
		}},
		"strptime": {minArgs: 2, maxArgs: 2, fn: func(a []Value) (Value, error) {
			s, ok, err := scalar(a[0])
			if err != nil {
				return null, err
			}
			f, _, err := scalar(a[1])
			if err != nil {
				return null, err
			}
			layout, err := strptimeLayout(f)
			if err != nil {
				return null, err
			}
			if !ok {
				return null, nil
			}
			t, err := time.Parse(layout, s)
			if err != nil {
				return null, nil // Splunk returns null for text that does not fit
			}
			return num(float64(t.Unix())), nil
		}},
		"mvdedup": {minArgs: 1, maxArgs: 1, fn: func(a []Value) (Value, error) {
			var out []string
			seen := map[string]bool{}
			for _, s := range a[0].Values() {
				if !seen[s] {
					seen[s] = true
					out = append(out, s)
				}
			}
			return fromVals(out), nil
		}},
		"mvcount": {minArgs: 1, maxArgs: 1, fn: func(a []Value) (Value, error) {
			if a[0].Kind == Null {
				return null, nil
			}
			return num(float64(len(a[0].Values()))), nil
		}},
		"mvindex": {minArgs: 2, maxArgs: 3, fn: func(a []Value) (Value, error) {
			vals := a[0].Values()
			if len(vals) == 0 {
				return null, nil
			}
			norm := func(v Value) (int, error) {
				n, ok := v.number()
				if !ok {
					return 0, errors.New("index must be a number")
				}
				i := int(n)
				if i < 0 {
					i += len(vals)
				}
				return i, nil
			}
			i, err := norm(a[1])
			if err != nil {
				return null, err
			}
			j := i
			if len(a) == 3 {
				if j, err = norm(a[2]); err != nil {
					return null, err
				}
			}
			if i < 0 || i >= len(vals) || j < i {
				return null, nil
			}
			j = min(j, len(vals)-1)
			return fromVals(vals[i : j+1]), nil
		}},
		"mvfilter": {minArgs: 1, maxArgs: 1, lazy: func(env *evalEnv, args []Expr) (Value, error) {
			refs := FieldRefs(args[0])
			if len(refs) != 1 {
				return null, fmt.Errorf("mvfilter(): the predicate must read exactly one field, it reads %q", refs)
			}
			name := refs[0]
			var out []string
			for _, v := range env.fields[name] {
				sub := &evalEnv{funcs: env.funcs, fields: env.fields, boundName: name, boundVal: &v}
				r, err := sub.eval(args[0])
				if err != nil {
					return null, fmt.Errorf("mvfilter(): %w", err)
				}
				b, err := truth(r)
				if err != nil {
					return null, fmt.Errorf("mvfilter(): %w", err)
				}
				if b {
					out = append(out, v)
				}
			}
			return fromVals(out), nil
		}},
	}
}
