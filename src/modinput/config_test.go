package modinput

import (
	"context"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

func twoInputs(app1, app2 string) []Stanza {
	return []Stanza{
		{Name: "foobar://aaa", App: app1, Params: map[string]string{"param1": "value1", "param2": "value2", "disabled": "0", "index": "default"}, ParamLists: map[string][]string{}},
		{Name: "foobar://bbb", App: app2, Params: map[string]string{"param1": "value11", "param2": "value22", "disabled": "0", "index": "default"},
			ParamLists: map[string][]string{"multiValue": {"value1", "value2"}, "multiValue2": {"value3", "value4"}}},
	}
}

func TestReadInputDefinitionFixtures(t *testing.T) {
	tests := []struct {
		file    string
		stanzas []Stanza // nil: only the count is checked
		count   int
	}{
		{file: "python/conf_with_0_inputs.xml", count: 0},
		{file: "java/conf_with_0_inputs.xml", count: 0},
		{file: "javascript/conf_with_0_inputs.xml", count: 0},
		{file: "python/conf_with_2_inputs.xml", stanzas: twoInputs("search", "my_app"), count: 2},
		{file: "java/conf_with_2_inputs.xml", stanzas: twoInputs("", ""), count: 2},
		{file: "javascript/conf_with_2_inputs.xml", stanzas: twoInputs("", ""), count: 2},
		{file: "javascript/conf_with_5_inputs.xml", count: 5},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			def, err := ReadInputDefinition(context.Background(), strings.NewReader(string(fixture(t, tt.file))))
			if err != nil {
				t.Fatal(err)
			}
			if def.ServerHost != "tiny" || def.ServerURI != "https://127.0.0.1:8089" || def.SessionKey != "123102983109283019283" {
				t.Errorf("metadata = %q %q %q", def.ServerHost, def.ServerURI, def.SessionKey)
			}
			if def.CheckpointDir == "" {
				t.Error("checkpoint_dir not read")
			}
			if len(def.Stanzas) != tt.count {
				t.Fatalf("got %d stanzas, want %d", len(def.Stanzas), tt.count)
			}
			if len(tt.stanzas) > 0 && !reflect.DeepEqual(def.Stanzas, tt.stanzas) {
				t.Errorf("stanzas:\n got %#v\nwant %#v", def.Stanzas, tt.stanzas)
			}
		})
	}
}

func TestReadInputDefinitionRealWorld(t *testing.T) {
	def, err := ReadInputDefinition(context.Background(), strings.NewReader(string(fixture(t, "real-world/splunkd_input_issue201.xml"))))
	if err != nil {
		t.Fatal(err)
	}
	want := Stanza{Name: "jmeter://etc/apps/CA-jmeter/scenarios/test.jmx", App: "CA-jmeter",
		Params:     map[string]string{"debug": "0", "host": "aws-service-mon-hfw-10-124-160-167", "index": "main", "interval": "900", "sourcetype": "jmeter_input"},
		ParamLists: map[string][]string{}}
	if len(def.Stanzas) != 1 || !reflect.DeepEqual(def.Stanzas[0], want) {
		t.Fatalf("got %#v", def.Stanzas)
	}
	if got := def.Stanzas[0].Scheme(); got != "jmeter" {
		t.Errorf("Scheme() = %q", got)
	}
	if got := def.Stanzas[0].InputName(); got != "etc/apps/CA-jmeter/scenarios/test.jmx" {
		t.Errorf("InputName() = %q", got)
	}
	if def.CheckpointDir != "/opt/splunk/current/var/lib/splunk/modinputs/jmeter" {
		t.Errorf("checkpoint_dir = %q", def.CheckpointDir)
	}
}

func TestReadInputDefinitionRejects(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"unknown stanza child python", string(fixture(t, "python/conf_with_invalid_inputs.xml")), "unexpected element <editor>"},
		{"unknown stanza child java", string(fixture(t, "java/conf_with_invalid_inputs.xml")), "unexpected element <editor>"},
		{"unknown stanza child javascript", string(fixture(t, "javascript/conf_with_invalid_inputs.xml")), "unexpected element <editor>"},
		{"wrong root", `<items><item name="a"/></items>`, "root element is <items>, expected <input>"},
		{"malformed", `<input><configuration><stanza name="a://b"></configuration></input>`, "malformed XML"},
		{"truncated", `<input><configuration>`, "ends before its root element closes"},
		{"stanza without name", `<input><configuration><stanza><param name="a">b</param></stanza></configuration></input>`, "without a name attribute"},
		{"configuration child", `<input><configuration><thing/></configuration></input>`, "only <stanza> elements"},
		{"param_list child", `<input><configuration><stanza name="a://b"><param_list name="l"><v>1</v></param_list></stanza></configuration></input>`, "only <value> elements"},
		{"encoding", `<?xml version="1.0" encoding="koi8-r"?><input/>`, "unsupported encoding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadInputDefinition(context.Background(), strings.NewReader(tt.doc))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a *ParseError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestReadValidationDefinitionFixtures(t *testing.T) {
	want := Stanza{Name: "aaa", Params: map[string]string{"param1": "value1", "param2": "value2", "disabled": "0", "index": "default"},
		ParamLists: map[string][]string{"multiValue": {"value1", "value2"}, "multiValue2": {"value3", "value4"}}}
	for _, file := range []string{"python/validation.xml", "java/validation.xml", "javascript/validation.xml"} {
		t.Run(file, func(t *testing.T) {
			def, err := ReadValidationDefinition(context.Background(), strings.NewReader(string(fixture(t, file))))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(def.Item, want) {
				t.Errorf("item:\n got %#v\nwant %#v", def.Item, want)
			}
			if def.ServerHost != "tiny" || def.SessionKey != "123102983109283019283" || def.CheckpointDir != "/opt/splunk/var/lib/splunk/modinputs" {
				t.Errorf("metadata %#v", def)
			}
		})
	}
}

