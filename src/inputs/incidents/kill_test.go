package incidents

import (
	"bytes"
	"context"
	"fmt"
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

// buildBinary builds ./src/cmd/m365defender once per test binary.
func buildBinary(t testing.TB) string { return binary.Path(t) }

func TestBinaryValidateArguments(t *testing.T) {
	bin := buildBinary(t)
	sim := simulator.New(simulator.Options{Incidents: 2, Seed: 41})
	defer sim.Close()
	const wrong = "Wr0ng~binary-secret.value"
	items := func(secret string) string {
		return fmt.Sprintf(`<items><server_host>t</server_host><server_uri></server_uri><session_key></session_key><checkpoint_dir>%s</checkpoint_dir>`+
			`<item name="v"><param name="tenant_id">%s</param><param name="client_id">%s</param><param name="client_secret">%s</param>`+
			`<param name="login_url">%s</param><param name="api_url">%s</param></item></items>`,
			t.TempDir(), sim.TenantID, sim.ClientID, xmlEscape(secret), sim.URL, sim.URL)
	}
	for _, tt := range []struct {
		name, secret string
		code         int
		want         []string
	}{
		{"OK", sim.ClientSecret, 0, nil},
		{"WrongSecret", wrong, 1, []string{"<error><message>", `parameter "client_secret"`, "AADSTS7000215"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(bin, Scheme, "--validate-arguments")
			cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(items(tt.secret)), &stdout, &stderr
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout.String(), stderr.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout %q lacks %q", stdout.String(), w)
				}
			}
			for _, s := range []string{sim.ClientSecret, wrong} {
				if strings.Contains(stdout.String()+stderr.String(), s) {
					t.Errorf("a secret appeared in the output: %s%s", stdout.String(), stderr.String())
				}
			}
		})
	}
}

func TestKill9BetweenPagesThenRestart(t *testing.T) {
	bin := buildBinary(t)
	for _, mode := range []string{"between", "midpage"} {
		t.Run(mode, func(t *testing.T) {
			sim := simulator.New(simulator.Options{Incidents: 300, AlertsPerIncident: 2, Seed: 40, SameTimeBatch: 3})
			defer sim.Close()
			g := restpolltest.NewGate(sim.URL, 5, mode)
			front := httptest.NewServer(g)
			defer front.Close()

			dir := t.TempDir()
			conf := inputXML(dir, map[string]string{
				"tenant_id": sim.TenantID, "client_id": sim.ClientID, "client_secret": sim.ClientSecret,
				"login_url": front.URL, "api_url": front.URL, "index": "defender",
			})

			// First run: killed with SIGKILL while request 5 is held.
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
				t.Fatalf("request 5 never came\nstderr:\n%s", err1.String())
			}
			if mode == "midpage" {
				time.Sleep(200 * time.Millisecond) // let it decode and write the half page
			}
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()
			first := parseStream(t, out1.Bytes())

			// Second run: to the end.
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

			inc, al := split(t, append(append([]event{}, first...), second...))
			got, gotA := ids(inc), ids(al)
			for _, id := range sim.IncidentIDs() {
				if got[id] == 0 {
					t.Errorf("incident %s lost", id)
				}
			}
			for _, id := range sim.AlertIDs() {
				if gotA[id] == 0 {
					t.Errorf("alert %s lost", id)
				}
			}
			repeated := 0
			for _, n := range inc {
				repeated += n - 1
			}
			for _, n := range al {
				repeated += n - 1
			}
			t.Logf("%s: first run %d events (killed), restart %d events, %d repeated", mode, len(first), len(second), repeated)
			switch mode {
			case "between":
				if repeated != 0 {
					t.Errorf("%d events repeated after a kill between pages", repeated)
				}
			case "midpage":
				if max := 50 * 3; repeated > max { // one page: 50 incidents with 2 alerts each
					t.Errorf("%d events repeated, more than one page (%d)", repeated, max)
				}
			}
			if len(first) == 0 {
				t.Error("the first run wrote nothing before the kill")
			}
			for _, s := range []string{out1.String(), err1.String(), out2.String(), err2.String()} {
				if strings.Contains(s, sim.ClientSecret) {
					t.Fatal("the client secret appeared in the output")
				}
			}
		})
	}
}

// inputXML is splunkd's <input> document for one incidents stanza.
func inputXML(dir string, params map[string]string) string {
	return restpolltest.InputXML(dir, Scheme, "kill", params)
}

func xmlEscape(s string) string { return restpolltest.XMLEscape(s) }
