package appcheck

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"image/png"
	"io"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Options configure Check.
type Options struct {
	// AppID is the expected app id; "" takes [package] id from app.conf.
	AppID string
	// Specs are Splunk's specs (LoadSystemSpecs); the app's README/*.spec
	// files are added by Check.
	Specs Specs
	// Schemes maps a scheme name to its --scheme XML. When nil, Check runs
	// the packaged binary (App.BinDir) to get them; when that is not
	// possible the scheme check reports it.
	Schemes map[string][]byte
	// Platforms every package must carry a binary for (bin/<platform>/).
	// Nil means DefaultPlatforms.
	Platforms []string
	// Binary is the binary's base name under bin/<platform>/.
	Binary string
}

// DefaultPlatforms are the platform directories the Makefile builds.
var DefaultPlatforms = []string{"linux_x86_64", "linux_aarch64", "darwin_x86_64", "darwin_arm64", "windows_x86_64"}

// Check runs every check that applies to app and returns the findings,
// sorted by file and line.
func Check(app *App, opts Options) []Finding {
	if opts.Binary == "" {
		opts.Binary = "m365defender"
	}
	if opts.Platforms == nil {
		opts.Platforms = DefaultPlatforms
	}
	c := &checker{app: app, opts: opts}
	c.appConf()
	if app.Packaged {
		c.structure()
		c.permissions()
		c.binaries()
		c.binaryVersion()
	}
	c.confs()
	c.inputs()
	c.alertActions()
	c.secrets()
	c.icons()
	c.views()
	c.manifest()
	sort.SliceStable(c.out, func(i, j int) bool {
		if c.out[i].File != c.out[j].File {
			return c.out[i].File < c.out[j].File
		}
		return c.out[i].Line < c.out[j].Line
	})
	// A file two checks parse (app.conf) reports its syntax error once.
	out := c.out[:0]
	for i, f := range c.out {
		if i == 0 || f != c.out[i-1] {
			out = append(out, f)
		}
	}
	return out
}

type checker struct {
	app     *App
	opts    Options
	out     []Finding
	id      string
	version string
	specs   Specs // system + app
	inSpec  *Spec // README/inputs.conf.spec
}

