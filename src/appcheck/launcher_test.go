package appcheck

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// launcherNames are the schemes and alert actions that need launchers.
var launcherNames = []string{
	"m365_defender_incidents", "m365_defender_alerts", "m365_defender_eventhub", "m365_defender_storage",
	"m365_defender_update_incident", "m365_defender_update_alert",
}

// launcherSandbox copies bin/<name>.sh into a temporary bin/ and puts a fake
// binary script under bin/<platform>/m365defender for each given platform.
// The fake writes "pid=<its pid> args=<args> stdin=<stdin>" to record and
// exits 7. A fake uname on PATH reports os and arch.
func launcherSandbox(t *testing.T, name, unameS, unameM string, platforms ...string) (launcher, record string, env []string) {
	t.Helper()
	root := repoRoot(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	src, err := os.ReadFile(filepath.Join(root, "bin", name+".sh"))
	if err != nil {
		t.Fatal(err)
	}
	launcher = filepath.Join(bin, name+".sh")
	mustWrite(t, launcher, string(src), 0o755)
	record = filepath.Join(dir, "record")
	for _, p := range platforms {
		// $$ in a script that was exec'd is the launcher's own pid.
		mustWrite(t, filepath.Join(bin, p, "m365defender"),
			"#!/bin/sh\nprintf 'platform="+p+" pid=%s args=%s stdin=%s' \"$$\" \"$*\" \"$(cat)\" > \"$RECORD\"\nexit 7\n", 0o755)
	}
	fakes := filepath.Join(dir, "fakebin")
	mustWrite(t, filepath.Join(fakes, "uname"),
		fmt.Sprintf("#!/bin/sh\ncase \"$1\" in -s) echo %s ;; -m) echo %s ;; *) echo %s ;; esac\n", unameS, unameM, unameS), 0o755)
	env = append(os.Environ(), "PATH="+fakes+string(os.PathListSeparator)+os.Getenv("PATH"), "RECORD="+record)
	return launcher, record, env
}

func mustWrite(t *testing.T, p, data string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
}

func TestLauncherPicksPlatformAndExecs(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX launchers")
	}
	all := []string{"linux_x86_64", "linux_aarch64", "darwin_x86_64", "darwin_arm64"}
	platforms := []struct{ s, m, want string }{
		{"Linux", "x86_64", "linux_x86_64"},
		{"Linux", "aarch64", "linux_aarch64"},
		{"Linux", "arm64", "linux_aarch64"},
		{"Darwin", "x86_64", "darwin_x86_64"},
		{"Darwin", "arm64", "darwin_arm64"},
	}
	for _, name := range launcherNames {
		for _, p := range platforms {
			t.Run(name+"/"+p.want+"/"+p.m, func(t *testing.T) {
				launcher, record, env := launcherSandbox(t, name, p.s, p.m, all...)
				cmd := exec.Command("/bin/sh", launcher, "--scheme", "two words")
				cmd.Env = env
				cmd.Stdin = strings.NewReader("<input/>")
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				err := cmd.Run()
				ee, ok := err.(*exec.ExitError)
				if !ok || ee.ExitCode() != 7 {
					t.Fatalf("exit = %v, want the binary's exit code 7; stderr: %s", err, stderr.String())
				}
				got, err := os.ReadFile(record)
				if err != nil {
					t.Fatal(err)
				}
				want := fmt.Sprintf("platform=%s pid=%d args=%s --scheme two words stdin=<input/>", p.want, cmd.Process.Pid, name)
				if string(got) != want {
					t.Errorf("binary saw\n %q\nwant\n %q\n(same pid means the launcher exec'd the binary)", got, want)
				}
			})
		}
	}
}

