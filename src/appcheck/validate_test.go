package appcheck

import (
	"strings"
	"testing"
)

const appInputsSpec = `[myscheme://<name>]
tenant_id = <string>
* prose
log_level = DEBUG|INFO|WARN|ERROR
expand = <boolean>
interval = <integer>
`

func TestValidateConf(t *testing.T) {
	sys := systemSpecs(t)
	app, err := ParseSpec("README/inputs.conf.spec", strings.NewReader(appInputsSpec))
	if err != nil {
		t.Fatal(err)
	}
	specs := sys.WithApp([]*Spec{app})
	tests := []struct {
		name string
		file string
		in   string
		want []string // findings as "line: message", in order
	}{
		{
			name: "ModularInputDefaultsAndStanzas",
			file: "inputs.conf",
			in: "[myscheme]\ninterval = 300\nsourcetype = x\nlog_level = info\nrun_introspection = true\n" +
				"[myscheme://prod]\ntenant_id = t\ndisabled = true\nindex = main\nexpand = 1\n",
		},
		{
			name: "ModularInputTypos",
			file: "inputs.conf",
			in:   "[myscheme]\nintervall = 300\nlog_level = verbose\n[otherscheme://x]\ntenant_id = t\n",
			want: []string{
				`2: setting "intervall" is not defined for [myscheme] by inputs.conf.spec + README/inputs.conf.spec`,
				`3: log_level = "verbose": expected one of DEBUG, INFO, WARN, ERROR`,
				`4: stanza [otherscheme://x] matches no stanza of inputs.conf.spec + README/inputs.conf.spec`,
			},
		},
		{
			// The modular-input extras are not offered to Splunk's own
			// input types.
			name: "ExtrasOnlyForAppSchemes",
			file: "inputs.conf",
			in:   "[monitor:///var/log]\nrun_introspection = true\n",
			want: []string{`2: setting "run_introspection" is not defined for [monitor:///var/log] by inputs.conf.spec + README/inputs.conf.spec`},
		},
		{
			name: "Props",
			file: "props.conf",
			in: "[ms365:defender:incident]\nKV_MODE = json\nTRUNCATE = 0\nSHOULD_LINEMERGE = false\n" +
				"FIELDALIAS-user = assignedTo AS user\nEVAL-severity = lower(severity)\nREPORT-x = y\nLOOKUP-p = l a OUTPUT b\n" +
				"KV_MOD = json\nTRUNCATE = -1\nEVAL- = x\n",
			want: []string{
				`9: setting "KV_MOD" is not defined for [ms365:defender:incident] by props.conf.spec`,
				`10: duplicate setting "TRUNCATE" in [ms365:defender:incident] (first at line 3)`,
				`10: TRUNCATE = "-1": expected non-negative integer`,
				`11: setting "EVAL-" is not defined for [ms365:defender:incident] by props.conf.spec`,
			},
		},
		{
			name: "DuplicateStanza",
			file: "eventtypes.conf",
			in:   "[a]\nsearch = x\n[a]\nsearch = y\n",
			want: []string{`3: duplicate stanza [a] (first at line 1)`},
		},
		{
			name: "Tags",
			file: "tags.conf",
			in:   "[eventtype=m365_defender_alert]\nalert = enabled\nattack = disabled\nbroken = maybe\n",
			want: []string{`4: broken = "maybe": expected one of enabled, disabled`},
		},
		{
			name: "Meta",
			file: "default.meta",
			in:   "[]\naccess = read : [ * ], write : [ admin ]\nexport = system\n[views]\nexport = everyone\nowner = nobody\nexpor = none\n",
			want: []string{
				`5: export = "everyone": expected one of system, none`,
				`7: setting "expor" is not defined for [views] by default.meta.parseable.spec`,
			},
		},
		{
			name: "NoSpec",
			file: "m365_defender_settings.conf",
			in:   "[a]\nb = c\n",
			want: []string{`0: no .conf.spec describes m365_defender_settings.conf (Splunk's or README/m365_defender_settings.conf.spec)`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConf(tt.file, strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range ValidateConf(c, tt.file, specs) {
				if f.Check != "conf" || f.File != tt.file {
					t.Errorf("finding %v: wrong check or file", f)
				}
				got = append(got, strings.TrimPrefix(f.String(), tt.file+":"))
			}
			if strings.Join(got, "\n") != strings.Join(prefixLines(tt.want), "\n") {
				t.Errorf("findings:\n got %q\nwant %q", got, prefixLines(tt.want))
			}
		})
	}
}

// prefixLines turns "N: msg" into the Finding.String form "N: [conf] msg".
func prefixLines(in []string) []string {
	var out []string
	for _, s := range in {
		line, msg, _ := strings.Cut(s, ": ")
		if line == "0" {
			out = append(out, " [conf] "+msg)
			continue
		}
		out = append(out, line+": [conf] "+msg)
	}
	return out
}
