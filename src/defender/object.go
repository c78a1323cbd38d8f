package defender

import (
	"encoding/json"
	"errors"
	"strconv"
	"time"
)

// Member is one top-level member of a JSON object, as byte offsets into the
// object: raw[KeyStart:ValueEnd] is `"key": value`.
type Member struct {
	Key        string
	KeyStart   int
	ValueStart int
	ValueEnd   int
	keyEnd     int  // just past the name's closing quote
	decoded    bool // Key is set (else the name is raw[KeyStart+1:keyEnd-1], unescaped)
}

// is reports whether the member of obj is named key.
func (m Member) is(obj []byte, key string) bool {
	if m.decoded {
		return m.Key == key
	}
	return string(obj[m.KeyStart+1:m.keyEnd-1]) == key
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// Object is one object of a list, with the members the cursor needs.
type Object struct {
	Raw     []byte
	ID      string    // the id member as text ("" if missing)
	Time    time.Time // the last-update member (zero if missing or unparsable)
	TimeRaw string    // the last-update member as Microsoft wrote it
	members []Member
}

// ParseObject reads the id and last-update members of raw. It fails only
// when raw is not a JSON object; missing or odd members leave ID or Time
// empty so that the object can still be delivered.
func ParseObject(raw []byte, idField, timeField string) (*Object, error) {
	ms, err := scanMembers(raw, false)
	if err != nil {
		return nil, err
	}
	o := &Object{Raw: raw, members: ms}
	if v, ok := o.Field(idField); ok {
		o.ID = scalarText(v)
	}
	if v, ok := o.Field(timeField); ok {
		if s, ok := stringValue(v); ok {
			o.TimeRaw = s
			o.Time, _ = ParseTime(s)
		}
	}
	return o, nil
}

// Field returns the raw value of the top-level member key (the last one
// if it repeats).
func (o *Object) Field(key string) ([]byte, bool) {
	for i := len(o.members) - 1; i >= 0; i-- {
		if m := o.members[i]; m.is(o.Raw, key) {
			return o.Raw[m.ValueStart:m.ValueEnd], true
		}
	}
	return nil, false
}

// Without returns the object's bytes with every top-level member key
// removed, everything else byte for byte as it was. It returns Raw itself
// when key is absent.
func (o *Object) Without(key string) []byte {
	return without(o.Raw, o.members, key)
}

func without(raw []byte, ms []Member, key string) []byte {
	found := false
	for _, m := range ms {
		if m.is(raw, key) {
			found = true
			break
		}
	}
	if !found {
		return raw
	}
	// A kept member is copied with the separator before it (the bytes
	// between the previous member's value and its key), except the first
	// kept one, which is copied from its key.
	out := make([]byte, 0, len(raw))
	out = append(out, raw[:ms[0].KeyStart]...)
	first := true
	for i, m := range ms {
		if m.is(raw, key) {
			continue
		}
		start := m.KeyStart
		if !first {
			start = ms[i-1].ValueEnd
		}
		out = append(out, raw[start:m.ValueEnd]...)
		first = false
	}
	out = append(out, raw[ms[len(ms)-1].ValueEnd:]...)
	return out
}

// scalarText renders a JSON string or number as text.
func scalarText(v []byte) string {
	if s, ok := stringValue(v); ok {
		return s
	}
	var n json.Number
	if json.Unmarshal(v, &n) == nil {
		return n.String()
	}
	return ""
}

// ParseTime reads Microsoft's timestamps: RFC 3339 with up to 9 fractional
// digits, and the legacy APIs' variants without a zone (taken as UTC).
func ParseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse("2006-01-02T15:04:05.999999999", s)
	if err != nil {
		return time.Time{}, errors.New("defender: bad timestamp " + strconv.Quote(s))
	}
	return t.UTC(), nil
}

// FormatTime writes t the way the $filter literal needs it: UTC with seven
// fractional digits, as Graph returns them.
func FormatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.0000000Z")
}
