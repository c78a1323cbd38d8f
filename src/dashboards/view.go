package dashboards

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// View is a Dashboard Studio view file.
type View struct {
	Version    string
	Theme      string
	Label      string
	Definition Definition
	Raw        []byte // the JSON definition as written
}

// Definition is the JSON definition of a Dashboard Studio dashboard (the parts the checks read).
type Definition struct {
	Title          string                   `json:"title"`
	Description    string                   `json:"description"`
	DataSources    map[string]DataSource    `json:"dataSources"`
	Visualizations map[string]Visualization `json:"visualizations"`
	Inputs         map[string]Input         `json:"inputs"`
	Layout         Layout                   `json:"layout"`
	Defaults       map[string]any           `json:"defaults"`
}

// DataSource is a ds.search or a ds.chain.
type DataSource struct {
	Type    string `json:"type"`
	Name    string `json:"name"`
	Options struct {
		Query           string            `json:"query"`
		Extend          string            `json:"extend"`
		QueryParameters map[string]string `json:"queryParameters"`
	} `json:"options"`
}

// Visualization is one panel.
type Visualization struct {
	Type          string            `json:"type"`
	Title         string            `json:"title"`
	Description   string            `json:"description"`
	DataSources   map[string]string `json:"dataSources"`
	Options       map[string]any    `json:"options"`
	EventHandlers []EventHandler    `json:"eventHandlers"`
}

