package modinputtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// Binary builds ./src/cmd/m365defender into a temporary directory, once per
// test binary however many tests ask; Remove deletes it (call it from
// TestMain after m.Run). The zero value is ready to use.
type Binary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// Path returns the built binary, building it on the first call; a build
// failure fails tb.
func (b *Binary) Path(tb testing.TB) string {
	tb.Helper()
	b.once.Do(func() {
		root := ModuleRoot(tb)
		b.dir, b.err = os.MkdirTemp("", "m365defender-test-")
		if b.err == nil {
			b.path, b.err = goBuild(root, b.dir)
		}
	})
	if b.err != nil {
		tb.Fatal(b.err)
	}
	return b.path
}

// Remove deletes the build directory, if any.
func (b *Binary) Remove() {
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}

// goBuild builds the command with the go that runs the tests.
func goBuild(root, dir string) (string, error) {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		if goBin, err = exec.LookPath("go"); err != nil {
			return "", fmt.Errorf("no go command to build the binary: %v", err)
		}
	}
	bin := filepath.Join(dir, "m365defender")
	cmd := exec.Command(goBin, "build", "-o", bin, "./src/cmd/m365defender")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./src/cmd/m365defender: %v\n%s", err, out)
	}
	return bin, nil
}
