package splunkd

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeMessages(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string
	}{
		{"JSON", `{"messages":[{"type":"ERROR","text":"\n In handler 'passwords': Could not find object id=a:b:\n"}]}`, []string{"In handler 'passwords': Could not find object id=a:b:"}},
		{"JSONTypes", `{"messages":[{"type":"WARN","text":"call not properly authenticated"},{"type":"INFO","text":"x"},{"type":"ERROR","text":"  "}]}`, []string{"WARN: call not properly authenticated", "INFO: x"}},
		{"JSONNoMessages", `{"entry":[]}`, nil},
		{"XML", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<response>\n  <messages>\n    <msg type=\"ERROR\">Argument &quot;x&quot; is not supported</msg>\n  </messages>\n</response>\n", []string{`Argument "x" is not supported`}},
		{"XMLWarn", `<response><messages><msg type="WARN">call not properly authenticated</msg></messages></response>`, []string{"WARN: call not properly authenticated"}},
		{"HTML", `<html><body>Bad Gateway</body></html>`, nil},
		{"Text", `upstream connect error`, nil},
		{"Empty", ``, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decodeMessages([]byte(tt.body)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("decodeMessages = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEntryStrings(t *testing.T) {
	body := `{"entry":[{"name":"prod","content":{
		"s":"text","n":300,"f":1.5,"t":true,"b":false,"null":null,
		"list":["a","b",3],"mixed":["a",{"x":1}],"empty":[],
		"eai:acl":{"app":"TA"},"esc":"a\"b\u00fc"}}]}`
	f, err := decodeFeed([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	e, err := f.find("prod")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"s": "text", "n": "300", "f": "1.5", "t": "true", "b": "false", "list": "a,b,3", "empty": "", "esc": "a\"bü"}
	if got := e.strings(); !reflect.DeepEqual(got, want) {
		t.Errorf("strings() = %q, want %q", got, want)
	}
	if _, err := (&feed{Entry: []entry{{Name: "a"}, {Name: "b"}}}).find("c"); err == nil {
		t.Error("find of a missing name among several entries succeeded")
	}
}

// The Atom fixture from the C# SDK is what splunkd sends without output_mode=json; the client never asks for
// it, and refuses it clearly if it comes anyway.
func TestDecodeFeedRejectsAtomFixture(t *testing.T) {
	b, err := os.ReadFile("../../../shared/fixtures/splunk-sdk/csharp/StoragePasswordCollection.GetAsync.xml")
	if err != nil {
		t.Fatalf("SDK fixture missing (../shared/fixtures must sit beside the repository): %v", err)
	}
	_, err = decodeFeed(b)
	if err == nil || !strings.Contains(err.Error(), "XML, not JSON") || strings.Contains(err.Error(), "q[Jkz4") {
		t.Fatalf("decodeFeed(Atom) = %v", err)
	}
}

// FuzzDecodeMessages checks that error bodies of any shape never panic the decoder and always give one-line
// messages.
func FuzzDecodeMessages(f *testing.F) {
	f.Add([]byte(`{"messages":[{"type":"ERROR","text":"x\ny"}]}`))
	f.Add([]byte(`<response><messages><msg type="WARN">a</msg></messages></response>`))
	f.Add([]byte(`{"entry":[{"name":"n","content":{"a":[1,"b",null],"c":{"d":true}}}]}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, m := range decodeMessages(b) {
			if m == "" || strings.ContainsAny(m, "\r\n") {
				t.Fatalf("message %q is empty or spans lines", m)
			}
		}
		if fd, err := decodeFeed(b); err == nil {
			for i := range fd.Entry {
				for k, v := range fd.Entry[i].strings() {
					if _, ok := fd.Entry[i].Content[k]; !ok {
						t.Fatalf("strings() invented key %q=%q", k, v)
					}
				}
			}
			if _, err := json.Marshal(fd); err != nil {
				t.Fatalf("decoded feed does not re-encode: %v", err)
			}
		}
	})
}