// TestReadStopsAtRootEnd checks that the reader returns at </input> while
// stdin stays open, as splunkd may leave it.
func TestReadStopsAtRootEnd(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() { _, _ = pw.Write(fixture(t, "python/conf_with_2_inputs.xml")) }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	def, err := ReadInputDefinition(ctx, pr)
	if err != nil {
		t.Fatal(err)
	}
	if len(def.Stanzas) != 2 {
		t.Fatalf("got %d stanzas", len(def.Stanzas))
	}
}

func TestReadTimesOut(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() { _, _ = pw.Write([]byte(`<input><configuration>`)) }()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := ReadInputDefinition(ctx, pr)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no complete document") {
		t.Fatalf("err = %v", err)
	}
}

func TestUTF16LittleEndianAndBOM(t *testing.T) {
	doc := `<?xml version="1.0" encoding="utf-16"?><input><configuration><stanza name="s://ü€😀"><param name="p">ßü😀</param></stanza></configuration></input>`
	le := []byte{0xFF, 0xFE}
	for _, r := range utf16Units(doc) {
		le = append(le, byte(r), byte(r>>8))
	}
	utf8bom := append([]byte{0xEF, 0xBB, 0xBF}, doc...)
	for name, b := range map[string][]byte{"utf-16le": le, "utf-8 bom": utf8bom} {
		t.Run(name, func(t *testing.T) {
			def, err := ParseInputDefinitionFromReader(t, b)
			if err != nil {
				t.Fatal(err)
			}
			if def.Stanzas[0].Name != "s://ü€😀" || def.Stanzas[0].Params["p"] != "ßü😀" {
				t.Errorf("got %#v", def.Stanzas[0])
			}
		})
	}
}

func ParseInputDefinitionFromReader(t *testing.T, b []byte) (*InputDefinition, error) {
	t.Helper()
	return ReadInputDefinition(context.Background(), strings.NewReader(string(b)))
}

func utf16Units(s string) []uint16 {
	var out []uint16
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			out = append(out, uint16(0xD800+(r>>10)), uint16(0xDC00+(r&0x3FF)))
			continue
		}
		out = append(out, uint16(r))
	}
	return out
}

func TestStanzaParams(t *testing.T) {
	st := Stanza{Name: "x://y", Params: map[string]string{"b": " Yes ", "bad": "maybe", "n": "42", "big": "1000", "t": "2024-01-02T03:04:05Z", "e": "GCC_high"}}
	if v, err := st.Bool("b", false); err != nil || !v {
		t.Errorf("Bool(b) = %v, %v", v, err)
	}
	if v, err := st.Bool("missing", true); err != nil || !v {
		t.Errorf("Bool(missing) = %v, %v", v, err)
	}
	if _, err := st.Bool("bad", false); err == nil || err.Error() != `stanza "x://y": parameter "bad": expected a boolean (true or false), got "maybe"` {
		t.Errorf("Bool(bad) err = %v", err)
	}
	if v, err := st.Int("n", 1, 1, 100); err != nil || v != 42 {
		t.Errorf("Int(n) = %v, %v", v, err)
	}
	if _, err := st.Int("big", 1, 1, 100); err == nil || !strings.Contains(err.Error(), "from 1 to 100") {
		t.Errorf("Int(big) err = %v", err)
	}
	if v, err := st.Time("t", time.Time{}); err != nil || !v.Equal(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("Time(t) = %v, %v", v, err)
	}
	if v, err := st.OneOf("e", "commercial", "commercial", "gcc", "gcc_high", "dod"); err != nil || v != "gcc_high" {
		t.Errorf("OneOf(e) = %v, %v", v, err)
	}
	if _, err := st.OneOf("b", "x", "x", "z"); err == nil || !strings.Contains(err.Error(), "expected one of x, z") {
		t.Errorf("OneOf(b) err = %v", err)
	}
}
