package appcheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot walks up from the test's directory to the directory holding go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// systemSpecs loads Splunk's spec files from ../shared/fixtures/splunk-spec
// relative to the repository root.
func systemSpecs(t testing.TB) Specs {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "..", "shared", "fixtures", "splunk-spec")
	specs, err := LoadSystemSpecs(dir)
	if err != nil {
		t.Fatalf("Splunk's .conf.spec files are needed at %s: %v", dir, err)
	}
	return specs
}

// TestRepoApp runs every check that applies to a source tree over the
// repository's own app files: each default/*.conf and metadata/*.meta that
// exists right now (teammates add more) against Splunk's specs and
// README/*.spec, plus app.conf, the manifest, icons, views, launchers and
// secrets. A typo in any .conf fails here.
func TestRepoApp(t *testing.T) {
	root := repoRoot(t)
	app, err := LoadTree(root)
	if err != nil {
		t.Fatal(err)
	}
	confs := 0
	for _, f := range app.Files {
		if strings.HasSuffix(f.Path, ".conf") || strings.HasSuffix(f.Path, ".meta") {
			confs++
		}
	}
	if confs < 3 {
		t.Fatalf("found only %d .conf/.meta files under %s; the tree walk is broken", confs, root)
	}
	findings := Check(app, Options{AppID: "TA-m365-defender", Specs: systemSpecs(t), Schemes: map[string][]byte{}})
	for _, f := range findings {
		if f.Check == "scheme" {
			continue // needs the built binary: covered by make inspect on the package
		}
		t.Error(f)
	}
	t.Logf("checked %d .conf/.meta files", confs)
}
