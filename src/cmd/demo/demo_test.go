package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
)

// The test binary doubles as a fake modular input when started through a
// link in a directory named fake-<mode>, so the demo's process handling and
// checks are tested without the real inputs.
func TestMain(m *testing.M) {
	// Linked as .../fake-<mode>/m365defender by TestRunWithFakeInput.
	if dir := filepath.Base(filepath.Dir(os.Args[0])); strings.HasPrefix(dir, "fake-") {
		os.Exit(fakeInput(strings.TrimPrefix(dir, "fake-"), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func TestInputXML(t *testing.T) {
	b := inputXML("host1", "", "", "/tmp/cp dir", "TA-m365-defender", []stanzaConfig{{
		Name:   "m365_defender_incidents://demo",
		Params: map[string]string{"tenant_id": "t", "client_secret": `a<b&c"d`, "login_url": "http://127.0.0.1:1"},
	}})
	def, err := modinput.ParseInputDefinition(b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if def.ServerHost != "host1" || def.ServerURI != "" || def.SessionKey != "" || def.CheckpointDir != "/tmp/cp dir" {
		t.Errorf("metadata %+v", def)
	}
	if len(def.Stanzas) != 1 {
		t.Fatalf("%d stanzas", len(def.Stanzas))
	}
	st := def.Stanzas[0]
	if st.Name != "m365_defender_incidents://demo" || st.App != "TA-m365-defender" || st.Param("client_secret") != `a<b&c"d` ||
		st.Param("login_url") != "http://127.0.0.1:1" || st.Scheme() != "m365_defender_incidents" {
		t.Errorf("stanza %+v", st)
	}
	if bytes.Contains(b, []byte("server_uri")) {
		t.Error("server_uri written although empty")
	}
}

func TestParseStream(t *testing.T) {
	ev := `<event stanza="s://a" unbroken="1"><time>1733320000.125</time><data>{"id":"1"}</data><source>src</source><sourcetype>st</sourcetype><index>main</index><host>h</host><done/></event>`
	tests := []struct {
		name  string
		in    string
		n     int
		error string
	}{
		{"Empty", "", 0, ""},
		{"EmptyStream", "<stream></stream>", 0, ""},
		{"TwoEvents", "<stream>" + ev + "\n" + ev + "</stream>", 2, ""},
		{"TwoStreams", "<stream>" + ev + "</stream><stream>" + ev + "</stream>", 2, ""},
		{"Escaped", `<stream><event><data>{"a":"&lt;b&gt; &amp;"}</data></event></stream>`, 1, ""},
		{"Unclosed", "<stream>" + ev, 1, "unexpected EOF"},
		{"BrokenEvent", `<stream><event><data>x</event></stream>`, 0, "stream: offset"},
		{"TextOutside", "<stream>hello" + ev + "</stream>", 0, "text outside"},
		{"WrongElement", "<stream><evnt/></stream>", 0, "unexpected <evnt>"},
		{"WrongRoot", "<input/>", 0, "unexpected <input>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := collectStream(strings.NewReader(tt.in))
			if len(evs) != tt.n || (err == nil) != (tt.error == "") || (err != nil && !strings.Contains(err.Error(), tt.error)) {
				t.Fatalf("got %d events, %v; want %d, %q", len(evs), err, tt.n, tt.error)
			}
		})
	}
	evs, _ := collectStream(strings.NewReader("<stream>" + ev + "</stream>"))
	e := evs[0]
	if e.Stanza != "s://a" || e.Data != `{"id":"1"}` || e.Sourcetype != "st" || e.Done == nil || e.Unbroken != "1" {
		t.Errorf("%+v", e)
	}
	if tm, err := eventTime(e.Time); err != nil || !tm.Equal(time.Unix(1733320000, 125e6)) {
		t.Errorf("time %v %v", tm, err)
	}
	for _, bad := range []string{"", "abc", "NaN", "1e400"} {
		if _, err := eventTime(bad); err == nil {
			t.Errorf("eventTime(%q) accepted", bad)
		}
	}
}

func TestParseLogLine(t *testing.T) {
	tests := []struct {
		in     string
		level  string
		fields map[string]string
	}{
		{`INFO msg="poll complete" stanza=m365_defender_incidents://demo events=12 pages=1`, "INFO",
			map[string]string{"msg": "poll complete", "stanza": "m365_defender_incidents://demo", "events": "12", "pages": "1"}},
		{`WARN msg=retrying error="429 \"TooManyRequests\"" attempt=1`, "WARN", map[string]string{"msg": "retrying", "error": `429 "TooManyRequests"`, "attempt": "1"}},
		{`ERROR msg=boom`, "ERROR", map[string]string{"msg": "boom"}},
		{`panic: runtime error`, "", map[string]string{}},
		{`INFO`, "INFO", map[string]string{}},
	}
	for _, tt := range tests {
		l := parseLogLine(tt.in)
		if l.Level != tt.level || fmt.Sprint(l.Fields) != fmt.Sprint(tt.fields) {
			t.Errorf("%q: got %q %v", tt.in, l.Level, l.Fields)
		}
	}
}

func TestObjectKey(t *testing.T) {
	tests := []struct{ data, id, upd string }{
		{`{"id":"2972000","lastUpdateDateTime":"2026-11-27T16:00:47.1234567Z"}`, "2972000", "2026-11-27T16:00:47.1234567Z"},
		{`{"incidentId":2972000,"lastUpdateTime":"2026-11-27T16:00:47Z"}`, "2972000", "2026-11-27T16:00:47Z"},
		{`{"alertId":"da1_2","incidentId":7,"lastUpdatedTime":"2026-11-27T16:00:47Z"}`, "da1_2", "2026-11-27T16:00:47Z"},
		{`{"id":"da1_3","incidentId":7,"lastUpdateTime":"2026-11-27T16:00:47Z"}`, "da1_3", "2026-11-27T16:00:47Z"},
	}
	for _, tt := range tests {
		id, upd, err := objectKey(tt.data)
		if err != nil || id != tt.id || upd != tt.upd {
			t.Errorf("%s: %q %q %v", tt.data, id, upd, err)
		}
	}
	if _, _, err := objectKey("not json"); err == nil {
		t.Error("bad JSON accepted")
	}
}

func TestRunWithFakeInput(t *testing.T) {
	tests := []struct {
		mode  string
		polls string
		code  int
		want  string
	}{
		{"good", "2", 0, "DEMO OK"},
		{"badxml", "1", 1, "FAIL bad XML stream"},
		{"error", "1", 1, "FAIL 1 ERROR and 0 FATAL log lines"},
		{"noevents", "1", 1, "FAIL no events"},
		{"exit1", "1", 1, "FAIL the process failed: exit status 1"},
		{"dup", "1", 1, "1 repeated"},
		{"skip", "1", 1, "1 missing"},
		{"secret", "1", 1, "FAIL the client secret appears in"},
		{"nocheckpoint", "1", 1, "FAIL no checkpoint files"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			self, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			bin := filepath.Join(t.TempDir(), "fake-"+tt.mode, "m365defender")
			if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(self, bin); err != nil {
				t.Skipf("cannot link the test binary: %v", err)
			}
			out := filepath.Join(t.TempDir(), "out")
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"-binary", bin, "-out", out, "-incidents", "25", "-polls", tt.polls,
				"-faults=false", "-timeout", "30s"}, &stdout, &stderr)
			if code != tt.code || !strings.Contains(stdout.String(), tt.want) {
				t.Fatalf("exit %d, want %d and %q in:\n%s\n%s", code, tt.code, tt.want, stdout.String(), stderr.String())
			}
			for _, f := range []string{"m365_defender_incidents_demo.xml", "m365_defender_incidents_demo.log", "m365_defender_alerts_demo.xml", "m365_defender_incidents_demo.input.xml"} {
				if _, err := os.Stat(filepath.Join(out, f)); err != nil {
					t.Errorf("output %s: %v", f, err)
				}
			}
		})
	}
	t.Run("MissingBinary", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{"-binary", "/nonexistent/m365defender"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "make build") {
			t.Fatalf("%d %s", code, stderr.String())
		}
	})
}

