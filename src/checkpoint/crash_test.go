package checkpoint

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// crashChildEnv tells the test binary to act as a writer that the parent kills.
const crashChildEnv = "CHECKPOINT_CRASH_CHILD_DIR"

// TestCrashChild is not a test of its own: run by TestKilledMidSave in a child process, it saves an
// increasing counter as fast as it can until it is killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("helper process for TestKilledMidSave")
	}
	s, err := NewFileStore(dir, "m365_defender_eventhub://crash")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var c cursor
	if _, err := s.Load("offset", &c); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	fmt.Println("ready")
	pad := make([]byte, 2048) // a record large enough to need more than one write on a slow disk
	for i := c.Count + 1; ; i++ {
		if err := s.Save("offset", cursor{Count: i, Skip: string(pad[:i%len(pad)])}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(4)
		}
	}
}

// TestKilledMidSave kills a process that is saving a checkpoint in a loop, at arbitrary moments, and checks
// that every relaunch reads a sound record that never goes back in time.
func TestKilledMidSave(t *testing.T) {
	if os.Getenv(crashChildEnv) != "" {
		t.Skip("inside the child")
	}
	dir := t.TempDir()
	last := 0
	for round := range 6 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil || line != "ready\n" {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("round %d: child said %q, %v", round, line, err)
		}
		time.Sleep(time.Duration(20+round*17) * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()

		s, err := NewFileStore(dir, "m365_defender_eventhub://crash")
		if err != nil {
			t.Fatal(err)
		}
		var c cursor
		found, err := s.Load("offset", &c)
		if err != nil {
			t.Fatalf("round %d: Load after kill: %v", round, err)
		}
		if round > 0 && !found {
			t.Fatalf("round %d: record lost after kill", round)
		}
		if found && c.Count < last {
			t.Fatalf("round %d: checkpoint went back from %d to %d", round, last, c.Count)
		}
		last = c.Count
		t.Logf("round %d: killed after %d saves", round, c.Count)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if filepath.Ext(e.Name()) != ".json" {
			t.Logf("leftover (ignored): %s", e.Name())
		}
	}
}
