package actions

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Payload is the JSON splunkd writes on an alert action's stdin.
type Payload struct {
	App         string `json:"app"`
	Owner       string `json:"owner"`
	User        string `json:"user"` // set by some callers (ES); else Owner is the user
	ServerHost  string `json:"server_host"`
	ServerURI   string `json:"server_uri"`
	SessionKey  string `json:"session_key"`
	SID         string `json:"sid"`
	SearchName  string `json:"search_name"`
	SearchURI   string `json:"search_uri"`
	ResultsFile string `json:"results_file"`
	ResultsLink string `json:"results_link"`
	// Configuration holds the param.* settings, without the prefix.
	Configuration map[string]string `json:"-"`
	// Result is the first search result.
	Result Row `json:"-"`
}

// Row is one search result: field name → values (several for a multivalue field).
type Row map[string][]string

// Get returns the values of the first of names that has a non-empty value.
func (r Row) Get(names ...string) []string {
	for _, n := range names {
		var vals []string
		for _, v := range r[n] {
			if v = strings.TrimSpace(v); v != "" {
				vals = append(vals, v)
			}
		}
		if len(vals) > 0 {
			return vals
		}
	}
	return nil
}

// maxPayload bounds the stdin payload (the results travel in results_file, not on stdin).
const maxPayload = 16 << 20

// ReadPayload decodes the payload: one JSON object, read up to its end (splunkd need not close
// stdin). Configuration and result values may be strings, numbers, booleans or lists of them (a
// multivalue result field); anything else is an error.
func ReadPayload(r io.Reader) (*Payload, error) {
	br := bufio.NewReader(io.LimitReader(r, maxPayload))
	for {
		c, err := br.ReadByte()
		if err == io.EOF {
			return nil, errors.New("actions: empty payload on stdin (is payload_format = json set in alert_actions.conf?)")
		}
		if err != nil {
			return nil, fmt.Errorf("actions: reading the payload: %w", err)
		}
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0xEF || c == 0xBB || c == 0xBF {
			continue // whitespace, or a UTF-8 byte order mark
		}
		if c == '<' {
			return nil, errors.New("actions: the payload is XML: set payload_format = json in alert_actions.conf")
		}
		_ = br.UnreadByte()
		break
	}
	var b json.RawMessage
	if err := json.NewDecoder(br).Decode(&b); err != nil {
		return nil, fmt.Errorf("actions: payload is not valid JSON: %w", err)
	}
	var p struct {
		Payload
		Configuration map[string]json.RawMessage `json:"configuration"`
		Result        map[string]json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("actions: payload is not valid JSON: %w", err)
	}
	out := p.Payload
	out.Configuration = map[string]string{}
	for k, raw := range p.Configuration {
		vals, err := jsonValues(raw)
		if err != nil {
			return nil, fmt.Errorf("actions: payload configuration %q: %w", k, err)
		}
		out.Configuration[strings.TrimPrefix(k, "param.")] = strings.Join(vals, ",")
	}
	out.Result = Row{}
	for k, raw := range p.Result {
		vals, err := jsonValues(raw)
		if err != nil {
			return nil, fmt.Errorf("actions: payload result field %q: %w", k, err)
		}
		out.Result[k] = vals
	}
	return &out, nil
}

// jsonValues renders a JSON scalar or list of scalars as strings.
func jsonValues(raw json.RawMessage) ([]string, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	scalar := func(x any) (string, bool) {
		switch t := x.(type) {
		case nil:
			return "", true
		case string:
			return t, true
		case float64, bool:
			return strings.TrimSpace(string(must(json.Marshal(t)))), true
		}
		return "", false
	}
	if list, ok := v.([]any); ok {
		out := make([]string, 0, len(list))
		for _, x := range list {
			s, ok := scalar(x)
			if !ok {
				return nil, errors.New("a list may hold only strings, numbers and booleans")
			}
			out = append(out, s)
		}
		return out, nil
	}
	s, ok := scalar(v)
	if !ok {
		return nil, errors.New("expected a string, number, boolean or list")
	}
	if s == "" {
		return nil, nil
	}
	return []string{s}, nil
}

func must(b []byte, _ error) []byte { return b }

// ResultsError is a results file that could not be read; Row is 1-based (0: the header).
type ResultsError struct {
	Path string
	Row  int
	Err  error
}

func (e *ResultsError) Error() string {
	if e.Row > 0 {
		return fmt.Sprintf("actions: results file %s: row %d: %v", e.Path, e.Row, e.Err)
	}
	return fmt.Sprintf("actions: results file %s: %v", e.Path, e.Err)
}

func (e *ResultsError) Unwrap() error { return e.Err }

// ReadResults calls row for every result of the results file splunkd wrote (results.csv.gz:
// a gzip-compressed CSV with a header row; a plain CSV is read too). A multivalue field has a
// companion column __mv_<field> holding "$v1$;$v2$" ("$$" is a literal "$"); its values are
// used, and the __mv_ columns themselves are not passed on.
func ReadResults(path string, row func(i int, r Row) error) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, &ResultsError{Path: path, Err: err}
	}
	defer f.Close()
	n, err := ReadResultsFrom(f, row)
	var re *ResultsError
	if errors.As(err, &re) {
		re.Path = path
	}
	return n, err
}

// ReadResultsFrom is ReadResults over a reader (gzip-compressed or plain CSV).
func ReadResultsFrom(r io.Reader, row func(i int, r Row) error) (int, error) {
	const path = "(stream)"
	br := bufio.NewReader(r)
	var in io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return 0, &ResultsError{Path: path, Err: err}
		}
		defer zr.Close()
		in = zr
	}
	cr := csv.NewReader(in)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return 0, nil
	}
	if err != nil {
		return 0, &ResultsError{Path: path, Err: fmt.Errorf("header: %w", err)}
	}
	header = append([]string(nil), header...)
	mv := map[string]int{} // field → index of its __mv_ column
	for i, h := range header {
		if name, ok := strings.CutPrefix(h, "__mv_"); ok {
			mv[name] = i
		}
	}
	n := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, &ResultsError{Path: path, Row: n + 1, Err: err}
		}
		n++
		r := make(Row, len(header))
		for i, h := range header {
			if i >= len(rec) || strings.HasPrefix(h, "__mv_") {
				continue
			}
			if j, ok := mv[h]; ok && j < len(rec) && rec[j] != "" {
				vals, err := parseMV(rec[j])
				if err != nil {
					return n, &ResultsError{Path: path, Row: n, Err: fmt.Errorf("column __mv_%s: %w", h, err)}
				}
				r[h] = vals
				continue
			}
			if rec[i] != "" {
				r[h] = []string{rec[i]}
			}
		}
		if err := row(n, r); err != nil {
			return n, err
		}
	}
}

// parseMV decodes splunkd's multivalue encoding "$a$;$b$", where "$$" inside a value is "$".
func parseMV(s string) ([]string, error) {
	var out []string
	for i := 0; i < len(s); {
		if s[i] != '$' {
			return nil, fmt.Errorf("expected $ at offset %d", i)
		}
		var b strings.Builder
		j := i + 1
		for {
			if j >= len(s) {
				return nil, errors.New("unterminated value")
			}
			if s[j] == '$' {
				if j+1 < len(s) && s[j+1] == '$' {
					b.WriteByte('$')
					j += 2
					continue
				}
				break
			}
			b.WriteByte(s[j])
			j++
		}
		out = append(out, b.String())
		i = j + 1
		if i < len(s) {
			if s[i] != ';' {
				return nil, fmt.Errorf("expected ; at offset %d", i)
			}
			i++
		}
	}
	return out, nil
}
