package dashboards

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
)

// Macro is one search macro of macros.conf.
type Macro struct {
	Args       []string
	Definition string
}

// Catalog is what the app defines and what its data holds: everything a dashboard search may use.
type Catalog struct {
	// Macros by stanza name: "name" or "name(N)" for a macro of N arguments.
	Macros map[string]Macro
	// Sourcetypes the app defines (props.conf stanzas, inputs.conf sourcetype values).
	Sourcetypes map[string]bool
	// Eventtypes of eventtypes.conf.
	Eventtypes map[string]bool
	// Fields present in the sample events (KV_MODE=json names: a.b, a{}.b) or defined at
	// search time by props.conf / transforms.conf, and the extra fields of the allow-list.
	Fields map[string]bool
	// InternalFields are fields of splunkd's own logs, allowed only in index=_internal searches.
	InternalFields map[string]bool
	// BySourcetype holds, per sourcetype, the fields of its sample events and of its props.conf
	// stanza (plus the extra allow-list). A search that names sourcetypes may read only fields
	// of one of them; nil means Fields is used for every search.
	BySourcetype map[string]map[string]bool
}

// IndexMacro is the macro that scopes every search over the add-on's data.
const IndexMacro = "m365_defender_index"

// indexPlaceholder stands for the index macro's expansion during a check.
const indexPlaceholder = "M365_DEFENDER_INDEX"

// defaultFields exist on every event.
var defaultFields = set("_time", "_raw", "_indextime", "_cd", "_serial", "_bkt", "host", "source",
	"sourcetype", "index", "eventtype", "tag", "splunk_server", "linecount", "punct", "timestartpos",
	"timeendpos", "date_hour", "date_mday", "date_minute", "date_month", "date_second", "date_wday",
	"date_year", "date_zone")

// evalFunctions are the eval functions the checker accepts; a typo in a function name is reported.
var evalFunctions = set("abs", "case", "ceiling", "ceil", "cidrmatch", "coalesce", "commands", "exact",
	"exp", "false", "floor", "if", "in", "isint", "isnotnull", "isnull", "isnum", "isstr", "json_extract",
	"json_object", "len", "like", "ln", "log", "lower", "ltrim", "match", "max", "md5", "min", "mvappend",
	"mvcount", "mvdedup", "mvfilter", "mvfind", "mvindex", "mvjoin", "mvmap", "mvrange", "mvsort", "mvzip",
	"now", "null", "nullif", "pi", "pow", "printf", "random", "relative_time", "replace", "round", "rtrim",
	"searchmatch", "sha1", "sha256", "sigfig", "spath", "split", "sqrt", "strftime", "strptime", "substr",
	"time", "tonumber", "tostring", "trim", "true", "typeof", "upper", "urldecode", "validate")

// statsFunctions are the aggregations of stats, chart and timechart.
var statsFunctions = set("avg", "c", "count", "dc", "distinct_count", "earliest", "earliest_time",
	"estdc", "first", "last", "latest", "latest_time", "list", "max", "mean", "median", "min", "mode",
	"range", "stdev", "stdevp", "sum", "sumsq", "values", "var", "varp", "per_second", "per_minute",
	"per_hour", "per_day", "rate")

var percentileFunc = regexp.MustCompile(`^(?:p|perc|exactperc|upperperc)\d{1,2}(?:\.\d+)?$`)

