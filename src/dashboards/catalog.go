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
func LoadCatalog(root, sampleDir, extraFields string) (*Catalog, error) {
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
	for _, s := range props.Stanzas {
		if s.Name != "" && s.Name != "default" && !strings.Contains(s.Name, "::") {
			cat.Sourcetypes[s.Name] = true
		}
		for _, k := range s.Keys {
			for _, f := range propsFields(k, s.Vals[k], transforms) {
				cat.Fields[f] = true
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

	if sampleDir != "" {
		if err := sampleFields(sampleDir, cat.Fields); err != nil {
			return nil, err
		}
	}
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
