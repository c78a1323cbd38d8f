package splunkd

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"strings"
)

// feed is the JSON form (output_mode=json) of a splunkd collection or entity response.
type feed struct {
	Entry    []entry   `json:"entry"`
	Messages []message `json:"messages"`
}

// entry is one object of a feed.
type entry struct {
	Name    string                     `json:"name"`
	Content map[string]json.RawMessage `json:"content"`
}

// message is one of splunkd's response messages.
type message struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// decodeFeed parses a JSON feed. A body that is not JSON (splunkd answered Atom, or something else answered)
// is an error that does not quote the body.
func decodeFeed(b []byte) (*feed, error) {
	var f feed
	if err := json.Unmarshal(b, &f); err != nil {
		what := "not JSON"
		if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '<' {
			what = "XML, not JSON (was output_mode=json ignored?)"
		}
		return nil, fmt.Errorf("decode response: body is %s: %w", what, err)
	}
	return &f, nil
}

// find returns the entry named name, or the only entry when there is just one.
func (f *feed) find(name string) (*entry, error) {
	for i := range f.Entry {
		if f.Entry[i].Name == name {
			return &f.Entry[i], nil
		}
	}
	if len(f.Entry) == 1 {
		return &f.Entry[0], nil
	}
	return nil, fmt.Errorf("response has %d entries and none is named %q", len(f.Entry), name)
}

// str returns a content field that is a JSON string.
func (e *entry) str(key string) (string, bool) {
	raw, ok := e.Content[key]
	if !ok {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// strings flattens the content fields to strings: strings as they are, numbers and booleans as JSON spells
// them ("300", "true"), lists of scalars joined with ",". Null fields, objects (eai:acl, eai:attributes) and
// other lists are left out.
func (e *entry) strings() map[string]string {
	out := make(map[string]string, len(e.Content))
	for k, raw := range e.Content {
		if s, ok := scalar(raw); ok {
			out[k] = s
			continue
		}
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) != nil || list == nil {
			continue // null, object or not JSON
		}
		parts := make([]string, 0, len(list))
		for _, item := range list {
			s, ok := scalar(item)
			if !ok {
				parts = nil
				break
			}
			parts = append(parts, s)
		}
		if parts != nil {
			out[k] = strings.Join(parts, ",")
		}
	}
	return out
}

// scalar renders a JSON string, number or boolean as a string.
func scalar(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", false
		}
		return s, true
	case 't', 'f':
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			return "", false
		}
		if b {
			return "true", true
		}
		return "false", true
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			return "", false
		}
		return n.String(), true
	}
	return "", false
}

// xmlResponse is splunkd's Atom-mode error body: <response><messages><msg type="ERROR">…</msg></messages></response>.
type xmlResponse struct {
	Messages []struct {
		Type string `xml:"type,attr"`
		Text string `xml:",chardata"`
	} `xml:"messages>msg"`
}

// decodeMessages extracts the text of splunkd's messages from an error body, JSON or XML. It returns nil
// when the body holds none; the body itself is never returned.
func decodeMessages(b []byte) []string {
	var msgs []string
	var f feed
	if err := json.Unmarshal(b, &f); err == nil {
		for _, m := range f.Messages {
			msgs = appendMessage(msgs, m.Type, m.Text)
		}
		return msgs
	}
	var x xmlResponse
	if err := xml.Unmarshal(b, &x); err == nil {
		for _, m := range x.Messages {
			msgs = appendMessage(msgs, m.Type, m.Text)
		}
	}
	return msgs
}

// appendMessage adds one message, trimmed and on one line, prefixed by its type when it is not ERROR.
func appendMessage(msgs []string, typ, text string) []string {
	text = strings.Join(strings.Fields(text), " ")
	if text == "" {
		return msgs
	}
	if typ != "" && !strings.EqualFold(typ, "ERROR") {
		text = strings.ToUpper(typ) + ": " + text
	}
	return append(msgs, text)
}
