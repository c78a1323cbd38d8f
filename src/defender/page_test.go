package defender

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestDecodePage(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		items   []string
		next    string
		count   int64
		wantErr string
		malform bool
	}{
		{name: "GraphShape", body: `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#security/incidents","value":[{"id":"1","a":{"b":[1,2]}},{"id":"2"}],"@odata.nextLink":"https://graph.microsoft.com/v1.0/security/incidents?$skiptoken=x"}`,
			items: []string{`{"id":"1","a":{"b":[1,2]}}`, `{"id":"2"}`}, next: "https://graph.microsoft.com/v1.0/security/incidents?$skiptoken=x", count: -1},
		{name: "NextLinkFirst", body: `{"@odata.nextLink":"n","@odata.count":7,"value":[{"x":1}]}`, items: []string{`{"x":1}`}, next: "n", count: 7},
		{name: "RawBytesKept", body: "{\"value\":[ {\"K\" : \"\\u00e9\\/\" ,\"Mixed\":1.50e1}\n]}", items: []string{"{\"K\" : \"\\u00e9\\/\" ,\"Mixed\":1.50e1}"}, count: -1},
		{name: "EmptyValue", body: `{"value":[]}`, count: -1},
		{name: "NullNextLink", body: `{"value":[],"@odata.nextLink":null}`, count: -1},
		{name: "NonObjectItems", body: `{"value":[1,"s",null,[]]}`, items: []string{`1`, `"s"`, `null`, `[]`}, count: -1},
		{name: "UnknownMembersSkipped", body: `{"a":{"value":[9]},"b":[{"c":1}],"value":[{"d":2}]}`, items: []string{`{"d":2}`}, count: -1},
		{name: "NoValue", body: `{"@odata.context":"x"}`, wantErr: `no "value" array`, malform: true},
		{name: "ValueNotArray", body: `{"value":{}}`, wantErr: `"value" is not an array`, malform: true},
		{name: "DuplicateValue", body: `{"value":[],"value":[]}`, wantErr: `duplicate "value"`, malform: true},
		{name: "ErrorObjectIn200", body: `{"error":{"code":"InternalServerError","message":"boom"}}`, wantErr: "InternalServerError boom", malform: true},
		{name: "TrailingData", body: `{"value":[]} {}`, wantErr: "data after the page object", malform: true},
		{name: "Truncated", body: `{"value":[{"id":"1"},{"id":`, items: []string{`{"id":"1"}`}, wantErr: "unexpected EOF"},
		{name: "NotJSON", body: `<html>`, wantErr: "expected a JSON object", malform: true},
		{name: "BadSeparator", body: `{"value":[{"a":1} {"b":2}]}`, items: []string{`{"a":1}`}, wantErr: "expected ',' or ']'", malform: true},
		{name: "MismatchedBrackets", body: `{"value":[{"a":[1}]}`, wantErr: "mismatched", malform: true},
		{name: "BadCount", body: `{"@odata.count":"x","value":[]}`, wantErr: "not an integer", malform: true},
		{name: "EscapedKey", body: `{"value":[1]}`, items: []string{`1`}, count: -1},
		{name: "LiteralAtChunkEnd", body: `{"value":[12345678901234567890,true],"@odata.count":123}`, items: []string{`12345678901234567890`, `true`}, count: 123},
		{name: "GarbledElementDelivered", body: `{"value":[{"n":1.2.3,"b":tru}]}`, items: []string{`{"n":1.2.3,"b":tru}`}, count: -1},
		{name: "Array", body: `[]`, wantErr: "expected a JSON object", malform: true},
		{name: "Empty", body: ``, wantErr: "unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			info, err := DecodePage(strings.NewReader(tt.body), func(raw []byte) error {
				got = append(got, string(raw))
				return nil
			})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				var pe *PageError
				if !errors.As(err, &pe) {
					t.Fatalf("err %T is not a *PageError", err)
				}
				if m := errors.As(err, new(*malformedError)) || errors.As(err, new(*json.SyntaxError)); m != tt.malform {
					t.Errorf("malformed = %v, want %v", m, tt.malform)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if info.NextLink != tt.next || info.Count != tt.count || info.Items != len(tt.items) {
				t.Errorf("info = %+v, want next %q count %d items %d", info, tt.next, tt.count, len(tt.items))
			}
			if strings.Join(got, "\n") != strings.Join(tt.items, "\n") {
				t.Errorf("items = %q, want %q", got, tt.items)
			}
		})
	}
}

