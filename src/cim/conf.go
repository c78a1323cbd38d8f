package cim

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// Setting is one key = value line of a .conf file.
type Setting struct {
	Key   string
	Value string
	Line  int // line number of the key, 1-based
}

// Stanza is one [name] section of a .conf file, its settings in file order.
type Stanza struct {
	Name     string
	Line     int
	Settings []Setting
}

// Get returns the value of key and whether it is set. When a key repeats, the
// last one wins, as in Splunk.
func (s *Stanza) Get(key string) (string, bool) {
	v, ok := "", false
	for _, kv := range s.Settings {
		if kv.Key == key {
			v, ok = kv.Value, true
		}
	}
	return v, ok
}

// Conf is a parsed .conf file.
type Conf struct {
	Path    string
	Stanzas []*Stanza
}

// Stanza returns the stanza called name, or nil.
func (c *Conf) Stanza(name string) *Stanza {
	for _, s := range c.Stanzas {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// ParseConfFile reads and parses a .conf file.
func ParseConfFile(path string) (*Conf, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cim: %w", err)
	}
	defer f.Close()
	c, err := ParseConf(f)
	if err != nil {
		return nil, fmt.Errorf("cim: %s: %w", path, err)
	}
	c.Path = path
	return c, nil
}

// ParseConf parses Splunk .conf syntax: [stanza] headers, key = value lines,
// whole-line # comments, and a trailing backslash continuing a value on the
// next line (the line break is kept). Settings before the first header belong
// to the stanza "default".
func ParseConf(r io.Reader) (*Conf, error) {
	c := &Conf{}
	cur := &Stanza{Name: "default"}
	c.Stanzas = append(c.Stanzas, cur)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		start := n
		for strings.HasSuffix(line, `\`) && !strings.HasSuffix(line, `\\`) {
			if !sc.Scan() {
				return nil, fmt.Errorf("line %d: continuation at end of file", start)
			}
			n++
			line = line[:len(line)-1] + "\n" + strings.TrimRight(sc.Text(), "\r")
		}
		t := strings.TrimSpace(line)
		switch {
		case t == "" || strings.HasPrefix(t, "#"):
			continue
		case strings.HasPrefix(t, "["):
			if !strings.HasSuffix(t, "]") {
				return nil, fmt.Errorf("line %d: stanza header %q has no closing ]", start, t)
			}
			name := t[1 : len(t)-1]
			if name == "default" {
				cur = c.Stanzas[0]
				continue
			}
			cur = &Stanza{Name: name, Line: start}
			c.Stanzas = append(c.Stanzas, cur)
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				return nil, fmt.Errorf("line %d: %q is neither a stanza header nor key = value", start, t)
			}
			cur.Settings = append(cur.Settings, Setting{Key: strings.TrimSpace(k), Value: strings.TrimSpace(v), Line: start})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return c, nil
}
