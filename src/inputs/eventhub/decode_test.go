package eventhub

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"
)

func TestSplitRecords(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string // nil: not an envelope
	}{
		{"two records", `{"records":[{"a":1},{"b":[1,2,{"c":"]}"}]}]}`, []string{`{"a":1}`, `{"b":[1,2,{"c":"]}"}]}`}},
		{"whitespace kept inside records", "{ \"records\" : [ {\"a\" : \"x y\"} ,\r\n {\"b\":2} ] }\n", []string{`{"a" : "x y"}`, `{"b":2}`}},
		{"other keys around", `{"x":{"records":[]},"records":[{"a":"\"records\""}],"y":[1]}`, []string{`{"a":"\"records\""}`}},
		{"empty records", `{"records":[]}`, []string{}},
		{"non-object records kept", `{"records":[1,"s",null]}`, []string{`1`, `"s"`, `null`}},
		{"no records key", `{"value":[{"a":1}]}`, nil},
		{"array body", `[{"a":1}]`, nil},
		{"text", `hello world`, nil},
		{"truncated", `{"records":[{"a":1},{"b":`, nil},
		{"trailing garbage", `{"records":[{"a":1}]} x`, nil},
		{"bracket mismatch", `{"records":[{"a":[1}]}`, nil},
		{"invalid utf8", "{\"records\":[{\"a\":\"\xff\"}]}", nil},
		{"records not array", `{"records":{"a":1}}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := splitRecords(nil, []byte(tt.body))
			if tt.want == nil {
				if ok {
					t.Fatalf("accepted as an envelope: %q", got)
				}
				return
			}
			if !ok {
				t.Fatal("not accepted as an envelope")
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d records %q", len(got), got)
			}
			for i := range got {
				if string(got[i]) != tt.want[i] {
					t.Errorf("record %d = %q, want %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestRecordTime(t *testing.T) {
	tests := []struct {
		name, rec string
		want      time.Time
	}{
		{"properties.Timestamp wins", `{"time":"2024-05-01T10:00:00Z","properties":{"x":{"Timestamp":"1999-01-01T00:00:00Z"},"Timestamp":"2024-05-01T09:59:58.7654321Z"}}`, time.Date(2024, 5, 1, 9, 59, 58, 765432100, time.UTC)},
		{"time fallback", `{"time":"2024-05-01T10:00:00.123Z","properties":{"DeviceName":"a"}}`, time.Date(2024, 5, 1, 10, 0, 0, 123000000, time.UTC)},
		{"time after properties", `{"properties":{"Timestamp":"bad"},"time":"2024-05-01T10:00:00Z"}`, time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)},
		{"none", `{"properties":{}}`, time.Time{}},
		{"not an object", `42`, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := recordTime([]byte(tt.rec)); !got.Equal(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// FuzzSplitRecords checks the splitter never panics, never drops a record of
// a valid envelope, and returns only slices of the body.
func FuzzSplitRecords(f *testing.F) {
	f.Add([]byte(`{"records":[{"a":1},{"b":[1,2,{"c":"]}"}]}]}`))
	f.Add([]byte(`{"records":[]}`))
	f.Add([]byte(`{"records":[{"time":"2024-05-01T10:00:00Z","properties":{"Timestamp":"2024-05-01T09:59:58Z"}}]}`))
	f.Add([]byte("\xff"))
	f.Add([]byte("{\"records\":[{\"a\":1},{\"b\":[1,2,{\"c\":\"]\x83\"}]}]}")) // invalid UTF-8 inside a valid envelope: delivered whole
	f.Fuzz(func(t *testing.T, body []byte) {
		got, ok := splitRecords(nil, body)
		for _, r := range got {
			if !bytes.Contains(body, r) {
				t.Fatalf("record %q is not part of the body", r)
			}
			_ = recordTime(r)
		}
		// encoding/json matches keys case-insensitively and keeps the last of
		// duplicates, so compare only bodies with one exact "records" key.
		var env map[string]json.RawMessage
		var records []json.RawMessage
		// Bodies with invalid UTF-8 are delivered whole by design, so only
		// valid text must be split.
		if utf8.Valid(body) && bytes.Count(body, []byte(`"records"`)) == 1 && json.Unmarshal(body, &env) == nil && env["records"] != nil &&
			json.Unmarshal(env["records"], &records) == nil && records != nil {
			if !ok {
				t.Fatalf("valid envelope refused: %q", body)
			}
			if len(got) != len(records) {
				t.Fatalf("got %d records, json has %d: %q", len(got), len(records), body)
			}
		}
	})
}