// commandOptions are the key=value options of each command that are not field references.
var commandOptions = map[string][]string{
	"stats":      {"partitions", "allnum", "delim"},
	"eventstats": {"allnum"},
	"streamstats": {"current", "window", "global", "allnum", "reset_on_change", "reset_before",
		"reset_after", "time_window"},
	"chart":     {"agg", "sep", "format", "cont", "limit", "sep", "useother", "usenull", "nullstr", "otherstr", "bins", "span", "start", "end", "minspan"},
	"timechart": {"agg", "sep", "format", "cont", "limit", "useother", "usenull", "nullstr", "otherstr", "bins", "span", "minspan", "fixedrange", "partial", "aligntime"},
	"top":       {"limit", "countfield", "percentfield", "showcount", "showperc", "useother", "otherstr"},
	"rare":      {"limit", "countfield", "percentfield", "showcount", "showperc", "useother", "otherstr"},
	"dedup":     {"keepevents", "keepempty", "consecutive"},
	"mvexpand":  {"limit"},
	"rex":       {"field", "max_match", "mode", "offset_field"},
	"spath":     {"input", "output", "path"},
	"bin":       {"span", "bins", "minspan", "start", "end", "aligntime"},
	"bucket":    {"span", "bins", "minspan", "start", "end", "aligntime"},
	"fillnull":  {"value"},
	"makemv":    {"delim", "tokenizer", "allowempty", "setsv"},
	"head":      {"limit", "null", "keeplast"},
	"tail":      {},
	"sort":      {},
	"table":     {},
	"fields":    {},
	"rename":    {},
	"where":     {},
	"eval":      {},
	"search":    {},
}

// Result is what Check learned about one search.
type Result struct {
	// Problems found, each naming the command and the offending name; empty when the search is fine.
	Problems []string
	// Columns of the final table when the search ends with table (and rename), else nil.
	Columns []string
	// UsesIndexMacro is true when the search expands the m365_defender_index macro.
	UsesIndexMacro bool
	// Internal is true when the search reads index=_internal.
	Internal bool
	// Macros the search uses (transitively).
	Macros []string
	// Eventtypes and Sourcetypes named in the search.
	Eventtypes, Sourcetypes []string

	defset map[string]bool // fields the search created
	// kept lists the field patterns a final fields or table command kept (nil: no such
	// command); a chain extending this search may read only those and its own fields.
	kept      []string
	keptTable bool // kept by table: internal fields are gone too
}

// Check analyses one SPL search (a data source query, after dashboard tokens were substituted)
// against the catalog. base is the already-checked search a ds.chain extends, or nil.
func Check(query string, cat *Catalog, base *Result) *Result {
	r := &Result{}
	st := &state{cat: cat, res: r, defined: map[string]bool{}}
	if base != nil {
		for f := range base.defined() {
			st.defined[f] = true
		}
		r.Internal = base.Internal
		r.UsesIndexMacro = base.UsesIndexMacro
		r.Sourcetypes = append(r.Sourcetypes, base.Sourcetypes...)
		if base.kept != nil {
			st.restrict, st.tableOnly, st.local = base.kept, base.keptTable, map[string]bool{}
		}
	}
	used := map[string]bool{}
	expanded, err := expandMacros(query, cat.Macros, used, 0)
	if err != nil {
		r.Problems = append(r.Problems, err.Error())
		return r
	}
	for m := range used {
		r.Macros = append(r.Macros, m)
		if m == IndexMacro {
			r.UsesIndexMacro = true
		}
	}
	sort.Strings(r.Macros)
	segs, err := splitPipeline(expanded)
	if err != nil {
		r.Problems = append(r.Problems, err.Error())
		return r
	}
	for i, seg := range segs {
		seg = strings.TrimSpace(seg)
		if i == 0 && base == nil {
			if seg == "" {
				continue // a generating command follows
			}
			if f := strings.Fields(seg); len(f) == 0 || f[0] != "search" {
				seg = "search " + seg
			}
		} else if seg == "" {
			r.problem("empty command between two pipes")
			continue
		}
		name, args := seg, ""
		if i := strings.IndexAny(seg, " \t\r\n"); i >= 0 {
			name, args = seg[:i], seg[i+1:]
		}
		name = strings.ToLower(name)
		st.cmd = name
		st.command(name, strings.TrimSpace(args))
	}
	r.defset = st.defined
	r.kept, r.keptTable = st.restrict, st.tableOnly
	return r
}

// defined returns the fields the search created.
func (r *Result) defined() map[string]bool { return r.defset }

type state struct {
	cat     *Catalog
	res     *Result
	defined map[string]bool
	cmd     string
	spathed bool // a spath input=<field> ran: names inside evidence objects are allowed

	fieldsFor  map[string]bool // dataFields cache, for fieldsForN sourcetypes
	fieldsForN int

	// restrict holds the field patterns of the last fields/table command (nil: none); after it
	// only those fields, internal _ fields (fields only) and fields created since (local) exist.
	restrict  []string
	tableOnly bool
	local     map[string]bool
}

