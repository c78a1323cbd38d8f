package appcheck

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Finding is one problem found by a check.
type Finding struct {
	Check string // "structure", "permissions", "conf", ...
	File  string // path inside the app, "" for the package as a whole
	Line  int    // 0 when not about a line
	Msg   string
}

func (f Finding) String() string {
	loc := f.File
	if loc == "" {
		loc = "(package)"
	}
	if f.Line > 0 {
		loc = fmt.Sprintf("%s:%d", loc, f.Line)
	}
	return fmt.Sprintf("%s: [%s] %s", loc, f.Check, f.Msg)
}

// Specs holds every known spec, keyed by the file it describes
// ("props.conf", "default.meta").
type Specs map[string]*SpecSet

// modularInputSettings are Splunk's own settings that a modular-input stanza
// ([scheme://name] or the scheme's default [scheme]) may carry on top of the
// parameters the app documents. inputs.conf.spec documents them in places no
// stanza header covers: the "Modular Inputs" section (python.version,
// run_introspection), the scripted-input stanza the modular inputs share
// their runner with (interval, start_by_shell, ...), and disabled, which
// every input type takes. Only names that Splunk's spec really defines are
// added (see LoadSystemSpecs).
var modularInputSettings = []string{"disabled", "run_introspection", "python.version"}

// LoadSystemSpecs reads Splunk's .conf.spec files from dir (for example
// ../shared/fixtures/splunk-spec). default.meta.parseable.spec describes
// .meta files; the shipped default.meta.spec is prose and is skipped.
func LoadSystemSpecs(dir string) (Specs, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("appcheck: spec directory: %w", err)
	}
	specs := Specs{}
	for _, e := range entries {
		name := e.Name()
		var conf string
		switch {
		case name == "default.meta.parseable.spec":
			conf = "default.meta"
		case strings.HasSuffix(name, ".conf.spec"):
			conf = strings.TrimSuffix(name, ".spec")
		default:
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("appcheck: %w", err)
		}
		sp, err := ParseSpec(name, strings.NewReader(string(b)))
		if err != nil {
			return nil, err
		}
		specs[conf] = &SpecSet{Conf: conf, Specs: []*Spec{sp}}
	}
	if len(specs) == 0 {
		return nil, fmt.Errorf("appcheck: no .conf.spec files in %s", dir)
	}
	if in := specs["inputs.conf"]; in != nil {
		in.Extra = modularExtras(in.Specs[0])
	}
	return specs, nil
}

func modularExtras(sys *Spec) []*SettingSpec {
	var extra []*SettingSpec
	for _, st := range sys.Stanzas {
		if st.Pattern == "script://<cmd>" {
			extra = append(extra, st.Settings...)
		}
	}
	for _, name := range modularInputSettings {
	find:
		for _, st := range sys.Stanzas {
			for _, s := range st.Settings {
				if s.Key == name {
					extra = append(extra, s)
					break find
				}
			}
		}
	}
	return extra
}

// WithApp returns a copy of specs with the app's own spec files added
// (README/<file>.conf.spec, already parsed; their Name starts "README/").
func (specs Specs) WithApp(app []*Spec) Specs {
	out := Specs{}
	for k, v := range specs {
		cp := *v
		cp.Specs = append([]*Spec(nil), v.Specs...)
		out[k] = &cp
	}
	for _, sp := range app {
		conf := strings.TrimSuffix(filepath.Base(sp.Name), ".spec")
		set := out[conf]
		if set == nil {
			set = &SpecSet{Conf: conf}
			out[conf] = set
		}
		set.Specs = append(set.Specs, sp)
	}
	return out
}

// ValidateConf checks one parsed file against the specs for its name
// (file is the .conf or .meta base name, e.g. "props.conf").
func ValidateConf(c *Conf, file string, specs Specs) []Finding {
	set := specs[file]
	if file == "local.meta" {
		set = specs["default.meta"]
	}
	if set == nil {
		return []Finding{{Check: "conf", File: c.Name, Msg: fmt.Sprintf("no .conf.spec describes %s (Splunk's or README/%s.spec)", file, file)}}
	}
	var out []Finding
	add := func(line int, format string, args ...any) {
		out = append(out, Finding{Check: "conf", File: c.Name, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	seenStanza := map[string]int{}
	for _, st := range c.Stanzas {
		if prev, dup := seenStanza[st.Name]; dup && !st.Implicit {
			add(st.Line, "duplicate stanza [%s] (first at line %d)", st.Name, prev)
		}
		if !st.Implicit {
			seenStanza[st.Name] = st.Line
		}
		m := set.match(st)
		if !m.matched {
			add(st.Line, "stanza [%s] matches no stanza of %s", st.Name, set.names())
			continue
		}
		seenKey := map[string]int{}
		for _, kv := range st.Settings {
			if prev, dup := seenKey[kv.Key]; dup {
				add(kv.Line, "duplicate setting %q in [%s] (first at line %d)", kv.Key, st.Name, prev)
			}
			seenKey[kv.Key] = kv.Line
			var defs []*SettingSpec
			for _, s := range m.settings {
				if s.Matches(kv.Key) {
					defs = append(defs, s)
				}
			}
			if len(defs) == 0 {
				add(kv.Line, "setting %q is not defined for [%s] by %s", kv.Key, st.Name, set.names())
				continue
			}
			var wants []string
			ok := false
			for _, d := range defs {
				w := checkValue(d.Value, kv.Value)
				if w == "" {
					ok = true
					break
				}
				wants = append(wants, w)
			}
			if !ok {
				add(kv.Line, "%s = %q: expected %s", kv.Key, clip(kv.Value), strings.Join(dedup(wants), " or "))
			}
		}
	}
	return out
}

func (ss *SpecSet) names() string {
	var n []string
	for _, sp := range ss.Specs {
		n = append(n, sp.Name)
	}
	return strings.Join(n, " + ")
}

func dedup(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
