package appcheck

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Scheme is the part of a modular input's --scheme XML the checks use.
type Scheme struct {
	Title                 string      `xml:"title"`
	Description           string      `xml:"description"`
	UseExternalValidation string      `xml:"use_external_validation"`
	UseSingleInstance     string      `xml:"use_single_instance"`
	StreamingMode         string      `xml:"streaming_mode"`
	Args                  []SchemeArg `xml:"endpoint>args>arg"`
}

// SchemeArg is one <arg> of a scheme.
type SchemeArg struct {
	Name             string  `xml:"name,attr"`
	Title            string  `xml:"title"`
	Description      string  `xml:"description"`
	DataType         string  `xml:"data_type"`
	RequiredOnCreate *string `xml:"required_on_create"`
	RequiredOnEdit   *string `xml:"required_on_edit"`
}

// ParseScheme parses --scheme output.
func ParseScheme(b []byte) (*Scheme, error) {
	var doc struct {
		XMLName xml.Name
		Scheme
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(&doc); err != nil {
		return nil, fmt.Errorf("not scheme XML: %w", err)
	}
	if doc.XMLName.Local != "scheme" {
		return nil, fmt.Errorf("root element is <%s>, expected <scheme>", doc.XMLName.Local)
	}
	return &doc.Scheme, nil
}

// Problems lists what keeps splunkd's Settings > Data inputs form from
// working as the project intends: every element written explicitly,
// streaming_mode xml, external validation, one process per stanza.
func (s *Scheme) Problems() []string {
	var out []string
	if strings.TrimSpace(s.Title) == "" {
		out = append(out, "<title> is empty")
	}
	if s.StreamingMode != "xml" {
		out = append(out, fmt.Sprintf("<streaming_mode> is %q, expected xml", s.StreamingMode))
	}
	if s.UseExternalValidation != "true" {
		out = append(out, fmt.Sprintf("<use_external_validation> is %q, expected true", s.UseExternalValidation))
	}
	if s.UseSingleInstance != "false" {
		out = append(out, fmt.Sprintf("<use_single_instance> is %q, expected false", s.UseSingleInstance))
	}
	seen := map[string]bool{}
	for _, a := range s.Args {
		switch {
		case !schemeNameRe.MatchString(a.Name):
			out = append(out, fmt.Sprintf("argument name %q must match [0-9a-zA-Z][0-9a-zA-Z_-]*", a.Name))
		case seen[a.Name]:
			out = append(out, fmt.Sprintf("argument %q is declared twice", a.Name))
		}
		seen[a.Name] = true
		switch a.DataType {
		case "string", "number", "boolean":
		default:
			out = append(out, fmt.Sprintf("argument %q: <data_type> %q, expected string, number or boolean", a.Name, a.DataType))
		}
		for _, r := range []struct {
			name string
			v    *string
		}{{"required_on_create", a.RequiredOnCreate}, {"required_on_edit", a.RequiredOnEdit}} {
			if r.v == nil || (*r.v != "true" && *r.v != "false") {
				out = append(out, fmt.Sprintf("argument %q: <%s> must be written as true or false", a.Name, r.name))
			}
		}
		if strings.TrimSpace(a.Title) == "" {
			out = append(out, fmt.Sprintf("argument %q has no <title>", a.Name))
		}
	}
	return out
}

// HostPlatform is the bin/<platform> directory for the machine running the
// checks, or "" when no packaged binary can run here.
func HostPlatform() string {
	switch runtime.GOOS + "/" + runtime.GOARCH {
	case "linux/amd64":
		return "linux_x86_64"
	case "linux/arm64":
		return "linux_aarch64"
	case "darwin/amd64":
		return "darwin_x86_64"
	case "darwin/arm64":
		return "darwin_arm64"
	case "windows/amd64":
		return "windows_x86_64"
	}
	return ""
}

// schemeTimeout bounds one --scheme run.
const schemeTimeout = 20 * time.Second

// schemeXML returns the --scheme output for name: from Options.Schemes, or
// by running the packaged launcher (which runs the packaged binary), as
// splunkd's introspection does.
func (c *checker) schemeXML(name string) ([]byte, error) {
	if c.opts.Schemes != nil {
		b, ok := c.opts.Schemes[name]
		if !ok {
			return nil, fmt.Errorf("no scheme XML given for %s", name)
		}
		return b, nil
	}
	if c.app.BinDir == "" {
		return nil, fmt.Errorf("cannot get %s --scheme: no binary for this machine (%s) in the package and no scheme XML given", name, HostPlatform())
	}
	ctx, cancel := context.WithTimeout(context.Background(), schemeTimeout)
	defer cancel()
	var cmd *exec.Cmd
	if runtime.GOOS == "windows" {
		cmd = exec.CommandContext(ctx, filepath.Join(c.app.BinDir, HostPlatform(), c.opts.Binary+".exe"), name, "--scheme")
	} else {
		launcher := filepath.Join(c.app.BinDir, name+".sh")
		if _, err := os.Stat(launcher); err != nil {
			return nil, fmt.Errorf("cannot get %s --scheme: launcher bin/%s.sh missing", name, name)
		}
		cmd = exec.CommandContext(ctx, "/bin/sh", launcher, "--scheme")
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Stdin = nil
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 300 {
			msg = "..." + msg[len(msg)-300:]
		}
		return nil, fmt.Errorf("%s --scheme failed: %v: %s", name, err, msg)
	}
	return stdout.Bytes(), nil
}

// binaryVersion runs the packaged binary for this machine with --version
// and expects the version of default/app.conf (stamped by the Makefile).
func (c *checker) binaryVersion() {
	if c.opts.Schemes != nil || c.app.BinDir == "" || c.version == "" {
		return
	}
	exe := filepath.Join(c.app.BinDir, HostPlatform(), c.opts.Binary)
	if runtime.GOOS == "windows" {
		exe += ".exe"
	}
	rel := "bin/" + HostPlatform() + "/" + filepath.Base(exe)
	if _, err := os.Stat(exe); err != nil {
		return // reported by binaries
	}
	ctx, cancel := context.WithTimeout(context.Background(), schemeTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, exe, "--version").Output()
	if err != nil {
		c.add("binaries", rel, 0, "--version failed: %v", err)
		return
	}
	if got := strings.TrimSpace(string(out)); got != c.version {
		c.add("binaries", rel, 0, "--version prints %q, expected app.conf's version %q", clip(got), c.version)
	}
}

// ReadSchemeDir reads <scheme>.xml files from dir, for Options.Schemes.
func ReadSchemeDir(dir string) (map[string][]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("appcheck: scheme directory: %w", err)
	}
	out := map[string][]byte{}
	for _, e := range entries {
		if e.IsDir() || filepath.Ext(e.Name()) != ".xml" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("appcheck: %w", err)
		}
		out[strings.TrimSuffix(e.Name(), ".xml")] = b
	}
	return out, nil
}