func (r *Result) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

func (st *state) define(f string) {
	if f != "" {
		st.defined[f] = true
		if st.local != nil {
			st.local[f] = true
		}
	}
}

// ref checks that a field read by the current command exists.
func (st *state) ref(f string) {
	f = strings.TrimSpace(f)
	if f == "" || strings.Contains(f, "*") || isNumber(f) {
		return
	}
	if st.known(f) {
		return
	}
	st.res.problem("%s: unknown field %q (not in the sample events, not defined by props/transforms, not created earlier in the search)", st.cmd, f)
}

func (st *state) known(f string) bool {
	if st.restrict != nil {
		if st.local[f] {
			return true
		}
		kept := !st.tableOnly && strings.HasPrefix(f, "_")
		for _, p := range st.restrict {
			if ok, _ := path.Match(p, f); ok || p == f {
				kept = true
			}
		}
		if !kept {
			return false
		}
		// kept by a pattern such as m365_*: it must still exist before the fields command
	}
	if st.defined[f] || defaultFields[f] || st.dataFields()[f] {
		return true
	}
	if st.res.Internal && st.cat.InternalFields[f] {
		return true
	}
	if st.spathed {
		// spath input=<an object taken from a JSON array> creates the object's own names:
		// the part of a known field after one of its "{}.".
		for k := range st.dataFields() {
			for i := strings.Index(k, "{}."); i >= 0; {
				k = k[i+3:]
				if k == f || strings.HasPrefix(k, f+".") || strings.HasPrefix(k, f+"{}") {
					return true
				}
				i = strings.Index(k, "{}.")
			}
		}
	}
	return false
}

// dataFields are the data's fields the search may read: those of the sourcetypes it names
// (when the catalog knows fields per sourcetype), else every field.
func (st *state) dataFields() map[string]bool {
	if st.cat.BySourcetype == nil || len(st.res.Sourcetypes) == 0 {
		return st.cat.Fields
	}
	if st.fieldsFor != nil && st.fieldsForN == len(st.res.Sourcetypes) {
		return st.fieldsFor
	}
	m := map[string]bool{}
	for _, s := range st.res.Sourcetypes {
		for f := range st.cat.BySourcetype[s] {
			m[f] = true
		}
	}
	st.fieldsFor, st.fieldsForN = m, len(st.res.Sourcetypes)
	return m
}

// knownPath reports whether p names a known field or a JSON object/array holding known fields.
func (st *state) knownPath(p string) bool {
	if st.known(p) {
		return true
	}
	for k := range st.dataFields() {
		if strings.HasPrefix(k, p+".") || strings.HasPrefix(k, p+"{}") {
			return true
		}
	}
	return false
}

func (st *state) command(name, args string) {
	opts, ok := commandOptions[name]
	if !ok {
		st.res.problem("command %q is not known to the dashboard checker: teach it (src/dashboards/spl.go) before using it", name)
		return
	}
	args, kv := stripOptions(args, opts)
	switch name {
	case "search":
		st.search(args)
	case "where":
		st.expr(lexEval(args))
	case "eval":
		st.eval(args)
	case "stats", "eventstats", "streamstats", "chart", "timechart":
		st.stats(args)
	case "top", "rare":
		for _, w := range splitFields(args) {
			if strings.EqualFold(w, "by") {
				continue
			}
			st.ref(w)
		}
		st.define(orDefault(kv["countfield"], "count"))
		st.define(orDefault(kv["percentfield"], "percent"))
		st.res.Columns = nil
	case "table", "fields":
		var cols []string
		remove := false
		for _, w := range splitFields(args) {
			if w == "-" || w == "+" {
				remove = w == "-"
				continue
			}
			st.ref(w)
			cols = append(cols, w)
		}
		if name == "table" {
			st.res.Columns = cols
		}
		if !remove {
			st.restrict, st.tableOnly, st.local = cols, name == "table", map[string]bool{}
		}
	case "rename":
		st.rename(args)
	case "sort":
		st.sortFields(lexSearch(args), true)
	case "dedup":
		ws := lexSearch(args)
		if len(ws) > 0 && isNumber(ws[0].text) {
			ws = ws[1:]
		}
		for i, w := range ws {
			if w.kind == tWord && strings.EqualFold(w.text, "sortby") {
				st.sortFields(ws[i+1:], false)
				break
			}
			if w.kind != tOp {
				st.ref(w.text)
			}
		}
	case "head", "tail":
		if a := strings.TrimSpace(args); a != "" && !isNumber(a) {
			st.expr(lexEval(a))
		}
	case "mvexpand", "makemv", "fillnull":
		for _, w := range splitFields(args) {
			st.ref(w)
		}
	case "bin", "bucket":
		ws := splitFields(args)
		for i := 0; i < len(ws); i++ {
			if strings.EqualFold(ws[i], "as") && i+1 < len(ws) {
				st.define(ws[i+1])
				i++
				continue
			}
			st.ref(ws[i])
		}
	case "rex":
		st.rex(args, kv)
	case "spath":
		st.spath(args, kv)
	}
	if name != "table" && name != "rename" && name != "sort" && name != "head" && name != "tail" && name != "where" && name != "search" && name != "dedup" && name != "fields" {
		st.res.Columns = nil
	}
}

