package modinput

import (
	"bytes"
	"strings"
	"testing"
)

func TestSchemeMatchesSDKFixtures(t *testing.T) {
	withDefaults := Scheme{Title: "abcd", UseExternalValidation: true, StreamingMode: "xml"}
	withoutDefaults := Scheme{
		Title: "abcd", Description: "쎼 and 쎶 and <&> für", UseSingleInstance: true, StreamingMode: "simple",
		Args: []Arg{
			{Name: "arg1"},
			{Name: "arg2", Description: "쎼 and 쎶 and <&> für", Validation: "is_pos_int('some_name')", DataType: Number, RequiredOnEdit: true, RequiredOnCreate: true},
		},
	}
	withTitle := withoutDefaults
	withTitle.Args = append([]Arg(nil), withoutDefaults.Args...)
	withTitle.Args[1].Title = "Argument for ``test_scheme``"
	tests := []struct {
		file   string
		scheme Scheme
	}{
		{"python/scheme_with_defaults.xml", withDefaults},
		{"java/scheme_with_defaults.xml", withDefaults},
		{"javascript/scheme_with_defaults.xml", withDefaults},
		{"python/scheme_without_defaults.xml", withoutDefaults},
		{"java/scheme_without_defaults.xml", withoutDefaults},
		{"javascript/scheme_without_defaults.xml", withoutDefaults},
		{"python/scheme_without_defaults_and_argument_title.xml", withTitle},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			want := parseTreeForTest(t, fixture(t, tt.file))
			var out bytes.Buffer
			if _, err := tt.scheme.WriteTo(&out); err != nil {
				t.Fatal(err)
			}
			if got := parseTreeForTest(t, out.Bytes()); !treesEqual(got, want) {
				t.Errorf("got:\n%s\nwant:\n%s\nraw:\n%s", dumpTrees(got), dumpTrees(want), out.String())
			}
		})
	}
}

func TestArgumentFixtures(t *testing.T) {
	type argCase struct {
		file string
		arg  Arg
	}
	var tests []argCase
	for _, sdk := range []string{"python", "java", "javascript"} {
		tests = append(tests,
			argCase{sdk + "/argument_with_defaults.xml", Arg{Name: "some_name"}},
			argCase{sdk + "/argument_without_defaults.xml", Arg{Name: "some_name", Description: "쎼 and 쎶 and <&> für", Validation: "is_pos_int('some_name')", DataType: Boolean, RequiredOnEdit: true, RequiredOnCreate: true}},
		)
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			want := parseTreeForTest(t, fixture(t, tt.file))
			var out bytes.Buffer
			if _, err := (Scheme{Title: "x", Args: []Arg{tt.arg}}).WriteTo(&out); err != nil {
				t.Fatal(err)
			}
			root := parseTreeForTest(t, out.Bytes())[0]
			got := root.Children[len(root.Children)-1].Children[0].Children // endpoint > args > arg
			if !treesEqual(got, want) {
				t.Errorf("got:\n%s\nwant:\n%s", dumpTrees(got), dumpTrees(want))
			}
		})
	}
}

func TestValidationErrorMatchesSDKFixtures(t *testing.T) {
	for file, msg := range map[string]string{
		"python/validation_error.xml":     "Big fat validation error!",
		"java/validation_error.xml":       "Oh, the vogonity!",
		"javascript/validation_error.xml": "Big fat validation error!",
	} {
		t.Run(file, func(t *testing.T) {
			var out bytes.Buffer
			if err := WriteValidationError(&out, msg); err != nil {
				t.Fatal(err)
			}
			want := parseTreeForTest(t, fixture(t, file))
			if got := parseTreeForTest(t, out.Bytes()); !treesEqual(got, want) {
				t.Errorf("got %s, want %s", dumpTrees(got), dumpTrees(want))
			}
		})
	}
	var out bytes.Buffer
	_ = WriteValidationError(&out, `stanza "a://b": parameter "x": expected <1> & "2"`)
	if !strings.Contains(out.String(), "expected &lt;1&gt; &amp;") {
		t.Errorf("not escaped: %s", out.String())
	}
}