// fakeInput is a minimal stand-in for the m365defender binary: it reads the
// <input>, polls the simulator (Graph incidents with alerts, or alerts_v2)
// from a checkpoint with "ge" plus the ids seen at the cursor, and writes
// the stream. mode selects a misbehaviour.
func fakeInput(mode string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fail := func(err error) int { fmt.Fprintf(stderr, "FATAL msg=%q\n", err.Error()); return 1 }
	if mode == "exit1" {
		fmt.Fprintln(stderr, `INFO msg="starting"`)
		return 1
	}
	if len(args) != 1 {
		return fail(fmt.Errorf("args %v", args))
	}
	scheme := args[0]
	b, err := io.ReadAll(stdin)
	if err != nil {
		return fail(err)
	}
	def, err := modinput.ParseInputDefinition(b)
	if err != nil {
		return fail(err)
	}
	st := def.Stanzas[0]
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {st.Param("client_id")},
		"client_secret": {st.Param("client_secret")}, "scope": {"https://graph.microsoft.com/.default"}}
	resp, err := http.PostForm(st.Param("login_url")+"/"+st.Param("tenant_id")+"/oauth2/v2.0/token", form)
	if err != nil {
		return fail(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	type cursor struct {
		Time string
		IDs  map[string]bool
	}
	cpPath := filepath.Join(def.CheckpointDir, "fake-"+scheme+".json")
	cp := cursor{Time: "2000-01-01T00:00:00Z", IDs: map[string]bool{}}
	var alertsSince time.Time // as the real input: resumed runs skip alerts older than the cursor
	if b, err := os.ReadFile(cpPath); err == nil {
		_ = json.Unmarshal(b, &cp)
		alertsSince, _ = time.Parse(time.RFC3339Nano, cp.Time)
	}
	path, stype, expand := "/v1.0/security/alerts_v2", "ms:defender:atp:alerts", ""
	if scheme == "m365_defender_incidents" {
		path, stype, expand = "/v1.0/security/incidents", "ms365:defender:incident", "&$expand=alerts"
	}
	next := st.Param("api_url") + path + "?$orderby=lastUpdateDateTime%20asc&$top=50" + expand +
		"&$filter=" + url.QueryEscape("lastUpdateDateTime ge "+cp.Time)
	w := modinput.NewEventWriter(stdout)
	n := 0
	write := func(st2, data string, t time.Time) {
		_ = w.Write(&modinput.Event{Stanza: st.Name, Time: t, Source: scheme + ":" + st.Param("tenant_id"), Sourcetype: st2,
			Index: st.Param("index"), Host: st.Param("host"), Data: []byte(data)})
		n++
	}
	newCP := cp
	for next != "" {
		req, _ := http.NewRequest("GET", next, nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fail(err)
		}
		var page struct {
			Value    []map[string]json.RawMessage `json:"value"`
			NextLink string                       `json:"@odata.nextLink"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			return fail(fmt.Errorf("GET %s: %d %v", next, resp.StatusCode, err))
		}
		for _, o := range page.Value {
			var id, upd string
			_ = json.Unmarshal(o["id"], &id)
			_ = json.Unmarshal(o["lastUpdateDateTime"], &upd)
			if upd == cp.Time && cp.IDs[id] {
				continue
			}
			alerts := o["alerts"]
			delete(o, "alerts")
			data, _ := json.Marshal(o)
			t, _ := time.Parse(time.RFC3339Nano, upd)
			if mode == "skip" && n == 3 {
				n++
				continue
			}
			write(stype, string(data), t)
			if mode == "dup" && n == 1 {
				write(stype, string(data), t)
			}
			var as []json.RawMessage
			_ = json.Unmarshal(alerts, &as)
			for _, a := range as {
				var al struct {
					LastUpdateDateTime time.Time `json:"lastUpdateDateTime"`
				}
				_ = json.Unmarshal(a, &al)
				if al.LastUpdateDateTime.Before(alertsSince) || al.LastUpdateDateTime.Equal(alertsSince) && cp.IDs[id] {
					continue
				}
				write("ms365:defender:incident:alerts", string(a), al.LastUpdateDateTime)
			}
			if upd != newCP.Time {
				newCP = cursor{Time: upd, IDs: map[string]bool{}}
			}
			newCP.IDs[id] = true
		}
		next = page.NextLink
	}
	switch mode {
	case "badxml":
		fmt.Fprint(stdout, "<stream><event><data>broken")
		return 0
	case "noevents":
		fmt.Fprintln(stderr, `INFO msg="poll complete" events=0`)
		return 0
	case "secret":
		fmt.Fprintf(stderr, "INFO msg=\"oops\" client_secret=%s\n", st.Param("client_secret"))
	case "error":
		fmt.Fprintln(stderr, `ERROR msg="something failed" error_kind=internal`)
	}
	if err := w.Close(); err != nil {
		return fail(err)
	}
	if mode != "nocheckpoint" {
		b, _ := json.Marshal(newCP)
		if err := os.WriteFile(cpPath, b, 0o600); err != nil {
			return fail(err)
		}
	}
	fmt.Fprintf(stderr, "INFO msg=\"poll complete\" stanza=%s events=%d pages=1 duration_ms=1 checkpoint_time=%s\n", st.Name, n, newCP.Time)
	return 0
}

func TestFileContains(t *testing.T) {
	dir := t.TempDir()
	needle := "sim~secret-value"
	big := strings.Repeat("x", 1<<20-5) + needle + strings.Repeat("y", 100) // across a chunk boundary
	for name, tc := range map[string]struct {
		content string
		want    bool
	}{"boundary": {big, true}, "absent": {strings.Repeat("z", 3<<20), false}, "empty": {"", false}, "start": {needle, true}} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		if got, err := fileContains(p, []byte(needle)); err != nil || got != tc.want {
			t.Errorf("%s: %v %v, want %v", name, got, err, tc.want)
		}
	}
}

func TestServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	done := make(chan int)
	w := &lockedBuffer{b: &out}
	go func() { done <- run(ctx, []string{"-serve", "-incidents", "5", "-update-every", "50ms"}, w, w) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(w.String(), "added incident") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d\n%s", code, w.String())
	}
	for _, want := range []string{"client_secret = ", "login_url = http://127.0.0.1:", "added incident", "stopped:"} {
		if !strings.Contains(w.String(), want) {
			t.Errorf("no %q in:\n%s", want, w.String())
		}
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestBrief(t *testing.T) {
	l := parseLogLine(`WARN msg=retrying stanza=s://a input=s url="http://x/y?z" error="HTTP 429 TooManyRequests" error_kind=throttling attempt=1 wait_ms=1000`)
	want := `WARN retrying attempt=1 error="HTTP 429 TooManyRequests" error_kind=throttling wait_ms=1000`
	if got := brief(l); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