// sortFields checks a sort list: [N] [+|-]field or [+|-]num(field) (also str, ip, auto), comma or
// space separated.
func (st *state) sortFields(toks []token, leadingLimit bool) {
	if leadingLimit && len(toks) > 0 && isNumber(toks[0].text) {
		toks = toks[1:]
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.kind == tOp {
			continue
		}
		w := strings.TrimLeft(t.text, "+-")
		if w == "" {
			continue
		}
		if i+3 < len(toks) && toks[i+1].text == "(" && toks[i+3].text == ")" {
			switch strings.ToLower(w) {
			case "num", "str", "ip", "auto":
				st.ref(toks[i+2].text)
				i += 3
				continue
			}
			st.res.problem("sort: unknown sort function %s()", w)
			i += 3
			continue
		}
		st.ref(w)
	}
}

// stripOptions removes the command's key=value options from args and returns them.
func stripOptions(args string, opts []string) (string, map[string]string) {
	kv := map[string]string{}
	if len(opts) == 0 {
		return args, kv
	}
	re := regexp.MustCompile(`(?i)(^|\s)(` + strings.Join(opts, "|") + `)\s*=\s*("(?:[^"\\]|\\.)*"|\S+)`)
	out := re.ReplaceAllStringFunc(args, func(m string) string {
		sm := re.FindStringSubmatch(m)
		kv[strings.ToLower(sm[2])] = unquote(sm[3])
		return sm[1]
	})
	return out, kv
}

// search checks the terms of a search command: field=value comparisons, sourcetype, eventtype,
// index, and IN lists.
func (st *state) search(args string) {
	toks := lexSearch(args)
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.kind != tWord {
			continue
		}
		if i+1 < len(toks) && toks[i+1].kind == tOp && isComparison(toks[i+1].text) {
			if i+2 >= len(toks) {
				st.res.problem("search: %s%s without a value", t.text, toks[i+1].text)
				return
			}
			field, value := t.text, toks[i+2].text
			i += 2
			switch strings.ToLower(field) {
			case "index":
				if value == "_internal" {
					st.res.Internal = true
				} else if value != indexPlaceholder {
					st.res.problem("search: index=%s: scope searches with the `%s` macro (or index=_internal for the add-on's logs)", value, IndexMacro)
				}
			case "sourcetype":
				st.res.Sourcetypes = append(st.res.Sourcetypes, value)
				if !st.cat.Sourcetypes[value] && !(st.res.Internal && value == "splunkd") {
					st.res.problem("search: sourcetype %q is not one the app defines", value)
				}
			case "eventtype":
				st.res.Eventtypes = append(st.res.Eventtypes, value)
				if !matchAny(value, st.cat.Eventtypes) {
					st.res.problem("search: eventtype %q is not defined in eventtypes.conf", value)
				}
			case "earliest", "latest", "tag":
			default:
				st.ref(field)
			}
			continue
		}
		if i+1 < len(toks) && strings.EqualFold(toks[i+1].text, "IN") && toks[i+1].kind == tWord {
			st.ref(t.text)
			for i += 2; i < len(toks) && toks[i].text != ")"; i++ {
			}
			continue
		}
	}
}

