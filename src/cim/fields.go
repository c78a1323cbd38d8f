package cim

import (
	"slices"
	"sort"
)

// Fields holds an event's search-time fields. A field with no values does not
// exist (null). More than one value makes a multivalue field.
type Fields map[string][]string

// Get returns the values of name (nil when the field does not exist).
func (f Fields) Get(name string) []string { return f[name] }

// Has reports whether the field exists.
func (f Fields) Has(name string) bool { return len(f[name]) > 0 }

// Set replaces the field's values; nil or empty removes it.
func (f Fields) Set(name string, vals []string) {
	if len(vals) == 0 {
		delete(f, name)
		return
	}
	f[name] = slices.Clone(vals)
}

// Add appends one value.
func (f Fields) Add(name, val string) { f[name] = append(f[name], val) }

// Clone returns a deep copy.
func (f Fields) Clone() Fields {
	c := make(Fields, len(f))
	for k, v := range f {
		c[k] = slices.Clone(v)
	}
	return c
}

// Names returns the field names in sorted order.
func (f Fields) Names() []string {
	names := make([]string, 0, len(f))
	for k := range f {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
