package alerts

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/inputs/internal/restpolltest"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput/modinputtest"
	"github.com/ta-m365-defender/ta-m365-defender/src/simulator"
)

// binary is the m365defender binary, built once for the package's tests.
var binary modinputtest.Binary

func TestMain(m *testing.M) {
	code := m.Run()
	binary.Remove()
	os.Exit(code)
}

// TestKill9BetweenPagesThenRestart runs the real binary through the
// modular-input protocol, kills it with SIGKILL while it waits for a page
// (between pages, and with part of a page written), and restarts it:
// nothing is lost, nothing repeats after a kill between pages, at most one
// page after a kill inside one.
func TestKill9BetweenPagesThenRestart(t *testing.T) {
	bin := binary.Path(t)
	for _, mode := range []string{"between", "midpage"} {
		t.Run(mode, func(t *testing.T) {
			// 3,200 alerts: pages of 1,000 (the input's $top), so the
			// held request 3 is the third of four pages.
			sim := simulator.New(simulator.Options{Incidents: 1600, AlertsPerIncident: 2, Seed: 45, SameTimeBatch: 3})
			defer sim.Close()
			sim.AddClient("kill-app", "K1ll~secret.VALUE_never-in-output", simulator.AllRoles()...)
			g := restpolltest.NewGate(sim.URL, 3, mode)
			front := httptest.NewServer(g)
			defer front.Close()
			conf := restpolltest.InputXML(t.TempDir(), Scheme, "kill", map[string]string{
				"tenant_id": sim.TenantID, "client_id": "kill-app", "client_secret": "K1ll~secret.VALUE_never-in-output",
				"login_url": front.URL, "api_url": front.URL, "index": "defender",
			})

			var out1, err1 bytes.Buffer
			cmd := exec.Command(bin)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(conf), &out1, &err1
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			select {
			case <-g.Held:
			case <-time.After(60 * time.Second):
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("request 3 never came\nstderr:\n%s", err1.String())
			}
			if mode == "midpage" {
				time.Sleep(200 * time.Millisecond) // let it decode and write most of the page
			}
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()
			first := parseStream(t, out1.Bytes())

			g.Open()
			var out2, err2 bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd = exec.CommandContext(ctx, bin)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(conf), &out2, &err2
			if err := cmd.Run(); err != nil {
				t.Fatalf("restart: %v\nstderr:\n%s", err, err2.String())
			}
			second := parseStream(t, out2.Bytes())
			if !strings.Contains(err2.String(), `msg="poll complete"`) {
				t.Errorf("restart logged no poll complete:\n%s", err2.String())
			}

			got := split(t, append(append([]event{}, first...), second...))
			n := ids(got)
			for _, id := range sim.AlertIDs() {
				if n[id] == 0 {
					t.Errorf("alert %s lost", id)
				}
			}
			repeated := 0
			for _, c := range got {
				repeated += c - 1
			}
			t.Logf("%s: first run %d events (killed), restart %d events, %d repeated", mode, len(first), len(second), repeated)
			if len(first) == 0 {
				t.Error("the first run wrote nothing before the kill")
			}
			switch mode {
			case "between":
				if repeated != 0 {
					t.Errorf("%d events repeated after a kill between pages", repeated)
				}
			case "midpage":
				if repeated > pageSize {
					t.Errorf("%d events repeated, more than one page (%d)", repeated, pageSize)
				}
			}
			for _, s := range []string{out1.String(), err1.String(), out2.String(), err2.String()} {
				if strings.Contains(s, "K1ll~secret.VALUE_never-in-output") {
					t.Fatal("the client secret appeared in the output")
				}
			}
		})
	}
}