// eval checks "f1=expr1, f2=expr2" and defines each target.
func (st *state) eval(args string) {
	toks := lexEval(args)
	for _, part := range splitTop(toks, ",") {
		if len(part) < 2 || part[1].kind != tOp || part[1].text != "=" ||
			(part[0].kind != tWord && part[0].kind != tField) {
			st.res.problem("eval: expected name=expression, got %q", joinToks(part))
			continue
		}
		st.expr(part[2:])
		st.define(part[0].text)
	}
}

var evalKeywords = set("and", "or", "not", "xor", "like", "in")

// expr checks an eval/where expression: field references must exist, functions must be known.
func (st *state) expr(toks []token) {
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch t.kind {
		case tField:
			st.ref(t.text)
		case tWord:
			if isNumber(t.text) {
				continue
			}
			if i+1 < len(toks) && toks[i+1].text == "(" && toks[i+1].kind == tOp {
				if !evalFunctions[strings.ToLower(t.text)] {
					st.res.problem("%s: unknown eval function %s()", st.cmd, t.text)
				}
				continue
			}
			if evalKeywords[strings.ToLower(t.text)] {
				continue
			}
			st.ref(t.text)
		}
	}
}

// stats checks aggregations "fn(field) [as name]", "count", "by f1, f2", "over f".
func (st *state) stats(args string) {
	toks := lexEval(args)
	mode := "agg"
	last := ""
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.kind == tOp && t.text == "," {
			continue
		}
		low := strings.ToLower(t.text)
		switch {
		case t.kind == tWord && (low == "by" || low == "over"):
			mode = low
			continue
		case t.kind == tWord && low == "as" && i+1 < len(toks):
			st.define(toks[i+1].text)
			last = ""
			i++
			continue
		}
		if mode != "agg" {
			if t.kind == tWord || t.kind == tField {
				st.ref(t.text)
				st.define(t.text)
			}
			continue
		}
		if t.kind != tWord {
			st.res.problem("%s: unexpected %q", st.cmd, t.text)
			continue
		}
		if last != "" {
			st.define(last)
		}
		if i+1 < len(toks) && toks[i+1].text == "(" {
			if !statsFunctions[low] && !percentileFunc.MatchString(low) {
				st.res.problem("%s: unknown aggregation %s()", st.cmd, t.text)
			}
			end := matchParen(toks, i+1)
			inner := toks[i+2 : end]
			if len(inner) > 0 && strings.EqualFold(inner[0].text, "eval") {
				st.expr(inner[1:])
			} else {
				for _, a := range inner {
					if a.kind == tWord || a.kind == tField {
						st.ref(a.text)
					}
				}
			}
			last = t.text + "(" + joinToks(inner) + ")"
			i = end
			continue
		}
		if low == "count" || low == "c" {
			last = "count"
			continue
		}
		st.res.problem("%s: %q is not an aggregation", st.cmd, t.text)
	}
	if last != "" {
		st.define(last)
	}
}

func (st *state) rename(args string) {
	ws := splitFields(args)
	cols := st.res.Columns
	for i := 0; i < len(ws); i += 3 {
		if i+2 >= len(ws) || !strings.EqualFold(ws[i+1], "as") {
			st.res.problem("rename: expected old AS new, got %q", strings.Join(ws[i:], " "))
			return
		}
		from, to := ws[i], ws[i+2]
		st.ref(from)
		st.define(to)
		for j, c := range cols {
			if c == from {
				cols[j] = to
			}
		}
	}
	st.res.Columns = cols
}

var namedGroup = regexp.MustCompile(`\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>`)

func (st *state) rex(args string, kv map[string]string) {
	if f := kv["field"]; f != "" {
		st.ref(f)
	}
	toks := lexSearch(args)
	if len(toks) != 1 || toks[0].kind != tString {
		st.res.problem("rex: expected one quoted regular expression, got %q", args)
		return
	}
	re := toks[0].text
	if _, err := regexp.Compile(re); err != nil && kv["mode"] == "" {
		st.res.problem("rex: regular expression %q does not compile: %v", re, err)
	}
	for _, m := range namedGroup.FindAllStringSubmatch(re, -1) {
		st.define(m[1])
	}
}