func TestDecodePageStreams(t *testing.T) {
	// One byte at a time: items must come out before the body ends.
	body := `{"value":[{"id":"1"},{"id":"2"}],"@odata.nextLink":"n"}`
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte(body[:22])) // through the first object and its comma
		pw.Write([]byte(body[22:]))
		pw.Close()
	}()
	first := make(chan struct{})
	n := 0
	_, err := DecodePage(iotest.OneByteReader(pr), func(raw []byte) error {
		n++
		if n == 1 {
			close(first)
		}
		return nil
	})
	if err != nil || n != 2 {
		t.Fatalf("n=%d err=%v", n, err)
	}
}

func TestDecodePageCallbackError(t *testing.T) {
	stop := errors.New("stop")
	_, err := DecodePage(strings.NewReader(`{"value":[1,2,3]}`), func([]byte) error { return stop })
	var cbe *callbackError
	if !errors.As(err, &cbe) || !errors.Is(err, stop) {
		t.Fatalf("err = %v", err)
	}
}

func TestSplitArray(t *testing.T) {
	var got [][]byte
	err := SplitArray([]byte(` [ {"a":1} , {"b" : [2]} ] `), func(e []byte) error { got = append(got, e); return nil })
	if err != nil || len(got) != 2 || string(got[1]) != `{"b" : [2]}` {
		t.Fatalf("got %q err %v", got, err)
	}
	if err := SplitArray([]byte("null"), func([]byte) error { t.Fatal("called"); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := SplitArray([]byte(`{}`), func([]byte) error { return nil }); err == nil {
		t.Fatal("object accepted as array")
	}
}

func TestObjectWithout(t *testing.T) {
	tests := []struct{ name, in, key, want string }{
		{"Middle", `{"id":"1","alerts":[{"x":1}],"status":"active"}`, "alerts", `{"id":"1","status":"active"}`},
		{"First", `{"alerts":[],"id":"1"}`, "alerts", `{"id":"1"}`},
		{"Last", `{"id":"1", "alerts" : [ ] }`, "alerts", `{"id":"1" }`},
		{"Only", `{ "alerts":[1] }`, "alerts", `{  }`},
		{"Absent", `{"id":"1"}`, "alerts", `{"id":"1"}`},
		{"Repeated", `{"alerts":1,"id":"1","alerts":2,"z":3}`, "alerts", `{"id":"1","z":3}`},
		{"CaseSensitive", `{"Alerts":1,"alerts":2}`, "alerts", `{"Alerts":1}`},
		{"Spacing", "{\n  \"id\": \"1\",\n  \"alerts\": [],\n  \"s\": 2\n}", "alerts", "{\n  \"id\": \"1\",\n  \"s\": 2\n}"},
		{"NestedUntouched", `{"a":{"alerts":1},"alerts":[]}`, "alerts", `{"a":{"alerts":1}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := ParseObject([]byte(tt.in), "id", "lastUpdateDateTime")
			if err != nil {
				t.Fatal(err)
			}
			got := o.Without(tt.key)
			if string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("result is not valid JSON")
			}
		})
	}
}

func TestParseObject(t *testing.T) {
	o, err := ParseObject([]byte(`{"incidentId":924518,"lastUpdateTime":"2021-08-13T08:45:32.52Z"}`), "incidentId", "lastUpdateTime")
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != "924518" || o.Time.Format("15:04:05.00") != "08:45:32.52" || o.TimeRaw != "2021-08-13T08:45:32.52Z" {
		t.Errorf("got id %q time %v", o.ID, o.Time)
	}
	o, err = ParseObject([]byte(`{"id":{"x":1},"lastUpdateDateTime":"yesterday"}`), "id", "lastUpdateDateTime")
	if err != nil || o.ID != "" || !o.Time.IsZero() {
		t.Errorf("odd members: %+v %v", o, err)
	}
	if _, err := ParseObject([]byte(`[1]`), "id", "t"); err == nil {
		t.Error("array accepted")
	}
	if got := FormatTime(o.Time.AddDate(2024, 0, 0)); !strings.HasSuffix(got, ".0000000Z") {
		t.Errorf("FormatTime = %q", got)
	}
}

func TestMembersOffsets(t *testing.T) {
	raw := []byte(`{ "a" : 1 , "b":[true] }`)
	ms, err := Members(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || string(raw[ms[0].KeyStart:ms[0].ValueEnd]) != `"a" : 1` || string(raw[ms[1].ValueStart:ms[1].ValueEnd]) != `[true]` {
		t.Fatalf("members %+v", ms)
	}
	_ = bytes.MinRead
}