// EventHandler is a drilldown.
type EventHandler struct {
	Type    string `json:"type"`
	Options struct {
		Tokens []struct {
			Token string `json:"token"`
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"tokens"`
		URL    string `json:"url"`
		NewTab bool   `json:"newTab"`
	} `json:"options"`
}

// Input is a dashboard input (time range, dropdown…).
type Input struct {
	Type        string            `json:"type"`
	Title       string            `json:"title"`
	DataSources map[string]string `json:"dataSources"`
	Options     struct {
		Token        string `json:"token"`
		DefaultValue any    `json:"defaultValue"`
		Items        any    `json:"items"`
	} `json:"options"`
}

// Layout places the visualizations.
type Layout struct {
	Type    string `json:"type"`
	Options struct {
		Width  int `json:"width"`
		Height int `json:"height"`
	} `json:"options"`
	Structure []struct {
		Item     string `json:"item"`
		Type     string `json:"type"`
		Position struct {
			X int `json:"x"`
			Y int `json:"y"`
			W int `json:"w"`
			H int `json:"h"`
		} `json:"position"`
	} `json:"structure"`
	GlobalInputs []string `json:"globalInputs"`
}

// ParseView reads a view file: a <dashboard version="2"> envelope whose <definition> holds the
// JSON definition (normally in CDATA). Unknown JSON members are rejected for the parts modelled
// here only where a typo would silently break the dashboard (see Check* functions).
func ParseView(r io.Reader) (*View, error) {
	var doc struct {
		XMLName    xml.Name `xml:"dashboard"`
		Version    string   `xml:"version,attr"`
		Theme      string   `xml:"theme,attr"`
		Label      string   `xml:"label"`
		Definition string   `xml:"definition"`
		Meta       []struct {
			Type string `xml:"type,attr"`
			Body string `xml:",chardata"`
		} `xml:"meta"`
	}
	dec := xml.NewDecoder(r)
	dec.Strict = true
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("view XML: %w", err)
	}
	// nothing but whitespace may follow the root element
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("view XML after </dashboard>: %w", err)
		}
		if cd, ok := tok.(xml.CharData); !ok || len(bytes.TrimSpace(cd)) != 0 {
			return nil, fmt.Errorf("view XML: content after </dashboard>")
		}
	}
	v := &View{Version: doc.Version, Theme: doc.Theme, Label: strings.TrimSpace(doc.Label), Raw: []byte(doc.Definition)}
	jd := json.NewDecoder(strings.NewReader(doc.Definition))
	if err := jd.Decode(&v.Definition); err != nil {
		return nil, fmt.Errorf("view definition JSON: %w", err)
	}
	if jd.More() {
		return nil, fmt.Errorf("view definition JSON: trailing data after the definition object")
	}
	for _, m := range doc.Meta {
		if strings.TrimSpace(m.Body) != "" && !json.Valid([]byte(m.Body)) {
			return nil, fmt.Errorf("view <meta type=%q>: not valid JSON", m.Type)
		}
	}
	return v, nil
}

var tokenRef = regexp.MustCompile(`\$([A-Za-z0-9_.:|]+)\$`)

// Tokens returns the $token$ names used in s (filters such as |s are removed).
func Tokens(s string) []string {
	var out []string
	for _, m := range tokenRef.FindAllStringSubmatch(s, -1) {
		name, _, _ := strings.Cut(m[1], "|")
		out = append(out, name)
	}
	return out
}

// SubstituteTokens replaces every $token$ by a neutral value so the search can be analysed.
func SubstituteTokens(s string) string {
	return tokenRef.ReplaceAllString(s, "TOKEN")
}

// Visualization types and input types Dashboard Studio ships, that the views may use.
var (
	vizTypes = set("splunk.area", "splunk.bar", "splunk.bubble", "splunk.choropleth.svg", "splunk.column",
		"splunk.ellipse", "splunk.events", "splunk.fillergauge", "splunk.image", "splunk.line",
		"splunk.linkgraph", "splunk.map", "splunk.markdown", "splunk.markergauge", "splunk.parallelcoordinates",
		"splunk.pie", "splunk.punchcard", "splunk.rectangle", "splunk.sankey", "splunk.scatter",
		"splunk.singlevalue", "splunk.singlevalueicon", "splunk.singlevalueradial", "splunk.table",
		"splunk.text", "splunk.timeline")
	inputTypes = set("input.timerange", "input.dropdown", "input.multiselect", "input.text", "input.number", "input.checkbox")
	dsTypes    = set("ds.search", "ds.chain", "ds.savedSearch", "ds.test")
	// visualizations that draw without data
	staticViz = set("splunk.markdown", "splunk.image", "splunk.rectangle", "splunk.ellipse", "splunk.text")
)

// CheckView checks one view against the catalog and returns every problem found (nil when
// none): the envelope, data sources (each search analysed by Check), visualizations, inputs,
// tokens and layout.
func CheckView(v *View, cat *Catalog) []string {
	var probs []string
	add := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	d := &v.Definition
	if v.Version != "2" {
		add(`<dashboard version=%q>: Dashboard Studio views need version="2"`, v.Version)
	}
	if v.Label == "" {
		add("<label> is empty")
	}
	if bytes.Contains(v.Raw, []byte("]]>")) {
		add("definition contains ]]>")
	}
	if len(d.DataSources) == 0 || len(d.Visualizations) == 0 {
		add("definition has no dataSources or no visualizations")
	}

	// tokens the dashboard sets
	tokens := map[string]bool{}
	for id, in := range d.Inputs {
		if !inputTypes[in.Type] {
			add("input %s: unknown type %q", id, in.Type)
		}
		if in.Options.Token == "" {
			add("input %s: no token", id)
		}
		tokens[in.Options.Token] = true
		if in.Type == "input.timerange" {
			tokens[in.Options.Token+".earliest"] = true
			tokens[in.Options.Token+".latest"] = true
		}
	}
	if def, ok := d.Defaults["tokens"].(map[string]any); ok {
		for _, ns := range def {
			if m, ok := ns.(map[string]any); ok {
				for t := range m {
					tokens[t] = true
				}
			}
		}
	}
	for _, viz := range d.Visualizations {
		for _, h := range viz.EventHandlers {
			for _, t := range h.Options.Tokens {
				tokens[t.Token] = true
			}
		}
	}
	useTokens := func(where, s string, clickCols []string, clickOK bool) {
		for _, t := range Tokens(s) {
			if strings.HasPrefix(t, "row.") || strings.HasPrefix(t, "click.") {
				if !clickOK {
					add("%s: click token $%s$ outside an event handler", where, t)
					continue
				}
				checkClick(add, where, t, clickCols)
				continue
			}
			if !tokens[t] {
				add("%s: token $%s$ is set by no input, default or drilldown", where, t)
			}
		}
	}

	// data sources, bases first
	results := map[string]*Result{}
	var check func(id string, seen map[string]bool) *Result
	check = func(id string, seen map[string]bool) *Result {
		if r, ok := results[id]; ok {
			return r
		}
		ds, ok := d.DataSources[id]
		if !ok {
			return nil
		}
		if seen[id] {
			add("data source %s: ds.chain cycle", id)
			return &Result{}
		}
		seen[id] = true
		var base *Result
		switch ds.Type {
		case "ds.search":
			for k, p := range ds.Options.QueryParameters {
				useTokens("data source "+id+" queryParameters."+k, p, nil, false)
			}
		case "ds.chain":
			if ds.Options.Extend == "" {
				add("data source %s: ds.chain without extend", id)
			} else if _, ok := d.DataSources[ds.Options.Extend]; !ok {
				add("data source %s: extends %q, which is not a data source", id, ds.Options.Extend)
			} else {
				base = check(ds.Options.Extend, seen)
			}
			if q := strings.TrimSpace(ds.Options.Query); !strings.HasPrefix(q, "|") {
				add("data source %s: a ds.chain query must start with |", id)
			}
		default:
			add("data source %s: type %q (the views use ds.search and ds.chain)", id, ds.Type)
		}
		useTokens("data source "+id, ds.Options.Query, nil, false)
		q := SubstituteTokens(ds.Options.Query)
		if ds.Type == "ds.chain" {
			q = strings.TrimPrefix(strings.TrimSpace(q), "|")
		}
		r := Check(q, cat, base)
		for _, p := range r.Problems {
			add("data source %s: %s", id, p)
		}
		if ds.Type == "ds.search" && !r.UsesIndexMacro && !r.Internal {
			add("data source %s: the search is not scoped by the `%s` macro", id, IndexMacro)
		}
		results[id] = r
		return r
	}
	ids := make([]string, 0, len(d.DataSources))
	for id := range d.DataSources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	used := map[string]bool{}
	for _, id := range ids {
		if !dsTypes[d.DataSources[id].Type] {
			add("data source %s: unknown type %q", id, d.DataSources[id].Type)
		}
		check(id, map[string]bool{})
		if e := d.DataSources[id].Options.Extend; e != "" {
			used[e] = true
		}
	}

	refDS := func(where string, m map[string]string) []string {
		var cols []string
		for role, id := range m {
			if _, ok := d.DataSources[id]; !ok {
				add("%s: dataSources.%s refers to %q, which is not a data source", where, role, id)
				continue
			}
			used[id] = true
			if role == "primary" && results[id] != nil {
				cols = results[id].Columns
			}
		}
		return cols
	}
	for id, viz := range d.Visualizations {
		where := "visualization " + id
		if !vizTypes[viz.Type] {
			add("%s: unknown type %q", where, viz.Type)
		}
		if !staticViz[viz.Type] && viz.DataSources["primary"] == "" {
			add("%s: no primary data source", where)
		}
		cols := refDS(where, viz.DataSources)
		useTokens(where+" title", viz.Title, nil, false)
		for _, h := range viz.EventHandlers {
			switch h.Type {
			case "drilldown.setToken", "drilldown.customUrl", "drilldown.linkToDashboard", "drilldown.linkToSearch":
			default:
				add("%s: unknown event handler %q", where, h.Type)
			}
			useTokens(where+" drilldown url", h.Options.URL, cols, true)
			for _, t := range h.Options.Tokens {
				if t.Key != "" {
					checkClick(add, where+" drilldown", t.Key, cols)
				}
				useTokens(where+" drilldown", t.Value, cols, true)
			}
		}
	}
	for id, in := range d.Inputs {
		refDS("input "+id, in.DataSources)
	}
	for _, id := range ids {
		if !used[id] {
			add("data source %s is used by no visualization, input or chain", id)
		}
	}

	// layout
	placed := map[string]int{}
	for _, s := range d.Layout.Structure {
		placed[s.Item]++
		if _, ok := d.Visualizations[s.Item]; !ok {
			add("layout: item %q is not a visualization", s.Item)
		}
		p := s.Position
		if d.Layout.Type == "grid" && d.Layout.Options.Width > 0 && (p.X < 0 || p.W <= 0 || p.H <= 0 || p.X+p.W > d.Layout.Options.Width) {
			add("layout: item %s at x=%d w=%d does not fit the %d-pixel grid", s.Item, p.X, p.W, d.Layout.Options.Width)
		}
	}
	for id := range d.Visualizations {
		if placed[id] != 1 {
			add("layout: visualization %s is placed %d times", id, placed[id])
		}
	}
	gi := map[string]bool{}
	for _, id := range d.Layout.GlobalInputs {
		if _, ok := d.Inputs[id]; !ok {
			add("layout.globalInputs: %q is not an input", id)
		}
		gi[id] = true
	}
	for id := range d.Inputs {
		if !gi[id] {
			add("input %s is not placed in layout.globalInputs", id)
		}
	}
	sort.Strings(probs)
	return probs
}

// checkClick checks a row.<field>.value / click.value token against the columns of the table the
// click comes from.
func checkClick(add func(string, ...any), where, tok string, cols []string) {
	if !strings.HasPrefix(tok, "row.") {
		return
	}
	field := strings.TrimSuffix(strings.TrimPrefix(tok, "row."), ".value")
	if cols == nil {
		add("%s: %s needs a data source ending in | table so its columns are known", where, tok)
		return
	}
	for _, c := range cols {
		if c == field {
			return
		}
	}
	add("%s: %s: the table has no column %q (columns: %s)", where, tok, field, strings.Join(cols, " "))
}
