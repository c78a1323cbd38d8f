package cim

import (
	"encoding/csv"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Event is one event as the add-on writes it.
type Event struct {
	Sourcetype string
	Source     string
	Host       string
	Raw        string
}

// Result is what search time makes of an event.
type Result struct {
	Fields     Fields
	Eventtypes []string
	Tags       []string
	// FieldsBefore holds the fields before FIELDALIAS, EVAL and LOOKUP: the raw
	// JSON fields plus REPORT/EXTRACT output.
	FieldsBefore Fields
	// Applied records, per setting key, whether it produced a value.
	Applied map[string]bool
}

// App is the add-on's search-time configuration, parsed and checked.
type App struct {
	Props      *Conf
	Transforms *Conf
	Eventtypes *Conf
	Tags       *Conf

	stanzas    map[string]*sourcetype
	eventtypes []eventtype
	tags       []tagRule
}

type sourcetype struct {
	name     string
	kvJSON   bool
	extracts []extract
	reports  []report
	aliases  []alias
	evals    []calc
	lookups  []lookup
}

type extract struct {
	key   string
	re    *regexp.Regexp
	field string // "" = _raw
}

type report struct {
	key, transform string
	re             *regexp.Regexp
	sourceKey      string
	format         [][2]string // name, value templates; nil = named groups
	mvAdd          bool
}

type alias struct {
	key, from, to string
	asNew         bool
}

type calc struct {
	key, field string
	expr       Expr
}

type lookup struct {
	key, transform string
	match          [][2]string // table column, event field
	output         [][2]string // table column, event field; nil = all other columns
	outputNew      bool
	header         []string
	rows           [][]string
	caseSensitive  bool
	maxMatches     int
	minMatches     int
	defaultMatch   string
}

type eventtype struct {
	name   string
	search Search
}

type tagRule struct {
	field, value string
	tags         []string
}

// Load reads default/props.conf, transforms.conf, eventtypes.conf, tags.conf
// and lookups/ from the app directory root and checks every search-time
// setting: eval expressions parse and use only implemented functions, regexes
// compile, lookups name a transforms stanza with an existing CSV file, event
// type searches parse, and tags refer to defined event types.
func Load(root string) (*App, error) {
	a := &App{stanzas: map[string]*sourcetype{}}
	var err error
	if a.Props, err = ParseConfFile(filepath.Join(root, "default", "props.conf")); err != nil {
		return nil, err
	}
	if a.Transforms, err = ParseConfFile(filepath.Join(root, "default", "transforms.conf")); err != nil {
		return nil, err
	}
	if a.Eventtypes, err = ParseConfFile(filepath.Join(root, "default", "eventtypes.conf")); err != nil {
		return nil, err
	}
	if a.Tags, err = ParseConfFile(filepath.Join(root, "default", "tags.conf")); err != nil {
		return nil, err
	}
	var errs []error
	for _, st := range a.Props.Stanzas {
		if st.Name == "default" && len(st.Settings) == 0 {
			continue
		}
		s, err := a.compileSourcetype(root, st)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		a.stanzas[st.Name] = s
	}
	for _, st := range a.Eventtypes.Stanzas {
		if st.Name == "default" {
			continue
		}
		if d, _ := st.Get("disabled"); d == "1" || strings.EqualFold(d, "true") {
			continue
		}
		q, ok := st.Get("search")
		if !ok {
			errs = append(errs, fmt.Errorf("eventtypes.conf [%s]: no search", st.Name))
			continue
		}
		s, err := ParseSearch(q)
		if err != nil {
			errs = append(errs, fmt.Errorf("eventtypes.conf [%s]: %w", st.Name, err))
			continue
		}
		a.eventtypes = append(a.eventtypes, eventtype{st.Name, s})
	}
	for _, st := range a.Tags.Stanzas {
		if st.Name == "default" {
			continue
		}
		f, v, ok := strings.Cut(st.Name, "=")
		if !ok {
			errs = append(errs, fmt.Errorf("tags.conf [%s]: stanza must be field=value", st.Name))
			continue
		}
		v, err := url.QueryUnescape(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("tags.conf [%s]: %w", st.Name, err))
			continue
		}
		r := tagRule{field: f, value: v}
		for _, kv := range st.Settings {
			switch kv.Value {
			case "enabled":
				r.tags = append(r.tags, kv.Key)
			case "disabled":
			default:
				errs = append(errs, fmt.Errorf("tags.conf [%s] %s: value must be enabled or disabled, got %q", st.Name, kv.Key, kv.Value))
			}
		}
		if f == "eventtype" && a.Eventtypes.Stanza(v) == nil {
			errs = append(errs, fmt.Errorf("tags.conf [%s]: no such event type in eventtypes.conf", st.Name))
		}
		a.tags = append(a.tags, r)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return a, nil
}

// Sourcetypes returns the props.conf stanza names.
func (a *App) Sourcetypes() []string {
	var out []string
	for k := range a.stanzas {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// EvalFields returns the EVAL-<field> settings of a sourcetype, by field.
func (a *App) EvalFields(st string) map[string]Expr {
	out := map[string]Expr{}
	if s := a.stanzas[st]; s != nil {
		for _, c := range s.evals {
			out[c.field] = c.expr
		}
	}
	return out
}

// SettingKeys returns the search-time setting keys (EXTRACT-, REPORT-,
// FIELDALIAS-, EVAL-, LOOKUP-) of a sourcetype.
func (a *App) SettingKeys(st string) []string {
	s := a.stanzas[st]
	if s == nil {
		return nil
	}
	var out []string
	for _, x := range s.extracts {
		out = append(out, x.key)
	}
	for _, x := range s.reports {
		out = append(out, x.key+"/"+x.transform)
	}
	for _, x := range s.aliases {
		out = append(out, x.key+"/"+x.to)
	}
	for _, x := range s.evals {
		out = append(out, x.key)
	}
	for _, x := range s.lookups {
		out = append(out, x.key)
	}
	return out
}

func classOf(key, prefix string) (string, bool) {
	if len(key) > len(prefix) && strings.EqualFold(key[:len(prefix)], prefix) {
		return key[len(prefix):], true
	}
	return "", false
}

func (a *App) compileSourcetype(root string, st *Stanza) (*sourcetype, error) {
	s := &sourcetype{name: st.Name}
	var errs []error
	fail := func(kv Setting, err error) {
		errs = append(errs, fmt.Errorf("props.conf [%s] %s (line %d): %w", st.Name, kv.Key, kv.Line, err))
	}
	// Settings sorted by key: Splunk applies each kind in ASCII order of class.
	settings := slices.Clone(st.Settings)
	sort.SliceStable(settings, func(i, j int) bool { return settings[i].Key < settings[j].Key })
	for _, kv := range settings {
		switch {
		case kv.Key == "KV_MODE":
			s.kvJSON = kv.Value == "json"
		case strings.HasPrefix(kv.Key, "EXTRACT-"):
			pat, field := kv.Value, ""
			if i := strings.LastIndex(pat, " in "); i >= 0 && regexp.MustCompile(`^\w+$`).MatchString(pat[i+4:]) {
				pat, field = pat[:i], pat[i+4:]
			}
			re, err := compileSplunkRegex("(?ms)" + pat)
			if err != nil {
				fail(kv, err)
				continue
			}
			s.extracts = append(s.extracts, extract{kv.Key, re, field})
		case strings.HasPrefix(kv.Key, "REPORT-"):
			for _, name := range strings.Split(kv.Value, ",") {
				name = strings.TrimSpace(name)
				r, err := a.compileReport(name)
				if err != nil {
					fail(kv, err)
					continue
				}
				r.key = kv.Key
				s.reports = append(s.reports, r)
			}
		case strings.HasPrefix(kv.Key, "FIELDALIAS-"):
			al, err := parseAliases(kv.Value)
			if err != nil {
				fail(kv, err)
				continue
			}
			for i := range al {
				al[i].key = kv.Key
			}
			s.aliases = append(s.aliases, al...)
		case strings.HasPrefix(kv.Key, "EVAL-"):
			e, err := ParseEval(kv.Value)
			if err != nil {
				fail(kv, err)
				continue
			}
			s.evals = append(s.evals, calc{kv.Key, kv.Key[len("EVAL-"):], e})
		default:
			if _, ok := classOf(kv.Key, "LOOKUP"); ok {
				l, err := a.compileLookup(root, kv.Value)
				if err != nil {
					fail(kv, err)
					continue
				}
				l.key = kv.Key
				s.lookups = append(s.lookups, l)
			}
		}
	}
	// An alias chain (b AS c after a AS b) depends on an order Splunk does not
	// document; refuse it.
	targets := map[string]string{}
	for _, al := range s.aliases {
		if prev, ok := targets[al.to]; ok {
			errs = append(errs, fmt.Errorf("props.conf [%s]: %s and %s both alias to %s (only one takes effect in Splunk)", st.Name, prev, al.key, al.to))
		}
		targets[al.to] = al.key
	}
	for _, al := range s.aliases {
		if k, ok := targets[al.from]; ok {
			errs = append(errs, fmt.Errorf("props.conf [%s] %s: aliases %s, which is itself an alias (%s)", st.Name, al.key, al.from, k))
		}
	}
	return s, errors.Join(errs...)
}

func parseAliases(v string) ([]alias, error) {
	f := strings.Fields(v)
	if len(f) == 0 || len(f)%3 != 0 {
		return nil, fmt.Errorf("want (<field> AS|ASNEW <alias>)+, got %q", v)
	}
	var out []alias
	for i := 0; i < len(f); i += 3 {
		op := strings.ToUpper(f[i+1])
		if op != "AS" && op != "ASNEW" {
			return nil, fmt.Errorf("want AS or ASNEW, got %q", f[i+1])
		}
		out = append(out, alias{from: strings.Trim(f[i], `"`), to: strings.Trim(f[i+2], `"`), asNew: op == "ASNEW"})
	}
	return out, nil
}

func (a *App) compileReport(name string) (report, error) {
	t := a.Transforms.Stanza(name)
	if t == nil {
		return report{}, fmt.Errorf("transforms.conf has no stanza [%s]", name)
	}
	pat, ok := t.Get("REGEX")
	if !ok {
		return report{}, fmt.Errorf("transforms.conf [%s]: no REGEX (DELIMS extractions are not supported by the test)", name)
	}
	re, err := compileSplunkRegex(pat)
	if err != nil {
		return report{}, fmt.Errorf("transforms.conf [%s]: %w", name, err)
	}
	if re.NumSubexp() == 0 {
		return report{}, fmt.Errorf("transforms.conf [%s]: REGEX needs a capturing group", name)
	}
	r := report{transform: name, re: re, sourceKey: "_raw"}
	if sk, ok := t.Get("SOURCE_KEY"); ok {
		r.sourceKey = strings.TrimPrefix(sk, "field:")
	}
	if mv, ok := t.Get("MV_ADD"); ok {
		r.mvAdd = mv == "true" || mv == "1"
	}
	if f, ok := t.Get("FORMAT"); ok && f != "" {
		for _, pair := range strings.Fields(f) {
			n, v, ok := strings.Cut(pair, "::")
			if !ok {
				return report{}, fmt.Errorf("transforms.conf [%s]: FORMAT item %q is not name::value", name, pair)
			}
			r.format = append(r.format, [2]string{n, v})
		}
	} else if !slices.ContainsFunc(re.SubexpNames(), func(s string) bool { return s != "" }) {
		return report{}, fmt.Errorf("transforms.conf [%s]: no FORMAT and no named capturing group", name)
	}
	return r, nil
}

func (a *App) compileLookup(root, spec string) (lookup, error) {
	f := strings.Fields(spec)
	if len(f) < 2 {
		return lookup{}, fmt.Errorf("want <transform> <match field>... [OUTPUT|OUTPUTNEW ...], got %q", spec)
	}
	l := lookup{transform: f[0], caseSensitive: true}
	t := a.Transforms.Stanza(l.transform)
	if t == nil {
		return l, fmt.Errorf("transforms.conf has no stanza [%s]", l.transform)
	}
	file, ok := t.Get("filename")
	if !ok {
		return l, fmt.Errorf("transforms.conf [%s]: only CSV lookups (filename) are supported by the test", l.transform)
	}
	if cs, ok := t.Get("case_sensitive_match"); ok {
		l.caseSensitive = !(cs == "false" || cs == "0")
	}
	l.maxMatches = 100
	for key, dst := range map[string]*int{"max_matches": &l.maxMatches, "min_matches": &l.minMatches} {
		if v, ok := t.Get(key); ok {
			if _, err := fmt.Sscan(v, dst); err != nil {
				return l, fmt.Errorf("transforms.conf [%s] %s: %w", l.transform, key, err)
			}
		}
	}
	l.defaultMatch, _ = t.Get("default_match")
	fh, err := os.Open(filepath.Join(root, "lookups", file))
	if err != nil {
		return l, fmt.Errorf("transforms.conf [%s]: %w", l.transform, err)
	}
	defer fh.Close()
	recs, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		return l, fmt.Errorf("lookups/%s: %w", file, err)
	}
	if len(recs) < 2 {
		return l, fmt.Errorf("lookups/%s: no rows", file)
	}
	l.header, l.rows = recs[0], recs[1:]
	// pairs: col [AS field]
	parse := func(items []string) ([][2]string, error) {
		var out [][2]string
		for i := 0; i < len(items); i++ {
			col, ev := items[i], items[i]
			if i+1 < len(items) && strings.EqualFold(items[i+1], "AS") {
				if i+2 >= len(items) {
					return nil, fmt.Errorf("AS without a name in %q", spec)
				}
				ev = items[i+2]
				i += 2
			}
			if !slices.Contains(l.header, col) {
				return nil, fmt.Errorf("lookups/%s has no column %q", file, col)
			}
			out = append(out, [2]string{col, ev})
		}
		return out, nil
	}
	rest := f[1:]
	cut := slices.IndexFunc(rest, func(s string) bool { return s == "OUTPUT" || s == "OUTPUTNEW" })
	matchItems := rest
	if cut >= 0 {
		matchItems = rest[:cut]
		l.outputNew = rest[cut] == "OUTPUTNEW"
		if l.output, err = parse(rest[cut+1:]); err != nil {
			return l, err
		}
	}
	if l.match, err = parse(matchItems); err != nil {
		return l, err
	}
	if len(l.match) == 0 {
		return l, errors.New("no match field")
	}
	if l.output == nil {
		for _, h := range l.header {
			if !slices.ContainsFunc(l.match, func(m [2]string) bool { return m[0] == h }) {
				l.output = append(l.output, [2]string{h, h})
			}
		}
	}
	return l, nil
}

// Apply runs an event through search time. It fails when the sourcetype has no
// props.conf stanza or an eval expression errors on this event.
func (a *App) Apply(ev Event) (*Result, error) {
	s := a.stanzas[ev.Sourcetype]
	if s == nil {
		return nil, fmt.Errorf("cim: props.conf has no stanza [%s]", ev.Sourcetype)
	}
	f := Fields{"_raw": {ev.Raw}, "sourcetype": {ev.Sourcetype}}
	if ev.Source != "" {
		f["source"] = []string{ev.Source}
	}
	if ev.Host != "" {
		f["host"] = []string{ev.Host}
	}
	res := &Result{Applied: map[string]bool{}}
	for _, x := range s.extracts {
		src := ev.Raw
		if x.field != "" {
			vals := f[x.field]
			if len(vals) == 0 {
				continue
			}
			src = vals[0]
		}
		if m := x.re.FindStringSubmatch(src); m != nil {
			for i, n := range x.re.SubexpNames() {
				if n != "" && i < len(m) && !f.Has(n) {
					f.Add(n, m[i])
					res.Applied[x.key] = true
				}
			}
		}
	}
	for _, r := range s.reports {
		if r.apply(f) {
			res.Applied[r.key+"/"+r.transform] = true
		}
	}
	if s.kvJSON {
		if kv, err := Flatten([]byte(ev.Raw)); err == nil {
			for _, k := range kv.Names() {
				if f.Has(k) {
					return nil, fmt.Errorf("cim: [%s]: extracted field %q collides with a JSON field", ev.Sourcetype, k)
				}
				f[k] = kv[k]
			}
		}
	}
	res.FieldsBefore = f.Clone()
	for _, al := range s.aliases {
		v := f[al.from]
		switch {
		case al.asNew && f.Has(al.to):
		case len(v) == 0 && !al.asNew:
			delete(f, al.to)
		case len(v) > 0:
			f.Set(al.to, v)
			res.Applied[al.key+"/"+al.to] = true
		}
	}
	in := f.Clone()
	for _, c := range s.evals {
		v, err := Eval(c.expr, in)
		if err != nil {
			return nil, fmt.Errorf("cim: [%s] %s: %w", ev.Sourcetype, c.key, err)
		}
		f.Set(c.field, v.Values())
		if v.Kind != Null {
			res.Applied[c.key] = true
		}
	}
	for _, l := range s.lookups {
		if l.apply(f) {
			res.Applied[l.key] = true
		}
	}
	for _, et := range a.eventtypes {
		if !et.search.Match(f) {
			continue
		}
		name, ok := substitute(et.name, f)
		if ok {
			res.Eventtypes = append(res.Eventtypes, name)
		}
	}
	if len(res.Eventtypes) > 0 {
		f["eventtype"] = slices.Clone(res.Eventtypes)
	}
	tags := map[string]bool{}
	for _, r := range a.tags {
		if slices.Contains(f[r.field], r.value) {
			for _, t := range r.tags {
				tags[t] = true
			}
		}
	}
	for t := range tags {
		res.Tags = append(res.Tags, t)
	}
	sort.Strings(res.Tags)
	if len(res.Tags) > 0 {
		f["tag"] = slices.Clone(res.Tags)
	}
	res.Fields = f
	return res, nil
}

var percentField = regexp.MustCompile(`%([^%]+)%`)

// substitute fills %field% in an event type name; a missing field drops the
// event type.
func substitute(name string, f Fields) (string, bool) {
	ok := true
	out := percentField.ReplaceAllStringFunc(name, func(m string) string {
		v := f[m[1:len(m)-1]]
		if len(v) == 0 {
			ok = false
			return ""
		}
		return v[0]
	})
	return out, ok
}

func (r report) apply(f Fields) bool {
	srcVals := f[r.sourceKey]
	if len(srcVals) == 0 {
		return false
	}
	got := false
	names := r.re.SubexpNames()
	put := func(name, val string) {
		if name == "" {
			return
		}
		if f.Has(name) && !r.mvAdd {
			return
		}
		f.Add(name, val)
		got = true
	}
	for _, src := range srcVals {
		for _, m := range r.re.FindAllStringSubmatch(src, -1) {
			if r.format == nil {
				for i, n := range names {
					if i > 0 && n != "" && i < len(m) {
						put(n, m[i])
					}
				}
				continue
			}
			for _, nv := range r.format {
				put(expandGroups(nv[0], m), expandGroups(nv[1], m))
			}
		}
	}
	return got
}

var groupRef = regexp.MustCompile(`\$(\d+)`)

func expandGroups(tmpl string, m []string) string {
	return groupRef.ReplaceAllStringFunc(tmpl, func(s string) string {
		var i int
		fmt.Sscan(s[1:], &i)
		if i < len(m) {
			return m[i]
		}
		return s
	})
}

func (l lookup) apply(f Fields) bool {
	for _, m := range l.match {
		if !f.Has(m[1]) {
			return false // a missing match field leaves the event alone
		}
	}
	eq := func(a, b string) bool {
		if l.caseSensitive {
			return a == b
		}
		return strings.EqualFold(a, b)
	}
	col := func(name string) int { return slices.Index(l.header, name) }
	outVals := map[string][]string{}
	n := 0
	for _, row := range l.rows {
		if n >= l.maxMatches {
			break
		}
		matched := true
		for _, m := range l.match {
			cell := row[col(m[0])]
			if !slices.ContainsFunc(f[m[1]], func(v string) bool { return eq(v, cell) }) {
				matched = false
				break
			}
		}
		if !matched {
			continue
		}
		n++
		for _, o := range l.output {
			if v := row[col(o[0])]; v != "" {
				outVals[o[1]] = append(outVals[o[1]], v)
			}
		}
	}
	for ; n < l.minMatches; n++ {
		for _, o := range l.output {
			outVals[o[1]] = append(outVals[o[1]], l.defaultMatch)
		}
	}
	got := false
	for _, o := range l.output {
		if l.outputNew && f.Has(o[1]) {
			continue
		}
		if v, ok := outVals[o[1]]; ok {
			f.Set(o[1], v)
			got = true
		} else if !l.outputNew {
			delete(f, o[1])
		}
	}
	return got
}
