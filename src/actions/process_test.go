package actions_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/modinput/modinputtest"
)

// TestThroughLauncher runs the actions as splunkd does: bin/<action>.sh --execute with the JSON
// payload on stdin, the launcher exec'ing the built binary. Exit codes: 0 all updated, 1 some
// targets failed, 2 the action could not run.
func TestThroughLauncher(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("the launcher test lays out linux_x86_64 only")
	}
	var built modinputtest.Binary
	defer built.Remove()
	bin := built.Path(t)
	app := t.TempDir()
	if err := os.MkdirAll(filepath.Join(app, "bin", "linux_x86_64"), 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, bin, filepath.Join(app, "bin", "linux_x86_64", "m365defender"), 0o755)
	for _, a := range []string{"m365_defender_update_incident", "m365_defender_update_alert"} {
		copyFile(t, filepath.Join(root, "bin", a+".sh"), filepath.Join(app, "bin", a+".sh"), 0o755)
	}

	e := newEnv(t)
	id := e.sim.IncidentIDs()[0]
	tests := []struct {
		name, action, payload string
		code                  int
		want                  string
	}{
		{"updated", "m365_defender_update_incident", e.payload(t, map[string]string{"input": "prod", "status": "inProgress", "comment": "via launcher"}, "", map[string]any{"incidentId": id}), 0, "outcome=updated"},
		{"one failed", "m365_defender_update_alert", e.payload(t, map[string]string{"input": "prod", "alert_id": e.sim.AlertIDs()[0] + ",404404404", "status": "resolved"}, "", nil), 1, "outcome=failed"},
		{"bad value", "m365_defender_update_incident", e.payload(t, map[string]string{"input": "prod", "status": "done"}, "", map[string]any{"incidentId": id}), 2, `parameter \"status\"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := modinputtest.Start(t, "/bin/sh", tt.payload, filepath.Join(app, "bin", tt.action+".sh"), "--execute")
			code := p.Wait(30 * time.Second)
			stderr := p.Stderr()
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d (want %d), stderr:\n%s", code, tt.code, stderr)
			}
			if strings.Contains(stderr, e.sim.ClientSecret) || strings.Contains(stderr, sessionKey) {
				t.Errorf("a secret reached stderr:\n%s", stderr)
			}
			if p.Stdout() != "" {
				t.Errorf("an alert action writes nothing on stdout, got %q", p.Stdout())
			}
		})
	}
	if countComments(object(t, e.sim.Incident, id), "via launcher") != 1 {
		t.Error("the comment sent through the launcher is missing")
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
}
