package modinput

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// Stanza is one configured input: an inputs.conf stanza as splunkd hands it over.
type Stanza struct {
	Name       string              // "<scheme>://<input name>"
	App        string              // the app the stanza is defined in ("" if splunkd did not say)
	Params     map[string]string   // <param> values, inherited ones (index, host, interval, ...) included
	ParamLists map[string][]string // <param_list> values, in order
}

// Scheme returns the part of the stanza name before "://".
func (s Stanza) Scheme() string {
	if i := strings.Index(s.Name, "://"); i >= 0 {
		return s.Name[:i]
	}
	return ""
}

// InputName returns the part of the stanza name after "://".
func (s Stanza) InputName() string {
	if i := strings.Index(s.Name, "://"); i >= 0 {
		return s.Name[i+3:]
	}
	return s.Name
}

// Param returns the trimmed value of a parameter, "" when it is not set.
func (s Stanza) Param(name string) string {
	return strings.TrimSpace(s.Params[name])
}

// ParamError names the stanza and parameter whose value is not acceptable.
type ParamError struct {
	Stanza string
	Param  string
	Msg    string
}

func (e *ParamError) Error() string {
	return fmt.Sprintf("stanza %q: parameter %q: %s", e.Stanza, e.Param, e.Msg)
}

// Errorf returns a *ParamError for param of this stanza.
func (s Stanza) Errorf(param, format string, args ...any) error {
	return &ParamError{Stanza: s.Name, Param: param, Msg: fmt.Sprintf(format, args...)}
}

// Bool parses a Splunk boolean (1/0, true/false, t/f, yes/no, y/n, on/off, in
// any case); an empty value gives def.
func (s Stanza) Bool(name string, def bool) (bool, error) {
	v := s.Param(name)
	if v == "" {
		return def, nil
	}
	b, ok := ParseBool(v)
	if !ok {
		return def, s.Errorf(name, "expected a boolean (true or false), got %q", v)
	}
	return b, nil
}

// ParseBool parses the boolean spellings splunkd accepts.
func ParseBool(v string) (value, ok bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "t", "yes", "y", "on":
		return true, true
	case "0", "false", "f", "no", "n", "off":
		return false, true
	}
	return false, false
}

// Int parses an integer in [min, max]; an empty value gives def.
func (s Stanza) Int(name string, def, min, max int) (int, error) {
	v := s.Param(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		return def, s.Errorf(name, "expected a whole number from %d to %d, got %q", min, max, v)
	}
	return n, nil
}

// Time parses an RFC 3339 time; an empty value gives def.
func (s Stanza) Time(name string, def time.Time) (time.Time, error) {
	v := s.Param(name)
	if v == "" {
		return def, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return def, s.Errorf(name, "expected an RFC 3339 time such as 2024-01-31T00:00:00Z, got %q", v)
	}
	return t, nil
}

// OneOf returns the allowed value equal to the parameter (case-insensitively),
// def when it is empty, and an error listing the choices otherwise.
func (s Stanza) OneOf(name, def string, allowed ...string) (string, error) {
	v := s.Param(name)
	if v == "" {
		return def, nil
	}
	for _, a := range allowed {
		if strings.EqualFold(v, a) {
			return a, nil
		}
	}
	return def, s.Errorf(name, "expected one of %s, got %q", strings.Join(allowed, ", "), v)
}

// InputDefinition is the <input> document splunkd writes to stdin when it
// starts a modular input.
type InputDefinition struct {
	ServerHost    string
	ServerURI     string
	SessionKey    string
	CheckpointDir string
	Metadata      map[string]string // every child of <input> other than <configuration>, by tag
	Stanzas       []Stanza
}

// ValidationDefinition is the <items> document splunkd writes to stdin for
// --validate-arguments.
type ValidationDefinition struct {
	ServerHost    string
	ServerURI     string
	SessionKey    string
	CheckpointDir string
	Metadata      map[string]string
	Item          Stanza // Name is the item's name, without a scheme
}

// ReadInputDefinition reads and parses the <input> document from r.
func ReadInputDefinition(ctx context.Context, r io.Reader) (*InputDefinition, error) {
	b, err := readDocument(ctx, r, "input")
	if err != nil {
		return nil, err
	}
	return ParseInputDefinition(b)
}

