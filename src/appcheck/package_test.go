package appcheck

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// entry is one tar entry of a synthetic package.
type entry struct {
	name  string // full name inside the archive
	mode  int64
	data  []byte
	typ   byte
	uname string
}

// repoEntries returns the repository's app files as package entries under
// TA-m365-defender/, with the modes `make package` gives them, plus fake
// binaries (right magic numbers) for every platform.
func repoEntries(t *testing.T) []entry {
	t.Helper()
	app, err := LoadTree(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	const top = "TA-m365-defender/"
	es := []entry{{name: top, mode: 0o755, typ: tar.TypeDir}}
	dirs := map[string]bool{}
	for _, f := range app.Files {
		if f.Mode.IsDir() {
			continue
		}
		for d := filepath.ToSlash(filepath.Dir(f.Path)); d != "." && !dirs[d]; d = filepath.ToSlash(filepath.Dir(d)) {
			dirs[d] = true
			es = append(es, entry{name: top + d + "/", mode: 0o755, typ: tar.TypeDir})
		}
		mode := int64(0o644)
		if isLauncher(f.Path) {
			mode = 0o755
		}
		es = append(es, entry{name: top + f.Path, mode: mode, data: f.Data, typ: tar.TypeReg})
	}
	for _, p := range DefaultPlatforms {
		name := top + "bin/" + p + "/m365defender"
		if strings.HasPrefix(p, "windows") {
			name += ".exe"
		}
		es = append(es, entry{name: top + "bin/" + p + "/", mode: 0o755, typ: tar.TypeDir},
			entry{name: name, mode: 0o755, data: append(append([]byte(nil), magicFor(p)...), "fake binary"...), typ: tar.TypeReg})
	}
	return es
}

func writePackage(t *testing.T, es []entry) string {
	t.Helper()
	sort.SliceStable(es, func(i, j int) bool { return es[i].name < es[j].name })
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	for _, e := range es {
		h := &tar.Header{Name: e.name, Mode: e.mode, Typeflag: e.typ, Size: int64(len(e.data)), Format: tar.FormatUSTAR, Uname: e.uname}
		if e.typ == tar.TypeSymlink {
			h.Linkname, h.Size = "elsewhere", 0
		}
		if e.typ == tar.TypeDir {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			if _, err := tw.Write(e.data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "TA-m365-defender-0.1.0.tgz")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// schemesFromSpec builds --scheme XML whose arguments are exactly the
// parameters README/inputs.conf.spec documents (minus Splunk's own), so a
// good package has no scheme findings.
func schemesFromSpec(t *testing.T) map[string][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README", "inputs.conf.spec"))
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ParseSpec("README/inputs.conf.spec", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, st := range sp.Stanzas {
		var args []string
		for _, s := range st.Settings {
			switch {
			case s.Key == "interval":
			case s.Value == "<boolean>":
				args = append(args, s.Key+":boolean")
			case s.Value == "<integer>":
				args = append(args, s.Key+":number")
			default:
				args = append(args, s.Key)
			}
		}
		out[st.defaultOf] = schemeDoc(st.defaultOf, args)
	}
	return out
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// schemeDoc writes a scheme whose args are "name" (a string) or
// "name:data_type".
func schemeDoc(title string, args []string) []byte {
	var b strings.Builder
	b.WriteString("<scheme><title>" + title + "</title><use_external_validation>true</use_external_validation>" +
		"<use_single_instance>false</use_single_instance><streaming_mode>xml</streaming_mode><endpoint><args>")
	for _, arg := range args {
		a, typ, ok := strings.Cut(arg, ":")
		if !ok {
			typ = "string"
		}
		b.WriteString(`<arg name="` + a + `"><title>` + a + `</title><data_type>` + typ + `</data_type>` +
			`<required_on_edit>false</required_on_edit><required_on_create>false</required_on_create></arg>`)
	}
	b.WriteString("</args></endpoint></scheme>")
	return []byte(b.String())
}

func checkPackage(t *testing.T, specs Specs, es []entry, schemes map[string][]byte) []Finding {
	t.Helper()
	app, err := LoadPackage(writePackage(t, es), "")
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	return Check(app, Options{AppID: "TA-m365-defender", Specs: specs, Schemes: schemes})
}

func TestGoodPackageHasNoFindings(t *testing.T) {
	for _, f := range checkPackage(t, systemSpecs(t), repoEntries(t), schemesFromSpec(t)) {
		t.Error(f)
	}
}

// TestPackageFindings breaks a good package one way at a time and expects
// the finding that names it.
func TestPackageFindings(t *testing.T) {
	const top = "TA-m365-defender/"
	replace := func(name string, data string) func([]entry) []entry {
		return func(es []entry) []entry {
			for i := range es {
				if es[i].name == top+name {
					es[i].data = []byte(data)
				}
			}
			return es
		}
	}
	appendTo := func(name, data string) func([]entry) []entry {
		return func(es []entry) []entry {
			for i := range es {
				if es[i].name == top+name {
					es[i].data = append(append([]byte(nil), es[i].data...), data...)
				}
			}
			return es
		}
	}
	add := func(e entry) func([]entry) []entry {
		return func(es []entry) []entry { return append(es, e) }
	}
	chmod := func(name string, mode int64) func([]entry) []entry {
		return func(es []entry) []entry {
			for i := range es {
				if es[i].name == top+name {
					es[i].mode = mode
				}
			}
			return es
		}
	}
	drop := func(name string) func([]entry) []entry {
		return func(es []entry) []entry {
			out := es[:0]
			for _, e := range es {
				if e.name != top+name {
					out = append(out, e)
				}
			}
			return out
		}
	}
	png1x1 := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x64\x00\x00\x00\x64\x08\x06\x00\x00\x00\x70\xe2\x95\x54")
	tests := []struct {
		name    string
		mutate  func([]entry) []entry
		schemes func(map[string][]byte)
		want    string // "file: [check] message" substring of one finding
	}{
		{name: "SecondTopFolder", mutate: add(entry{name: "other/x.txt", mode: 0o644, typ: tar.TypeReg, data: []byte("x")}),
			want: "(package): [structure] package must hold exactly one top folder, found 2: TA-m365-defender, other"},
		{name: "EntryOutsideApp", mutate: add(entry{name: "../evil", mode: 0o644, typ: tar.TypeReg, data: []byte("x")}),
			want: "../evil: [structure] entry is outside the app folder"},
		{name: "LocalDir", mutate: add(entry{name: top + "local/inputs.conf", mode: 0o644, typ: tar.TypeReg, data: []byte("[x]\n")}),
			want: "local/inputs.conf: [structure] local/ must not be shipped"},
		{name: "LocalMeta", mutate: add(entry{name: top + "metadata/local.meta", mode: 0o644, typ: tar.TypeReg, data: []byte("[]\n")}),
			want: "metadata/local.meta: [structure] metadata/local.meta must not be shipped"},
		{name: "HiddenFile", mutate: add(entry{name: top + "default/.DS_Store", mode: 0o644, typ: tar.TypeReg, data: []byte("x")}),
			want: "default/.DS_Store: [structure] hidden file or directory"},
		{name: "MacOSX", mutate: add(entry{name: top + "__MACOSX/x", mode: 0o644, typ: tar.TypeReg, data: []byte("x")}),
			want: "__MACOSX/x: [structure] __MACOSX directory"},
		{name: "SpaceInName", mutate: add(entry{name: top + "static/my icon.png", mode: 0o644, typ: tar.TypeReg, data: []byte("x")}),
			want: "static/my icon.png: [structure] file name contains a space"},
		{name: "Symlink", mutate: add(entry{name: top + "default/link.conf", mode: 0o777, typ: tar.TypeSymlink}),
			want: "default/link.conf: [structure] links are not allowed"},
		{name: "OwnerName", mutate: add(entry{name: top + "static/x.txt", mode: 0o644, typ: tar.TypeReg, data: []byte("x"), uname: "alice"}),
			want: "static/x.txt: [structure] owner \"alice\""},
		{name: "SourceShipped", mutate: add(entry{name: top + "src/main.go", mode: 0o644, typ: tar.TypeReg, data: []byte("package main")}),
			want: "src/main.go: [structure] not part of an installed app (allowed at the top: LICENSE, LICENSE.txt, README, README.md, README.txt, app.manifest, appserver, bin, default, lookups, metadata, static)"},
		{name: "GoFileInBin", mutate: add(entry{name: top + "bin/helper.go", mode: 0o644, typ: tar.TypeReg, data: []byte("package main")}),
			want: "bin/helper.go: [structure] source, test or build material must not be shipped"},
		{name: "NodeModules", mutate: add(entry{name: top + "appserver/static/node_modules/x.js", mode: 0o644, typ: tar.TypeReg, data: []byte("x")}),
			want: "appserver/static/node_modules/x.js: [structure] source, test or build material must not be shipped"},
		{name: "NoReadme", mutate: drop("README.md"),
			want: "README.md: [structure] missing or empty: the app needs a README.md or README.txt in its root"},
		{name: "NoAppConf", mutate: drop("default/app.conf"),
			want: "default/app.conf: [structure] missing"},
		{name: "BadVersion", mutate: replace("default/app.conf", "[id]\nname = TA-m365-defender\nversion = 1.0\n[launcher]\nversion = 1.0\n[package]\nid = TA-m365-defender\n[ui]\nlabel = Defender XDR\n"),
			want: "default/app.conf:3: [structure] [id] version \"1.0\" is not Major.Minor.Revision"},
		{name: "WrongPackageID", mutate: replace("default/app.conf", "[id]\nname = TA-other\nversion = 0.1.0\n[launcher]\nversion = 0.1.0\n[package]\nid = TA-other\n[ui]\nlabel = Defender XDR\n"),
			want: "(package): [structure] top folder \"TA-m365-defender\" differs from [package] id \"TA-other\""},
		{name: "WorldWritable", mutate: chmod("default/inputs.conf", 0o666),
			want: "default/inputs.conf: [permissions] world-writable (0666)"},
		{name: "OwnerCannotWrite", mutate: chmod("README.md", 0o444),
			want: "README.md: [permissions] owner must be able to read and write (mode 0444)"},
		{name: "ExecutableOutsideBin", mutate: chmod("default/props.conf", 0o755),
			want: "default/props.conf: [permissions] executable outside bin/"},
		{name: "ELFOutsideBin", mutate: add(entry{name: top + "static/tool", mode: 0o644, typ: tar.TypeReg, data: []byte("\x7fELFxxxx")}),
			want: "static/tool: [permissions] executable outside bin/"},
		{name: "LauncherNotExecutable", mutate: chmod("bin/m365_defender_alerts.sh", 0o644),
			want: "bin/m365_defender_alerts.sh: [permissions] launchers and binaries must be 0755, found 0644"},
		{name: "DirMode", mutate: chmod("default/", 0o700),
			want: "default: [permissions] directory mode 0700, expected 0755"},
		{name: "MissingBinary", mutate: drop("bin/darwin_arm64/m365defender"),
			want: "bin/darwin_arm64/m365defender: [binaries] missing: no binary for platform darwin_arm64"},
		{name: "WrongBinary", mutate: replace("bin/windows_x86_64/m365defender.exe", "\x7fELF not windows"),
			want: "bin/windows_x86_64/m365defender.exe: [binaries] is not a windows_x86_64 executable"},
		{name: "MissingLauncher", mutate: drop("bin/m365_defender_storage.cmd"),
			want: "bin/m365_defender_storage.cmd: [launchers] missing launcher for \"m365_defender_storage\""},
		{name: "AlertActionLauncherMissing", mutate: drop("bin/m365_defender_update_alert.sh"),
			want: "bin/m365_defender_update_alert.sh: [launchers] missing launcher for \"m365_defender_update_alert\" (declared in default/alert_actions.conf:"},
		{name: "AlertActionFormMissing", mutate: drop("default/data/ui/alerts/m365_defender_update_incident.html"),
			want: "[alert_actions] [m365_defender_update_incident] has no form"},
		{name: "AlertActionIconMissing", mutate: drop("appserver/static/m365_defender_alert_action.png"),
			want: "[alert_actions] [m365_defender_update_incident] icon_path = m365_defender_alert_action.png, but appserver/static/m365_defender_alert_action.png is missing"},
		{name: "SampleInputEnabled", mutate: appendTo("default/inputs.conf", "\n[m365_defender_alerts://sample]\ntenant_id = contoso.onmicrosoft.com\n"),
			want: "[inputs] [m365_defender_alerts://sample] is shipped enabled: set disabled = true"},
		{name: "ConfTypo", mutate: appendTo("default/inputs.conf", "\n[m365_defender_alerts]\nintervl = 60\n"),
			want: "[conf] setting \"intervl\" is not defined for [m365_defender_alerts]"},
		{name: "ConfSyntax", mutate: appendTo("default/inputs.conf", "\nnot a setting\n"),
			want: "default/inputs.conf:"},
		{name: "ConfOutsideDefault", mutate: add(entry{name: top + "bin/settings.conf", mode: 0o644, typ: tar.TypeReg, data: []byte("[a]\n")}),
			want: "bin/settings.conf: [conf] .conf files belong directly in default/"},
		{name: "PlainPassword", mutate: add(entry{name: top + "default/data/ui/views/x.xml", mode: 0o644, typ: tar.TypeReg, data: []byte("<dashboard>password = hunter2</dashboard>")}),
			want: "default/data/ui/views/x.xml:1: [secrets] looks like a password-like assignment"},
		{name: "SecretParamValue", mutate: appendTo("default/inputs.conf", "\n[m365_defender_alerts://x]\nclient_secret = s3cr3t\n"),
			want: "[secrets] [m365_defender_alerts://x] client_secret has a value"},
		{name: "URLCredentials", mutate: appendTo("README.md", "\nproxy: http://bob:pa55@proxy.example.com:3128\n"),
			want: "[secrets] looks like credentials inside a URL"},
		{name: "SASKey", mutate: appendTo("README.md", "\nEndpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=abcdefghijklmnopqrstuvwxyz012345=\n"),
			want: "[secrets] looks like an Azure key or SAS signature"},
		{name: "IconTooLarge", mutate: replace("static/appIcon.png", string(png1x1)),
			want: "static/appIcon.png: [icons] is 100x100, at most 36x36 allowed"},
		{name: "IconNotPNG", mutate: replace("static/appLogo.png", "GIF89a"),
			want: "static/appLogo.png: [icons] not a PNG image"},
		{name: "ViewNotXML", mutate: add(entry{name: top + "default/data/ui/views/x.json", mode: 0o644, typ: tar.TypeReg, data: []byte("{}")}),
			want: "default/data/ui/views/x.json: [views] only .xml and .html files are allowed"},
		{name: "ViewMalformed", mutate: add(entry{name: top + "default/data/ui/views/y.xml", mode: 0o644, typ: tar.TypeReg, data: []byte("<dashboard><label>x</dashboard>")}),
			want: "default/data/ui/views/y.xml: [views] not well-formed XML"},
		{name: "ManifestVersion", mutate: replace("app.manifest", `{"schemaVersion":"2.0.0","info":{"title":"x","id":{"name":"TA-m365-defender","version":"9.9.9"}},"supportedDeployments":["_standalone"],"targetWorkloads":["_search_heads"]}`),
			want: "app.manifest: [manifest] info.id.version \"9.9.9\" differs from app.conf version \"0.1.0\""},
		{name: "SchemeArgUndocumented",
			schemes: func(s map[string][]byte) {
				s["m365_defender_alerts"] = schemeDoc("x", []string{"tenant_id", "client_id", "client_secret", "client_certificate", "environment", "api", "start_date", "login_url", "api_url", "proxy_url", "ca_file", "log_level", "page_size"})
			},
			want: "[scheme] [m365_defender_alerts://<name>]: scheme argument \"page_size\" is not documented"},
		{name: "SpecParamNotInScheme",
			schemes: func(s map[string][]byte) {
				s["m365_defender_storage"] = schemeDoc("x", []string{"connection_string", "account_url"})
			},
			want: "[scheme] [m365_defender_storage://<name>]: \"container_prefix\" is documented but m365_defender_storage --scheme has no such argument"},
		{name: "SchemeDataType",
			schemes: func(s map[string][]byte) {
				s["m365_defender_incidents"] = bytes.Replace(s["m365_defender_incidents"],
					[]byte(`<arg name="expand_alerts"><title>expand_alerts</title><data_type>boolean</data_type>`),
					[]byte(`<arg name="expand_alerts"><title>expand_alerts</title><data_type>number</data_type>`), 1)
			},
			want: "[scheme] [m365_defender_incidents://<name>]: expand_alerts = <boolean>, but --scheme declares it <data_type>number</data_type>"},
		{name: "SchemeShape",
			schemes: func(s map[string][]byte) {
				s["m365_defender_eventhub"] = []byte(`<scheme><title>x</title><streaming_mode>simple</streaming_mode></scheme>`)
			},
			want: "[scheme] m365_defender_eventhub --scheme: <streaming_mode> is \"simple\", expected xml"},
		{name: "SchemeMissing",
			schemes: func(s map[string][]byte) { delete(s, "m365_defender_incidents") },
			want:    "[scheme] no scheme XML given for m365_defender_incidents"},
	}
	// Loaded once: each case works on its own copy.
	specs, base, baseSchemes := systemSpecs(t), repoEntries(t), schemesFromSpec(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es := append([]entry(nil), base...)
			if tt.mutate != nil {
				es = tt.mutate(es)
			}
			schemes := map[string][]byte{}
			for k, v := range baseSchemes {
				schemes[k] = v
			}
			if tt.schemes != nil {
				tt.schemes(schemes)
			}
			findings := checkPackage(t, specs, es, schemes)
			for _, f := range findings {
				if strings.Contains(f.String(), tt.want) {
					return
				}
			}
			t.Errorf("no finding contains %q; got:", tt.want)
			for _, f := range findings {
				t.Log(f)
			}
		})
	}
}

// TestPackageRunsLaunchers builds a stand-in binary, packs it as the
// host platform's binary, and lets Check get each --scheme through the
// packaged bin/<scheme>.sh launcher, as splunkd's introspection does.
func TestPackageRunsLaunchers(t *testing.T) {
	if runtime.GOOS == "windows" || HostPlatform() == "" {
		t.Skip("needs a POSIX sh and a supported platform")
	}
	conf, err := ParseConfBytes("app.conf", mustRead(t, filepath.Join(repoRoot(t), "default", "app.conf")))
	if err != nil {
		t.Fatal(err)
	}
	version, _ := conf.Stanza("id").Get("version")
	bin := filepath.Join(t.TempDir(), "m365defender")
	build := exec.Command("go", "build", "-ldflags", "-X main.version="+version, "-o", bin, "./testdata/fakem365defender")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	fake := mustRead(t, bin)
	es := repoEntries(t)
	for i := range es {
		if es[i].name == "TA-m365-defender/bin/"+HostPlatform()+"/m365defender" {
			es[i].data = fake
		}
	}
	app, err := LoadPackage(writePackage(t, es), HostPlatform())
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if app.BinDir == "" {
		t.Fatal("LoadPackage extracted no launchers")
	}
	for _, f := range Check(app, Options{AppID: "TA-m365-defender", Specs: systemSpecs(t)}) {
		t.Error(f)
	}
	// A binary stamped with another version is reported.
	other := filepath.Join(t.TempDir(), "m365defender")
	build = exec.Command("go", "build", "-ldflags", "-X main.version=9.9.9", "-o", other, "./testdata/fakem365defender")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for i := range es {
		if es[i].name == "TA-m365-defender/bin/"+HostPlatform()+"/m365defender" {
			es[i].data = mustRead(t, other)
		}
	}
	app2, err := LoadPackage(writePackage(t, es), HostPlatform())
	if err != nil {
		t.Fatal(err)
	}
	defer app2.Close()
	want := "bin/" + HostPlatform() + "/m365defender: [binaries] --version prints \"9.9.9\", expected app.conf's version \"" + version + "\""
	var got []string
	for _, f := range Check(app2, Options{AppID: "TA-m365-defender", Specs: systemSpecs(t)}) {
		got = append(got, f.String())
	}
	if strings.Join(got, "\n") != want {
		t.Errorf("findings = %q, want only %q", got, want)
	}

	dir := app.BinDir
	if err := app.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Close left %s behind", dir)
	}
}
