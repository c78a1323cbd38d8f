package dashboards

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// LoadCatalog reads what the app at root defines: default/macros.conf, props.conf,
// transforms.conf, eventtypes.conf, inputs.conf, the sample events under sampleDir (every
// .json/.jsonl/.ndjson file, recursively) and the extra allow-list file (one field a line,
// "#" comments), which may be empty.
//
// When sampleTypes is not empty it names a file mapping sample files to sourcetypes, one
// "<glob> <sourcetype>..." a line; the catalog then also knows the fields of each sourcetype
// (Catalog.BySourcetype). A sample no line matches counts for every sourcetype.
func LoadCatalog(root, sampleDir, extraFields string, sampleTypes ...string) (*Catalog, error) {
	cat := &Catalog{
		Macros:         map[string]Macro{},
		Sourcetypes:    map[string]bool{},
		Eventtypes:     map[string]bool{},
		Fields:         map[string]bool{},
		InternalFields: set("component", "log_level", "event_message", "thread_name", "pid"),
	}
	def := filepath.Join(root, "default")

	macros, err := ReadConf(filepath.Join(def, "macros.conf"))
	if err != nil {
		return nil, err
	}
	for _, s := range macros.Stanzas {
		if s.Name == "" {
			continue
		}
		m := Macro{Definition: s.Vals["definition"]}
		if a := strings.TrimSpace(s.Vals["args"]); a != "" {
			for _, x := range strings.Split(a, ",") {
				m.Args = append(m.Args, strings.TrimSpace(x))
			}
		}
		cat.Macros[s.Name] = m
	}

	inputs, err := ReadConf(filepath.Join(def, "inputs.conf"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, s := range inputs.Stanzas {
		if st := s.Vals["sourcetype"]; st != "" {
			cat.Sourcetypes[st] = true
		}
	}

	transforms, err := ReadConf(filepath.Join(def, "transforms.conf"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	props, err := ReadConf(filepath.Join(def, "props.conf"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	propsBy := map[string][]string{}
	for _, s := range props.Stanzas {
		if s.Name != "" && s.Name != "default" && !strings.Contains(s.Name, "::") {
			cat.Sourcetypes[s.Name] = true
		}
		for _, k := range s.Keys {
			for _, f := range propsFields(k, s.Vals[k], transforms) {
				cat.Fields[f] = true
				propsBy[s.Name] = append(propsBy[s.Name], f)
			}
		}
	}

	eventtypes, err := ReadConf(filepath.Join(def, "eventtypes.conf"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, s := range eventtypes.Stanzas {
		if s.Name != "" && s.Name != "default" {
			cat.Eventtypes[s.Name] = true
		}
	}

	var extras []string
	if sampleDir != "" {
		if err := sampleFields(sampleDir, cat.Fields); err != nil {
			return nil, err
		}
	}
	if len(sampleTypes) > 0 && sampleTypes[0] != "" {
		by, err := fieldsBySourcetype(sampleDir, sampleTypes[0])
		if err != nil {
			return nil, err
		}
		for st, fs := range propsBy {
			if by[st] == nil {
				by[st] = map[string]bool{}
			}
			for _, f := range fs {
				by[st][f] = true
			}
		}
		cat.BySourcetype = by
	}
	defer func() {
		for _, set := range cat.BySourcetype {
			for _, f := range extras {
				set[f] = true
			}
		}
	}()
	if extraFields != "" {
		b, err := os.ReadFile(extraFields)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			line, _, _ := strings.Cut(sc.Text(), "#")
			if f := strings.TrimSpace(line); f != "" {
				cat.Fields[f] = true
				extras = append(extras, f)
			}
		}
	}
	return cat, nil
}

var (
	aliasAs = regexp.MustCompile(`(?i)\s+AS(?:NEW)?\s+("[^"]+"|'[^']+'|\S+)`)
	output  = regexp.MustCompile(`(?i)\bOUTPUT(?:NEW)?\b(.*)$`)
	formatF = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_.{}]*)::`)
)

// propsFields returns the fields a props.conf setting creates at search time.
func propsFields(key, val string, transforms *Conf) []string {
	class, name, ok := strings.Cut(key, "-")
	if !ok {
		return nil
	}
	var out []string
	switch strings.ToUpper(class) {
	case "EVAL":
		out = append(out, name)
	case "FIELDALIAS":
		for _, m := range aliasAs.FindAllStringSubmatch(" "+val, -1) {
			out = append(out, strings.Trim(m[1], `"'`))
		}
	case "EXTRACT":
		re, _, _ := strings.Cut(val, " in ")
		for _, m := range namedGroup.FindAllStringSubmatch(re, -1) {
			out = append(out, m[1])
		}
	case "REPORT":
		for _, t := range strings.Split(val, ",") {
			s := transforms.Stanza(strings.TrimSpace(t))
			if s == nil {
				continue
			}
			for _, m := range namedGroup.FindAllStringSubmatch(s.Vals["REGEX"], -1) {
				if !strings.HasPrefix(m[1], "_KEY_") && !strings.HasPrefix(m[1], "_VAL_") {
					out = append(out, m[1])
				}
			}
			for _, m := range formatF.FindAllStringSubmatch(s.Vals["FORMAT"], -1) {
				out = append(out, m[1])
			}
			for _, f := range strings.Split(s.Vals["FIELDS"], ",") {
				if f = strings.Trim(strings.TrimSpace(f), `"`); f != "" {
					out = append(out, f)
				}
			}
		}
	case "LOOKUP":
		if m := output.FindStringSubmatch(val); m != nil {
			ws := strings.Fields(m[1])
			for i := 0; i < len(ws); i++ {
				f := strings.Trim(ws[i], ",")
				if i+2 < len(ws) && strings.EqualFold(ws[i+1], "as") {
					f = strings.Trim(ws[i+2], ",")
					i += 2
				}
				out = append(out, f)
			}
		}
	}
	return out
}

// fieldsBySourcetype reads the sample → sourcetype mapping and returns the sample fields of
// each sourcetype. A sample no rule matches is added to every sourcetype.
func fieldsBySourcetype(sampleDir, mapping string) (map[string]map[string]bool, error) {
	b, err := os.ReadFile(mapping)
	if err != nil {
		return nil, err
	}
	type rule struct {
		glob  string
		types []string
	}
	var rules []rule
	all := map[string]bool{}
	for i, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) < 2 {
			return nil, fmt.Errorf("%s:%d: expected <glob> <sourcetype>...", mapping, i+1)
		}
		rules = append(rules, rule{f[0], f[1:]})
		for _, t := range f[1:] {
			all[t] = true
		}
	}
	by := map[string]map[string]bool{}
	for t := range all {
		by[t] = map[string]bool{}
	}
	entries, err := os.ReadDir(sampleDir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		fields := map[string]bool{}
		if err := sampleFields(filepath.Join(sampleDir, e.Name()), fields); err != nil {
			return nil, err
		}
		var types []string
		for _, r := range rules {
			if ok, _ := filepath.Match(r.glob, e.Name()); ok {
				types = r.types
				break
			}
		}
		if types == nil {
			for t := range all {
				types = append(types, t)
			}
		}
		for _, t := range types {
			for f := range fields {
				by[t][f] = true
			}
		}
	}
	return by, nil
}

// UnclassifiedSamples lists the sample files no rule of the mapping matches.
func UnclassifiedSamples(sampleDir, mapping string) ([]string, error) {
	b, err := os.ReadFile(mapping)
	if err != nil {
		return nil, err
	}
	var globs []string
	for _, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#")
		if f := strings.Fields(line); len(f) > 0 {
			globs = append(globs, f[0])
		}
	}
	entries, err := os.ReadDir(sampleDir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		matched := false
		for _, g := range globs {
			if ok, _ := filepath.Match(g, e.Name()); ok {
				matched = true
				break
			}
		}
		if !matched {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// sampleFields adds the field names Splunk's KV_MODE=json gives each sample event: nested
// objects as a.b, arrays as a{} and a{}.b. An Event Hubs message body {"records":[…]} is
// split into its records, as the eventhub input does.
func sampleFields(dir string, fields map[string]bool) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == dir {
				return fmt.Errorf("sample events: %w", err)
			}
			return err
		}
		ext := strings.ToLower(filepath.Ext(p))
		if d.IsDir() || (ext != ".json" && ext != ".jsonl" && ext != ".ndjson") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var docs []any
		var v any
		if json.Unmarshal(b, &v) == nil {
			docs = append(docs, v)
		} else {
			for _, line := range bytes.Split(b, []byte("\n")) {
				if len(bytes.TrimSpace(line)) == 0 {
					continue
				}
				if json.Unmarshal(line, &v) == nil {
					docs = append(docs, v)
				}
			}
		}
		for _, doc := range docs {
			for _, ev := range events(doc) {
				flatten("", ev, fields)
			}
		}
		return nil
	})
}

// events returns the events a sample document stands for.
func events(doc any) []any {
	switch d := doc.(type) {
	case []any:
		var out []any
		for _, e := range d {
			out = append(out, events(e)...)
		}
		return out
	case map[string]any:
		out := []any{d}
		for _, k := range []string{"records", "value"} {
			if recs, ok := d[k].([]any); ok {
				out = append(out, events(recs)...)
			}
		}
		return out
	}
	return nil
}

func flatten(prefix string, v any, fields map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			name := k
			if prefix != "" {
				name = prefix + "." + k
			}
			flatten(name, e, fields)
		}
	case []any:
		name := prefix + "{}"
		if len(x) == 0 {
			fields[name] = true
		}
		for _, e := range x {
			flatten(name, e, fields)
		}
	default:
		if prefix != "" {
			fields[prefix] = true
		}
	}
}
