package modinput

import (
	"bytes"
	"io"

	"github.com/beevik/etree"
)

// DataType is the type of a scheme argument, as Splunk's form builder reads it.
type DataType string

// The data types splunkd knows.
const (
	String  DataType = "string"
	Number  DataType = "number"
	Boolean DataType = "boolean"
)

// Arg is one argument (one inputs.conf parameter) of a scheme.
type Arg struct {
	Name        string
	Title       string // label in Settings > Data inputs; empty means Name is shown
	Description string
	Validation  string   // splunkd validation expression; empty means none
	DataType    DataType // empty means String
	// RequiredOnCreate and RequiredOnEdit are always written out, because the
	// SDKs and splunkd disagree on their defaults.
	RequiredOnCreate bool
	RequiredOnEdit   bool
}

// Scheme is the introspection document a modular input prints for --scheme.
type Scheme struct {
	Title                 string
	Description           string
	UseExternalValidation bool
	UseSingleInstance     bool
	StreamingMode         string // "xml" or "simple"; empty means "xml" (splunkd itself defaults to simple)
	Args                  []Arg
}

// Arg returns the argument called name.
func (s Scheme) Arg(name string) (Arg, bool) {
	for _, a := range s.Args {
		if a.Name == name {
			return a, true
		}
	}
	return Arg{}, false
}

// WriteTo writes the scheme document with every element explicit, in the order
// the SDKs write them.
func (s Scheme) WriteTo(w io.Writer) (int64, error) {
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	root := doc.CreateElement("scheme")
	root.CreateElement("title").SetText(s.Title)
	if s.Description != "" {
		root.CreateElement("description").SetText(s.Description)
	}
	root.CreateElement("use_external_validation").SetText(boolText(s.UseExternalValidation))
	root.CreateElement("use_single_instance").SetText(boolText(s.UseSingleInstance))
	mode := s.StreamingMode
	if mode == "" {
		mode = "xml"
	}
	root.CreateElement("streaming_mode").SetText(mode)
	args := root.CreateElement("endpoint").CreateElement("args")
	for _, a := range s.Args {
		el := args.CreateElement("arg")
		el.CreateAttr("name", a.Name)
		if a.Title != "" {
			el.CreateElement("title").SetText(a.Title)
		}
		if a.Description != "" {
			el.CreateElement("description").SetText(a.Description)
		}
		if a.Validation != "" {
			el.CreateElement("validation").SetText(a.Validation)
		}
		dt := a.DataType
		if dt == "" {
			dt = String
		}
		el.CreateElement("data_type").SetText(string(dt))
		el.CreateElement("required_on_edit").SetText(boolText(a.RequiredOnEdit))
		el.CreateElement("required_on_create").SetText(boolText(a.RequiredOnCreate))
	}
	doc.Indent(2)
	var buf bytes.Buffer
	if _, err := doc.WriteTo(&buf); err != nil {
		return 0, err
	}
	n, err := w.Write(buf.Bytes())
	return int64(n), err
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