func (c *checker) add(check, file string, line int, format string, args ...any) {
	c.out = append(c.out, Finding{Check: check, File: file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (c *checker) parse(f *File) *Conf {
	if f.Data == nil {
		c.add("conf", f.Path, 0, "file too large to be a .conf file (%d bytes)", f.Size)
		return nil
	}
	conf, err := ParseConfBytes(f.Path, f.Data)
	if err != nil {
		var pe *ParseError
		if errors.As(err, &pe) {
			c.add("conf", f.Path, pe.Line, "%s", pe.Msg)
		} else {
			c.add("conf", f.Path, 0, "%v", err)
		}
		return nil
	}
	return conf
}

var (
	versionRe = regexp.MustCompile(`^\d+\.\d+\.\d+([a-z]+\d*)?$`)
	appIDRe   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	reserved  = regexp.MustCompile(`^(?i)(CON|PRN|AUX|NUL|COM[1-9]|LPT[1-9])$`)
)

// appConf: default/app.conf exists, has a valid version, [package] id and a
// label.
func (c *checker) appConf() {
	f := c.app.File("default/app.conf")
	if f == nil {
		c.add("structure", "default/app.conf", 0, "missing: every app needs default/app.conf")
		return
	}
	conf := c.parse(f)
	if conf == nil {
		return
	}
	get := func(stanza, key string) (string, int) {
		st := conf.Stanza(stanza)
		if st == nil {
			return "", 0
		}
		for i := len(st.Settings) - 1; i >= 0; i-- {
			if st.Settings[i].Key == key {
				return st.Settings[i].Value, st.Settings[i].Line
			}
		}
		return "", st.Line
	}
	id, line := get("package", "id")
	switch {
	case id == "":
		c.add("structure", f.Path, line, "[package] id is missing")
	case !appIDRe.MatchString(id) || strings.HasSuffix(id, ".") || reserved.MatchString(id):
		c.add("structure", f.Path, line, "[package] id %q must be letters, digits, '.', '_' or '-', not end with '.', and not be a reserved device name", id)
	}
	c.id = id
	if c.opts.AppID != "" && id != c.opts.AppID {
		c.add("structure", f.Path, line, "[package] id is %q, expected %q", id, c.opts.AppID)
	}
	if name, l := get("id", "name"); name != id {
		c.add("structure", f.Path, l, "[id] name %q differs from [package] id %q", name, id)
	}
	ver, l := get("id", "version")
	if !versionRe.MatchString(ver) {
		c.add("structure", f.Path, l, "[id] version %q is not Major.Minor.Revision (optionally with a lower-case suffix such as 1.0.0beta1)", ver)
	}
	c.version = ver
	if lv, l := get("launcher", "version"); lv != ver {
		c.add("structure", f.Path, l, "[launcher] version %q differs from [id] version %q", lv, ver)
	}
	if b, l := get("install", "build"); b != "" {
		if n, err := strconv.Atoi(b); err != nil || n <= 0 {
			c.add("structure", f.Path, l, "[install] build %q must be a positive integer", b)
		}
	}
	if st := conf.Stanza("install"); st != nil {
		if _, ok := st.Get("install_source_checksum"); ok {
			_, l := get("install", "install_source_checksum")
			c.add("structure", f.Path, l, "[install] install_source_checksum must not be set by the app")
		}
	}
	label, l := get("ui", "label")
	switch {
	case label == "":
		c.add("structure", f.Path, l, "[ui] label is required")
	case len(label) < 5 || len(label) > 80:
		c.add("structure", f.Path, l, "[ui] label %q should be 5 to 80 characters", label)
	case strings.HasPrefix(strings.ToLower(label), "splunk for"):
		c.add("structure", f.Path, l, "[ui] label %q must not start with \"Splunk For\"", label)
	}
	readme := false
	for _, name := range []string{"README.md", "README.txt"} {
		if f := c.app.File(name); f != nil && f.Mode.IsRegular() && f.Size > 0 {
			readme = true
		}
	}
	if !readme {
		c.add("structure", "README.md", 0, "missing or empty: the app needs a README.md or README.txt in its root")
	}
}

// structure: the package layout AppInspect's packaging checks ask for.
func (c *checker) structure() {
	a := c.app
	for _, o := range a.Outside {
		c.add("structure", o, 0, "entry is outside the app folder")
	}
	if len(a.TopLevel) != 1 {
		c.add("structure", "", 0, "package must hold exactly one top folder, found %d: %s", len(a.TopLevel), strings.Join(a.TopLevel, ", "))
	}
	if c.id != "" && a.Folder != c.id {
		c.add("structure", "", 0, "top folder %q differs from [package] id %q", a.Folder, c.id)
	}
	if strings.HasPrefix(a.Folder, ".") {
		c.add("structure", "", 0, "top folder %q is hidden", a.Folder)
	}
	for _, f := range a.Files {
		if f.Path == "" {
			if !f.Mode.IsDir() {
				c.add("structure", a.Folder, 0, "the top entry must be a directory")
			}
			continue
		}
		for _, part := range strings.Split(f.Path, "/") {
			switch {
			case strings.HasPrefix(part, "."):
				c.add("structure", f.Path, 0, "hidden file or directory")
			case part == "__MACOSX":
				c.add("structure", f.Path, 0, "__MACOSX directory (pack with COPYFILE_DISABLE=1)")
			case strings.ContainsAny(part, " \t"):
				c.add("structure", f.Path, 0, "file name contains a space")
			}
		}
		switch {
		case f.Path == "local" || strings.HasPrefix(f.Path, "local/"):
			c.add("structure", f.Path, 0, "local/ must not be shipped")
		case f.Path == "metadata/local.meta":
			c.add("structure", f.Path, 0, "metadata/local.meta must not be shipped")
		case f.Path == "default/passwords.conf":
			c.add("structure", f.Path, 0, "passwords.conf must not be shipped")
		case strings.HasPrefix(f.Path, "metadata/") && f.Mode.IsRegular() && !strings.HasSuffix(f.Path, ".meta"):
			c.add("structure", f.Path, 0, "metadata/ may hold only .meta files")
		}
		top, _, _ := strings.Cut(f.Path, "/")
		if !appTopLevel[top] {
			c.add("structure", f.Path, 0, "not part of an installed app (allowed at the top: %s)", strings.Join(sortedKeys(appTopLevel), ", "))
		}
		for _, part := range strings.Split(f.Path, "/") {
			if part == "node_modules" || part == "testdata" || strings.HasSuffix(part, ".go") {
				c.add("structure", f.Path, 0, "source, test or build material must not be shipped")
				break
			}
		}
		switch f.Typeflag {
		case tar.TypeReg, tar.TypeDir:
		case tar.TypeSymlink, tar.TypeLink:
			c.add("structure", f.Path, 0, "links are not allowed in an app package")
		default:
			c.add("structure", f.Path, 0, "unsupported tar entry type %q", string(f.Typeflag))
		}
		if f.Format != tar.FormatUSTAR {
			c.add("structure", f.Path, 0, "tar entry is %v, expected ustar", f.Format)
		}
		if !ownerOK(f.Uname) || !ownerOK(f.Gname) {
			c.add("structure", f.Path, 0, "owner %q / group %q: pack with --owner=0 --group=0 --numeric-owner", f.Uname, f.Gname)
		}
	}
}

// appTopLevel are the entries an installed app may have in its folder.
var appTopLevel = map[string]bool{
	"app.manifest": true, "LICENSE": true, "LICENSE.txt": true, "README.md": true, "README.txt": true,
	"README": true, "default": true, "metadata": true, "static": true, "appserver": true, "bin": true,
	"lookups": true,
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func ownerOK(name string) bool {
	if name == "" || name == "root" {
		return true
	}
	_, err := strconv.Atoi(name)
	return err == nil
}

// inBin reports whether p lies under a directory named bin (AppInspect
// matches the directory name anywhere) or appserver/controllers.
func inBin(p string) bool {
	parts := strings.Split(p, "/")
	for _, d := range parts[:len(parts)-1] {
		if d == "bin" {
			return true
		}
	}
	return strings.HasPrefix(p, "appserver/controllers/")
}

var execMagic = [][]byte{
	{0x7f, 'E', 'L', 'F'},    // ELF
	{'M', 'Z'},               // PE
	{0xcf, 0xfa, 0xed, 0xfe}, // Mach-O 64
	{0xce, 0xfa, 0xed, 0xfe}, // Mach-O 32
	{0xca, 0xfe, 0xba, 0xbe}, // Mach-O universal
}

func isExecutable(head []byte) bool {
	for _, m := range execMagic {
		if bytes.HasPrefix(head, m) {
			return true
		}
	}
	return false
}

// permissions: 644 files, 755 directories and executables, executables only
// under bin/.
func (c *checker) permissions() {
	for _, f := range c.app.Files {
		name := f.Path
		if name == "" {
			name = c.app.Folder
		}
		perm := f.Mode.Perm()
		if perm&0o002 != 0 {
			c.add("permissions", name, 0, "world-writable (%04o)", perm)
		}
		if f.Mode.IsDir() {
			if perm != 0o755 {
				c.add("permissions", name, 0, "directory mode %04o, expected 0755", perm)
			}
			continue
		}
		if !f.Mode.IsRegular() {
			continue
		}
		if perm&0o600 != 0o600 {
			c.add("permissions", name, 0, "owner must be able to read and write (mode %04o)", perm)
		}
		executable := perm&0o111 != 0 || strings.HasSuffix(name, ".exe") || isExecutable(f.Head)
		switch {
		case executable && !inBin(name):
			c.add("permissions", name, 0, "executable outside bin/ (mode %04o)", perm)
		case isLauncher(name) || isPlatformBinary(name) && isExecutable(f.Head):
			if perm != 0o755 {
				c.add("permissions", name, 0, "launchers and binaries must be 0755, found %04o", perm)
			}
		case perm != 0o644 && perm != 0o755:
			c.add("permissions", name, 0, "mode %04o, expected 0644 (0755 for executables in bin/)", perm)
		case perm == 0o755 && !inBin(name):
			c.add("permissions", name, 0, "mode 0755 outside bin/, expected 0644")
		}
	}
}

func isLauncher(p string) bool {
	return path.Dir(p) == "bin" && (strings.HasSuffix(p, ".sh") || strings.HasSuffix(p, ".cmd"))
}

// binaries: one binary per platform, each really built for it.
func (c *checker) binaries() {
	for _, p := range c.opts.Platforms {
		name := "bin/" + p + "/" + c.opts.Binary
		if strings.HasPrefix(p, "windows") {
			name += ".exe"
		}
		f := c.app.File(name)
		if f == nil {
			c.add("binaries", name, 0, "missing: no binary for platform %s", p)
			continue
		}
		if want := magicFor(p); want != nil && !bytes.HasPrefix(f.Head, want) {
			c.add("binaries", name, 0, "is not a %s executable", p)
		}
	}
}

func magicFor(platform string) []byte {
	switch {
	case strings.HasPrefix(platform, "linux"):
		return execMagic[0]
	case strings.HasPrefix(platform, "windows"):
		return execMagic[1]
	case strings.HasPrefix(platform, "darwin"):
		return execMagic[2]
	}
	return nil
}

// confs: every .conf and .meta file parses and uses only documented
// stanzas and settings; the app's own spec files are well-formed.
func (c *checker) confs() {
	var appSpecs []*Spec
	for _, f := range c.app.Glob("README/*.spec") {
		if f.Data == nil {
			continue
		}
		sp, err := ParseSpec(f.Path, bytes.NewReader(f.Data))
		if err != nil {
			c.add("spec", f.Path, 0, "%v", err)
			continue
		}
		c.specFile(f.Path, f.Data, sp)
		appSpecs = append(appSpecs, sp)
		if f.Path == "README/inputs.conf.spec" {
			c.inSpec = sp
		}
	}
	if c.opts.Specs == nil {
		c.add("conf", "", 0, "no Splunk .conf.spec files given: .conf files were not validated")
		return
	}
	c.specs = c.opts.Specs.WithApp(appSpecs)
	for _, f := range c.app.Files {
		if !f.Mode.IsRegular() {
			continue
		}
		var base string
		switch {
		case strings.HasPrefix(f.Path, "default/") && strings.HasSuffix(f.Path, ".conf") && path.Dir(f.Path) == "default":
			base = path.Base(f.Path)
		case strings.HasPrefix(f.Path, "metadata/") && strings.HasSuffix(f.Path, ".meta"):
			base = path.Base(f.Path)
		case strings.HasSuffix(f.Path, ".conf"):
			c.add("conf", f.Path, 0, ".conf files belong directly in default/")
			continue
		default:
			continue
		}
		if conf := c.parse(f); conf != nil {
			c.out = append(c.out, ValidateConf(conf, base, c.specs)...)
		}
	}
}

// specFile applies AppInspect's spec-file rules: stanzas, each with
// properties, no duplicate stanzas or properties, every property line of
// the form "name = <value>".
func (c *checker) specFile(name string, data []byte, sp *Spec) {
	if len(sp.Stanzas) == 0 {
		c.add("spec", name, 0, "has no stanzas")
	}
	seen := map[string]int{}
	for _, st := range sp.Stanzas {
		if prev, dup := seen[st.Pattern]; dup {
			c.add("spec", name, st.Line, "duplicate stanza [%s] (first at line %d)", st.Pattern, prev)
		}
		seen[st.Pattern] = st.Line
		if len(st.Settings) == 0 {
			c.add("spec", name, st.Line, "stanza [%s] documents no settings", st.Pattern)
		}
		keys := map[string]int{}
		for _, s := range st.Settings {
			if prev, dup := keys[s.Key]; dup {
				c.add("spec", name, s.Line, "duplicate setting %q in [%s] (first at line %d)", s.Key, st.Pattern, prev)
			}
			keys[s.Key] = s.Line
			if s.Value == "" {
				c.add("spec", name, s.Line, "setting %q documents no value (write %s = <value>)", s.Key, s.Key)
			}
		}
	}
	// Lines in column 0 that are neither comments, prose, headers nor
	// settings break AppInspect's spec parser.
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" || strings.ContainsAny(line[:1], "#* \t[") {
			continue
		}
		key, _, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(key) == "" || strings.ContainsAny(strings.TrimSpace(key), " \t") {
			c.add("spec", name, i+1, "line is not \"name = <value>\"; start prose lines with '*' or '#'")
		}
	}
}

var schemeNameRe = regexp.MustCompile(`^[0-9a-zA-Z][0-9a-zA-Z_-]*$`)

// builtinSchemes are the input types modular inputs must not reuse.
var builtinSchemes = map[string]bool{"batch": true, "fifo": true, "monitor": true, "script": true, "splunktcp": true, "tcp": true, "udp": true}

// schemes returns the schemes README/inputs.conf.spec declares.
func (c *checker) schemes() []*StanzaSpec {
	if c.inSpec == nil {
		return nil
	}
	var out []*StanzaSpec
	for _, st := range c.inSpec.Stanzas {
		if st.defaultOf != "" {
			out = append(out, st)
		}
	}
	return out
}

// inputs: every scheme has its launchers, its --scheme arguments and the
// spec agree both ways, and default/inputs.conf only configures known
// schemes.
func (c *checker) inputs() {
	if c.app.File("README/inputs.conf.spec") == nil {
		if c.app.File("default/inputs.conf") != nil {
			c.add("inputs", "README/inputs.conf.spec", 0, "missing, but default/inputs.conf exists")
		}
		return
	}
	schemes := c.schemes()
	if len(schemes) == 0 {
		c.add("inputs", "README/inputs.conf.spec", 0, "declares no [<scheme>://<name>] stanza")
	}
	for _, st := range schemes {
		name := st.defaultOf
		if !schemeNameRe.MatchString(name) || builtinSchemes[name] {
			c.add("inputs", c.inSpec.Name, st.Line, "scheme name %q is not allowed", name)
		}
		c.launchers(name, c.inSpec.Name, st.Line)
		for _, s := range st.Settings {
			if !schemeNameRe.MatchString(s.Key) {
				c.add("inputs", c.inSpec.Name, s.Line, "parameter name %q must match [0-9a-zA-Z][0-9a-zA-Z_-]*", s.Key)
			}
		}
		c.schemeCoverage(st)
	}
	c.shippedInputsDisabled()
}

// shippedInputsDisabled: an input stanza shipped in default/inputs.conf
// must be disabled, so nothing runs before an administrator configures it.
func (c *checker) shippedInputsDisabled() {
	f := c.app.File("default/inputs.conf")
	if f == nil || f.Data == nil {
		return
	}
	conf, err := ParseConfBytes(f.Path, f.Data)
	if err != nil {
		return // reported by confs
	}
	for _, st := range conf.Stanzas {
		if !strings.Contains(st.Name, "://") {
			continue
		}
		v, _ := st.Get("disabled")
		if b, ok := parseBool(v); !ok || !b {
			c.add("inputs", f.Path, st.Line, "[%s] is shipped enabled: set disabled = true (inputs run only once an administrator configures them)", st.Name)
		}
	}
}

func (c *checker) launchers(name, from string, line int) {
	for _, ext := range []string{".sh", ".cmd"} {
		p := "bin/" + name + ext
		f := c.app.File(p)
		if f == nil {
			c.add("launchers", p, 0, "missing launcher for %q (declared in %s:%d)", name, from, line)
			continue
		}
		if f.Data != nil && !bytes.Contains(f.Data, []byte(name)) {
			c.add("launchers", p, 0, "launcher does not pass %q to the binary", name)
		}
	}
}

// splunkOwn reports whether a parameter documented in the app's spec is
// one of Splunk's own input settings rather than a scheme argument.
func (c *checker) splunkOwn(key string) bool {
	set := c.specs["inputs.conf"]
	if set == nil || len(set.Specs) == 0 {
		return key == "interval"
	}
	for _, s := range set.Specs[0].Global {
		if s.Matches(key) {
			return true
		}
	}
	for _, s := range set.Extra {
		if s.Matches(key) {
			return true
		}
	}
	return false
}

func (c *checker) schemeCoverage(st *StanzaSpec) {
	name := st.defaultOf
	raw, err := c.schemeXML(name)
	if err != nil {
		c.add("scheme", "bin/"+name+".sh", 0, "%v", err)
		return
	}
	sch, err := ParseScheme(raw)
	if err != nil {
		c.add("scheme", "bin/"+name+".sh", 0, "--scheme output of %s: %v", name, err)
		return
	}
	for _, p := range sch.Problems() {
		c.add("scheme", "bin/"+name+".sh", 0, "%s --scheme: %s", name, p)
	}
	args := map[string]bool{}
	for _, a := range sch.Args {
		args[a.Name] = true
		var doc *SettingSpec
		for _, s := range st.Settings {
			if s.Key == a.Name {
				doc = s
			}
		}
		if doc == nil {
			c.add("scheme", c.inSpec.Name, st.Line, "[%s]: scheme argument %q is not documented", st.Pattern, a.Name)
			continue
		}
		if want := specShapeFor(a.DataType); want != "" && !strings.Contains(want, "|"+doc.Value+"|") {
			c.add("scheme", c.inSpec.Name, doc.Line, "[%s]: %s = %s, but --scheme declares it <data_type>%s</data_type>", st.Pattern, a.Name, doc.Value, a.DataType)
		}
		if a.DataType == "string" && (doc.Value == "<boolean>" || doc.Value == "<integer>") {
			c.add("scheme", c.inSpec.Name, doc.Line, "[%s]: %s = %s, but --scheme declares it <data_type>string</data_type>", st.Pattern, a.Name, doc.Value)
		}
	}
	for _, s := range st.Settings {
		if !args[s.Key] && !c.splunkOwn(s.Key) {
			c.add("scheme", c.inSpec.Name, s.Line, "[%s]: %q is documented but %s --scheme has no such argument", st.Pattern, s.Key, name)
		}
	}
}

// specShapeFor lists, between bars, the spec value shapes that document a
// scheme argument of the given data type ("" for any shape).
func specShapeFor(dataType string) string {
	switch dataType {
	case "boolean":
		return "|<boolean>|"
	case "number":
		return "|<integer>|<number>|<decimal>|<non-negative integer>|<positive integer>|"
	}
	return ""
}

// alertActions: every custom alert action has its launchers (or the
// command alert.execute.cmd names), its form and its icon.
func (c *checker) alertActions() {
	f := c.app.File("default/alert_actions.conf")
	if f == nil || f.Data == nil {
		return
	}
	conf, err := ParseConfBytes(f.Path, f.Data)
	if err != nil {
		return // reported by confs
	}
	for _, st := range conf.Stanzas {
		if st.Implicit || st.Name == "default" {
			continue
		}
		custom, _ := st.Get("is_custom")
		if b, ok := parseBool(custom); !ok || !b {
			continue
		}
		if icon, ok := st.Get("icon_path"); ok && icon != "" && c.app.File("appserver/static/"+icon) == nil {
			c.add("alert_actions", f.Path, st.Line, "[%s] icon_path = %s, but appserver/static/%s is missing", st.Name, icon, icon)
		}
		if c.app.File("default/data/ui/alerts/"+st.Name+".html") == nil {
			c.add("alert_actions", f.Path, st.Line, "[%s] has no form: default/data/ui/alerts/%s.html is missing", st.Name, st.Name)
		}
		if cmd, ok := st.Get("alert.execute.cmd"); ok {
			if c.app.File("bin/"+cmd) == nil {
				c.add("launchers", f.Path, st.Line, "[%s] alert.execute.cmd = %s, but bin/%s is missing", st.Name, cmd, cmd)
			}
			continue
		}
		c.launchers(st.Name, f.Path, st.Line)
	}
}

// secretPatterns are tried on every line of every text file. A line is
// matched against re only when its lower-cased text holds one of hints, so
// most lines skip the regexp.
var secretPatterns = []struct {
	hints []string
	re    *regexp.Regexp
	what  string
}{
	{[]string{"login", "passw", "community", "privpass"}, regexp.MustCompile(`(?i)(login|passwd|password|community|privpass)\s*=\s*[^\s]+`), "a password-like assignment (AppInspect check_for_secret_disclosure)"},
	{[]string{"://"}, regexp.MustCompile(`\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/:@"'<>]+:[^\s/@"'<>]+@[^\s/]+`), "credentials inside a URL"},
	{[]string{"accountkey=", "sharedaccesskey=", "sharedaccesssignature=", "sig="}, regexp.MustCompile(`(?i)\b(AccountKey|SharedAccessKey|SharedAccessSignature|sig)=[A-Za-z0-9+/%]{16,}`), "an Azure key or SAS signature"},
	{[]string{"-----begin"}, regexp.MustCompile(`-----BEGIN (RSA |EC |ENCRYPTED |OPENSSH )?PRIVATE KEY-----`), "a private key"},
}

func hasAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// secretKeyRe names settings whose value is a secret.
var secretKeyRe = regexp.MustCompile(`(^|[._])(client_secret|secret|password|passwd|connection_string|storage_connection_string|api_key|access_key|account_key|sas_token|token)$`)

// Mask is what a secret parameter reads once it is stored in
// storage/passwords.
const Mask = "********"

var textExt = map[string]bool{
	".conf": true, ".meta": true, ".spec": true, ".xml": true, ".html": true, ".md": true, ".txt": true,
	".json": true, ".js": true, ".css": true, ".sh": true, ".cmd": true, ".csv": true, ".manifest": true, "": true,
}

// secrets: no plain-text secret in any text file, and no value for a
// secret setting in any .conf.
func (c *checker) secrets() {
	for _, f := range c.app.Files {
		if !f.Mode.IsRegular() || f.Data == nil || !textExt[path.Ext(f.Path)] || isExecutable(f.Head) {
			continue
		}
		for i, line := range strings.Split(string(f.Data), "\n") {
			lower := strings.ToLower(line)
			for _, p := range secretPatterns {
				if hasAny(lower, p.hints) && p.re.MatchString(line) {
					c.add("secrets", f.Path, i+1, "looks like %s", p.what)
				}
			}
		}
		if !strings.HasSuffix(f.Path, ".conf") {
			continue
		}
		conf, err := ParseConfBytes(f.Path, f.Data)
		if err != nil {
			continue
		}
		for _, st := range conf.Stanzas {
			for _, kv := range st.Settings {
				if secretKeyRe.MatchString(kv.Key) && kv.Value != "" && kv.Value != Mask {
					c.add("secrets", f.Path, kv.Line, "[%s] %s has a value; secrets belong in storage/passwords, never in a shipped .conf", st.Name, kv.Key)
				}
			}
		}
	}
}

// iconSizes are the maximum sizes AppInspect accepts.
var iconSizes = []struct {
	name string
	w, h int
}{
	{"static/appIcon.png", 36, 36},
	{"static/appIcon_2x.png", 72, 72},
	{"static/appIconAlt.png", 36, 36},
	{"static/appIconAlt_2x.png", 72, 72},
	{"static/appLogo.png", 160, 40},
	{"static/appLogo_2x.png", 320, 80},
}

func (c *checker) icons() {
	for _, ic := range iconSizes {
		f := c.app.File(ic.name)
		if f == nil {
			c.add("icons", ic.name, 0, "missing")
			continue
		}
		if f.Data == nil {
			c.add("icons", ic.name, 0, "too large (%d bytes)", f.Size)
			continue
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(f.Data))
		if err != nil {
			c.add("icons", ic.name, 0, "not a PNG image: %v", err)
			continue
		}
		if cfg.Width > ic.w || cfg.Height > ic.h {
			c.add("icons", ic.name, 0, "is %dx%d, at most %dx%d allowed", cfg.Width, cfg.Height, ic.w, ic.h)
		}
	}
}

// views: only .xml and .html under default/data/ui/views, and every XML
// file under default/data/ui is well-formed.
func (c *checker) views() {
	for _, f := range c.app.Files {
		if !f.Mode.IsRegular() || !strings.HasPrefix(f.Path, "default/data/ui/") {
			continue
		}
		ext := path.Ext(f.Path)
		if strings.HasPrefix(f.Path, "default/data/ui/views/") && ext != ".xml" && ext != ".html" {
			c.add("views", f.Path, 0, "only .xml and .html files are allowed in default/data/ui/views")
		}
		if ext == ".xml" && f.Data != nil {
			if err := wellFormed(f.Data); err != nil {
				c.add("views", f.Path, 0, "not well-formed XML: %v", err)
			}
		}
	}
}

func wellFormed(b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	roots := 0
	depth := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
	if roots != 1 {
		return fmt.Errorf("expected one root element, found %d", roots)
	}
	return nil
}

// manifest: app.manifest is schema 2.0.0 JSON whose id and version match
// app.conf.
func (c *checker) manifest() {
	f := c.app.File("app.manifest")
	if f == nil {
		c.add("manifest", "app.manifest", 0, "missing")
		return
	}
	var m struct {
		SchemaVersion string `json:"schemaVersion"`
		Info          struct {
			Title string `json:"title"`
			ID    struct {
				Name    string `json:"name"`
				Version string `json:"version"`
			} `json:"id"`
		} `json:"info"`
		PlatformRequirements json.RawMessage `json:"platformRequirements"`
		SupportedDeployments []string        `json:"supportedDeployments"`
		TargetWorkloads      []string        `json:"targetWorkloads"`
	}
	if err := json.Unmarshal(f.Data, &m); err != nil {
		c.add("manifest", f.Path, 0, "not valid JSON: %v", err)
		return
	}
	if m.SchemaVersion != "2.0.0" {
		c.add("manifest", f.Path, 0, "schemaVersion %q, expected 2.0.0", m.SchemaVersion)
	}
	if m.Info.Title == "" {
		c.add("manifest", f.Path, 0, "info.title is empty")
	}
	if c.id != "" && m.Info.ID.Name != c.id {
		c.add("manifest", f.Path, 0, "info.id.name %q differs from [package] id %q", m.Info.ID.Name, c.id)
	}
	if c.version != "" && m.Info.ID.Version != c.version {
		c.add("manifest", f.Path, 0, "info.id.version %q differs from app.conf version %q", m.Info.ID.Version, c.version)
	}
	if len(m.SupportedDeployments) == 0 {
		c.add("manifest", f.Path, 0, "supportedDeployments is empty")
	}
	if len(m.TargetWorkloads) == 0 {
		c.add("manifest", f.Path, 0, "targetWorkloads is empty")
	}
}