func (st *state) spath(args string, kv map[string]string) {
	if strings.TrimSpace(args) != "" {
		kv["path"] = strings.TrimSpace(args)
	}
	if in := kv["input"]; in != "" {
		st.ref(in)
	}
	p := kv["path"]
	if p != "" && kv["input"] == "" && !st.knownPath(p) {
		st.res.problem("spath: path %q holds no known field", p)
	}
	switch {
	case kv["output"] != "":
		st.define(kv["output"])
	case p != "":
		st.define(p)
	case kv["input"] != "":
		st.spathed = true
	}
}

// ---- lexing -----------------------------------------------------------------------------

type tokKind int

const (
	tWord   tokKind = iota // bare word: field, value, keyword, number
	tString                // "double-quoted" (text is the unescaped content)
	tField                 // 'single-quoted' field name (eval)
	tOp                    // operator or punctuation
)

type token struct {
	kind tokKind
	text string
}

func isComparison(op string) bool {
	switch op {
	case "=", "==", "!=", "<", ">", "<=", ">=":
		return true
	}
	return false
}

// lexSearch splits search-command text: words run until whitespace, quotes, parentheses,
// commas or comparison operators.
func lexSearch(s string) []token {
	return lex(s, func(r byte) bool {
		return !strings.ContainsRune(" \t\r\n\"'(),=!<>", rune(r))
	})
}

// lexEval splits eval-expression text: words are letters, digits and underscores (and the
// dots of numbers); everything else is an operator.
func lexEval(s string) []token {
	return lex(s, func(r byte) bool {
		return r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
	})
}

func lex(s string, wordByte func(byte) bool) []token {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '"' || c == '\'':
			j := i + 1
			var b strings.Builder
			for j < len(s) && s[j] != c {
				if s[j] == '\\' && j+1 < len(s) && c == '"' {
					j++
					if s[j] != '"' && s[j] != '\\' {
						b.WriteByte('\\')
					}
				}
				b.WriteByte(s[j])
				j++
			}
			k := tString
			if c == '\'' {
				k = tField
			}
			toks = append(toks, token{k, b.String()})
			i = j + 1
		case wordByte(c):
			j := i
			for j < len(s) && wordByte(s[j]) {
				j++
			}
			// a number with a fraction ("0.5") is one word
			if isNumber(s[i:j]) && j+1 < len(s) && s[j] == '.' && s[j+1] >= '0' && s[j+1] <= '9' {
				j++
				for j < len(s) && s[j] >= '0' && s[j] <= '9' {
					j++
				}
			}
			toks = append(toks, token{tWord, s[i:j]})
			i = j
		default:
			if i+1 < len(s) && strings.Contains("== != <= >=", s[i:i+2]) && s[i+1] == '=' {
				toks = append(toks, token{tOp, s[i : i+2]})
				i += 2
				continue
			}
			toks = append(toks, token{tOp, string(c)})
			i++
		}
	}
	return toks
}

