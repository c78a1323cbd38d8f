package dashboards

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// Stanza is one [stanza] of a .conf file, with its settings in file order.
type Stanza struct {
	Name string
	Keys []string
	Vals map[string]string
	Line int // line of the [stanza] header; 0 for settings before the first header
}

// Conf is a parsed .conf file.
type Conf struct {
	Path    string
	Stanzas []*Stanza
	byName  map[string]*Stanza
}

// Stanza returns the stanza called name, or nil.
func (c *Conf) Stanza(name string) *Stanza {
	if c == nil {
		return nil
	}
	return c.byName[name]
}

// ReadConf parses a Splunk .conf file: [stanza] headers, "key = value" settings, "#" comment
// lines and values continued onto the next line by a trailing backslash (the line break is
// kept, the backslash dropped). A file that does not exist gives an empty Conf and an error
// satisfying os.IsNotExist.
func ReadConf(path string) (*Conf, error) { return readConf(path, false) }

// ReadSpec parses a .conf.spec file: like ReadConf, with the "* ..." description lines (and
// their indented continuations) skipped and each "key = <description of the value>" kept as a
// setting.
func ReadSpec(path string) (*Conf, error) { return readConf(path, true) }

func readConf(path string, spec bool) (*Conf, error) {
	c := &Conf{Path: path, byName: map[string]*Stanza{}}
	f, err := os.Open(path)
	if err != nil {
		return c, err
	}
	defer f.Close()
	cur := &Stanza{Vals: map[string]string{}}
	c.Stanzas = append(c.Stanzas, cur)
	c.byName[""] = cur
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 4<<20)
	n := 0
	var key string
	var cont bool
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if cont {
			v := line
			cont = strings.HasSuffix(v, `\`)
			if cont {
				v = strings.TrimSuffix(v, `\`)
			}
			cur.Vals[key] += "\n" + v
			continue
		}
		t := strings.TrimSpace(line)
		switch {
		case t == "" || strings.HasPrefix(t, "#"):
			continue
		case spec && (strings.HasPrefix(t, "*") || line[0] == ' ' || line[0] == '\t'):
			continue // a description line or its indented continuation
		case strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]"):
			name := t[1 : len(t)-1]
			if s, ok := c.byName[name]; ok { // repeated stanzas merge, as splunkd does
				cur = s
				continue
			}
			cur = &Stanza{Name: name, Vals: map[string]string{}, Line: n}
			c.Stanzas = append(c.Stanzas, cur)
			c.byName[name] = cur
		default:
			k, v, ok := strings.Cut(t, "=")
			if !ok {
				return c, fmt.Errorf("%s:%d: expected [stanza] or key = value, got %q", path, n, t)
			}
			key = strings.TrimSpace(k)
			v = strings.TrimLeft(v, " \t")
			cont = strings.HasSuffix(v, `\`)
			if cont {
				v = strings.TrimSuffix(v, `\`)
			}
			if _, seen := cur.Vals[key]; !seen {
				cur.Keys = append(cur.Keys, key)
			}
			cur.Vals[key] = strings.TrimRight(v, " \t")
		}
	}
	if err := sc.Err(); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}