func TestLauncherErrors(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX launchers")
	}
	tests := []struct {
		name, s, m string
		platforms  []string
		want       string
	}{
		{"UnsupportedOS", "FreeBSD", "amd64", []string{"linux_x86_64"},
			`FATAL msg="unsupported platform" input=m365_defender_incidents os="FreeBSD" arch="amd64"`},
		{"UnsupportedArch", "Linux", "riscv64", []string{"linux_x86_64"},
			`FATAL msg="unsupported platform" input=m365_defender_incidents os="Linux" arch="riscv64"`},
		{"MissingBinary", "Linux", "aarch64", []string{"linux_x86_64"},
			`FATAL msg="binary not found or not executable" input=m365_defender_incidents path="`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			launcher, _, env := launcherSandbox(t, "m365_defender_incidents", tt.s, tt.m, tt.platforms...)
			cmd := exec.Command("/bin/sh", launcher, "--scheme")
			cmd.Env = env
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Fatalf("exit = %v, want 1", err)
			}
			line := strings.TrimSpace(stderr.String())
			if !strings.HasPrefix(line, tt.want) || strings.Count(line, "\n") != 0 {
				t.Errorf("stderr = %q, want one line starting %q", line, tt.want)
			}
		})
	}
}

// TestLauncherSignalReachesBinary sends SIGTERM to the process splunkd
// started (the launcher) and expects the binary itself to handle it.
func TestLauncherSignalReachesBinary(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX launchers")
	}
	launcher, record, env := launcherSandbox(t, "m365_defender_eventhub", "Linux", "x86_64")
	mustWrite(t, filepath.Join(filepath.Dir(launcher), "linux_x86_64", "m365defender"),
		"#!/bin/sh\ntrap 'echo stopped > \"$RECORD\"; exit 0' TERM\necho ready > \"$RECORD.ready\"\nwhile :; do sleep 0.05; done\n", 0o755)
	cmd := exec.Command("/bin/sh", launcher)
	cmd.Env = env
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(record + ".ready"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatal("fake binary never started")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(terminate); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit = %v, want 0 from the binary's TERM handler", err)
		}
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("SIGTERM did not reach the binary")
	}
	if got, _ := os.ReadFile(record); strings.TrimSpace(string(got)) != "stopped" {
		t.Errorf("record = %q, want stopped", got)
	}
}

// TestLaunchersAgree checks every launcher pair is the same template with
// only the name changed, so a fix to one reaches all.
func TestLaunchersAgree(t *testing.T) {
	root := repoRoot(t)
	for _, ext := range []string{".sh", ".cmd"} {
		var ref string
		for _, name := range launcherNames {
			b, err := os.ReadFile(filepath.Join(root, "bin", name+ext))
			if err != nil {
				t.Fatal(err)
			}
			generic := strings.ReplaceAll(string(b), name, "NAME")
			if ref == "" {
				ref = generic
				continue
			}
			if generic != ref {
				t.Errorf("bin/%s%s differs from bin/%s%s beyond the name", name, ext, launcherNames[0], ext)
			}
		}
		if ext == ".cmd" {
			if !strings.Contains(ref, "\r\n") || strings.Count(ref, "\n") != strings.Count(ref, "\r\n") {
				t.Error(".cmd launchers must use CRLF line endings")
			}
			if !strings.Contains(ref, `"%~dp0windows_x86_64\m365defender.exe" NAME %*`) || !strings.Contains(ref, "exit /b %ERRORLEVEL%") {
				t.Errorf(".cmd launcher does not run the binary with the name and pass its exit code:\n%s", ref)
			}
		} else if !strings.Contains(ref, `exec "$bin" "$name" "$@"`) || !strings.HasPrefix(ref, "#!/bin/sh\n") {
			t.Errorf(".sh launcher does not exec the binary with the name first:\n%s", ref)
		}
		if runtime.GOOS != "windows" {
			for _, name := range launcherNames {
				fi, err := os.Stat(filepath.Join(root, "bin", name+ext))
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm()&0o111 == 0 {
					t.Errorf("bin/%s%s is not executable in the tree", name, ext)
				}
			}
		}
	}
}