func splitTop(toks []token, sep string) [][]token {
	var parts [][]token
	depth, start := 0, 0
	for i, t := range toks {
		if t.kind != tOp {
			continue
		}
		switch t.text {
		case "(":
			depth++
		case ")":
			depth--
		case sep:
			if depth == 0 {
				parts = append(parts, toks[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, toks[start:])
}

func matchParen(toks []token, open int) int {
	depth := 0
	for i := open; i < len(toks); i++ {
		if toks[i].kind != tOp {
			continue
		}
		switch toks[i].text {
		case "(":
			depth++
		case ")":
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return len(toks) - 1
}

func joinToks(toks []token) string {
	var parts []string
	for _, t := range toks {
		switch t.kind {
		case tString:
			parts = append(parts, `"`+t.text+`"`)
		case tField:
			parts = append(parts, `'`+t.text+`'`)
		default:
			parts = append(parts, t.text)
		}
	}
	return strings.Join(parts, "")
}

// splitFields splits a field list separated by spaces and/or commas; quoted names are unquoted.
func splitFields(s string) []string {
	var out []string
	for _, t := range lexSearch(s) {
		if t.kind == tOp && t.text == "," {
			continue
		}
		out = append(out, t.text)
	}
	return out
}

// splitPipeline splits a search at the pipes outside quotes and subsearch brackets.
func splitPipeline(q string) ([]string, error) {
	var segs []string
	var quote byte
	depth, start := 0, 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		if quote != 0 {
			if c == '\\' && quote == '"' {
				i++
			} else if c == quote {
				quote = 0
			}
			continue
		}
		switch c {
		case '"', '\'':
			quote = c
		case '[':
			return nil, fmt.Errorf("subsearches are not supported by the dashboard checker")
		case '(':
			depth++
		case ')':
			depth--
		case '|':
			if depth == 0 {
				segs = append(segs, q[start:i])
				start = i + 1
			}
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if depth != 0 {
		return nil, fmt.Errorf("unbalanced parentheses")
	}
	return append(segs, q[start:]), nil
}

var macroRef = regexp.MustCompile("`([^`]*)`")

// expandMacros replaces every `macro` and `macro(args)` by its definition, recursively.
func expandMacros(q string, macros map[string]Macro, used map[string]bool, depth int) (string, error) {
	if depth > 20 {
		return "", fmt.Errorf("macros nest deeper than 20 levels")
	}
	var firstErr error
	out := macroRef.ReplaceAllStringFunc(q, func(m string) string {
		call := strings.TrimSpace(m[1 : len(m)-1])
		name, rest, hasArgs := strings.Cut(call, "(")
		name = strings.TrimSpace(name)
		var args []string
		key := name
		if hasArgs {
			if !strings.HasSuffix(rest, ")") {
				firstErr = fmt.Errorf("macro call %s: missing )", m)
				return m
			}
			args = splitMacroArgs(strings.TrimSuffix(rest, ")"))
			key = fmt.Sprintf("%s(%d)", name, len(args))
		}
		mac, ok := macros[key]
		if !ok {
			if firstErr == nil {
				firstErr = fmt.Errorf("macro %q is not defined in macros.conf", key)
			}
			return m
		}
		used[key] = true
		if key == IndexMacro {
			// the macro's own definition is checked apart (users override it); here it
			// only marks the search as scoped
			return "index=" + indexPlaceholder
		}
		def := mac.Definition
		for i, a := range mac.Args {
			if i < len(args) {
				def = strings.ReplaceAll(def, "$"+a+"$", args[i])
			}
		}
		exp, err := expandMacros(def, macros, used, depth+1)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return exp
	})
	return out, firstErr
}

func splitMacroArgs(s string) []string {
	var args []string
	var quote byte
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			args = append(args, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	return append(args, strings.TrimSpace(s[start:]))
}

// ---- helpers ---------------------------------------------------------------------------

func set(items ...string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, s := range items {
		m[s] = true
	}
	return m
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	dot := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
		case c == '.' && !dot && i > 0:
			dot = true
		case c == '-' && i == 0 && len(s) > 1:
		default:
			return false
		}
	}
	return true
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		toks := lexSearch(s)
		if len(toks) == 1 && toks[0].kind == tString {
			return toks[0].text
		}
	}
	return s
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// matchAny reports whether the eventtype value (which may hold * wildcards) names a defined
// eventtype. A defined name with a %field% template (m365_defender_ah_%ah_table%) stands for
// every name its template can produce.
func matchAny(value string, names map[string]bool) bool {
	if names[value] {
		return true
	}
	for n := range names {
		if ok, _ := path.Match(value, n); ok {
			return true
		}
		if tmpl := templateField.ReplaceAllString(n, "*"); tmpl != n {
			if ok, _ := path.Match(tmpl, value); ok && !strings.Contains(value, "*") {
				return true
			}
			if strings.Contains(value, "*") {
				if ok, _ := path.Match(value, strings.ReplaceAll(tmpl, "*", "X")); ok {
					return true
				}
			}
		}
	}
	return false
}

var templateField = regexp.MustCompile(`%[A-Za-z_][A-Za-z0-9_]*%`)