// ParseInputDefinition parses an <input> document held in memory.
func ParseInputDefinition(b []byte) (*InputDefinition, error) {
	root, err := parseTree(b, "input")
	if err != nil {
		return nil, err
	}
	def := &InputDefinition{Metadata: map[string]string{}}
	for _, child := range root.ChildElements() {
		if child.Tag != "configuration" {
			def.Metadata[child.Tag] = child.Text()
			continue
		}
		for _, el := range child.ChildElements() {
			if el.Tag != "stanza" {
				return nil, &ParseError{Doc: "input", Offset: -1, Msg: fmt.Sprintf("<configuration> may hold only <stanza> elements, found <%s>", el.Tag)}
			}
			st, err := parseStanza(el, "input", "stanza")
			if err != nil {
				return nil, err
			}
			def.Stanzas = append(def.Stanzas, st)
		}
	}
	def.ServerHost, def.ServerURI = def.Metadata["server_host"], def.Metadata["server_uri"]
	def.SessionKey, def.CheckpointDir = def.Metadata["session_key"], def.Metadata["checkpoint_dir"]
	return def, nil
}

// ReadValidationDefinition reads and parses the <items> document from r.
func ReadValidationDefinition(ctx context.Context, r io.Reader) (*ValidationDefinition, error) {
	b, err := readDocument(ctx, r, "items")
	if err != nil {
		return nil, err
	}
	return ParseValidationDefinition(b)
}

// ParseValidationDefinition parses an <items> document held in memory.
func ParseValidationDefinition(b []byte) (*ValidationDefinition, error) {
	root, err := parseTree(b, "items")
	if err != nil {
		return nil, err
	}
	def := &ValidationDefinition{Metadata: map[string]string{}}
	items := 0
	for _, child := range root.ChildElements() {
		if child.Tag != "item" {
			def.Metadata[child.Tag] = child.Text()
			continue
		}
		items++
		if items > 1 {
			return nil, &ParseError{Doc: "items", Offset: -1, Msg: "more than one <item>"}
		}
		if def.Item, err = parseStanza(child, "items", "item"); err != nil {
			return nil, err
		}
	}
	if items == 0 {
		return nil, &ParseError{Doc: "items", Offset: -1, Msg: "no <item> element"}
	}
	def.ServerHost, def.ServerURI = def.Metadata["server_host"], def.Metadata["server_uri"]
	def.SessionKey, def.CheckpointDir = def.Metadata["session_key"], def.Metadata["checkpoint_dir"]
	return def, nil
}

func parseStanza(el *etree.Element, doc, what string) (Stanza, error) {
	name := el.SelectAttrValue("name", "")
	if name == "" {
		return Stanza{}, &ParseError{Doc: doc, Offset: -1, Msg: fmt.Sprintf("<%s> without a name attribute", what)}
	}
	st := Stanza{Name: name, App: el.SelectAttrValue("app", ""), Params: map[string]string{}, ParamLists: map[string][]string{}}
	for _, p := range el.ChildElements() {
		pname := p.SelectAttrValue("name", "")
		switch p.Tag {
		case "param":
			if pname == "" {
				return Stanza{}, &ParseError{Doc: doc, Offset: -1, Msg: fmt.Sprintf("%s %q: <param> without a name attribute", what, name)}
			}
			st.Params[pname] = p.Text()
		case "param_list":
			if pname == "" {
				return Stanza{}, &ParseError{Doc: doc, Offset: -1, Msg: fmt.Sprintf("%s %q: <param_list> without a name attribute", what, name)}
			}
			values := []string{}
			for _, v := range p.ChildElements() {
				if v.Tag != "value" {
					return Stanza{}, &ParseError{Doc: doc, Offset: -1, Msg: fmt.Sprintf("%s %q: <param_list name=%q> may hold only <value> elements, found <%s>", what, name, pname, v.Tag)}
				}
				values = append(values, v.Text())
			}
			st.ParamLists[pname] = values
		default:
			return Stanza{}, &ParseError{Doc: doc, Offset: -1, Msg: fmt.Sprintf("%s %q: unexpected element <%s> (expected <param> or <param_list>)", what, name, p.Tag)}
		}
	}
	return st, nil
}
