package modinput

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestLogHandlerFormat(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewLogHandler(&buf, LogOptions{Level: slog.LevelDebug})).With("stanza", "m365_defender_incidents://prod")
	log.Info("poll complete", "events", 12, "ok", true, "ratio", 0.5)
	log.Warn("retrying", "error", errors.New("429 Too Many Requests\nRetry-After: 3"), "empty", "")
	log.Debug("detail", slog.Group("page", "n", 2))
	log.Log(context.Background(), LevelFatal, "gone")
	want := []string{
		`INFO msg="poll complete" stanza=m365_defender_incidents://prod events=12 ok=true ratio=0.5`,
		`WARN msg=retrying stanza=m365_defender_incidents://prod error="429 Too Many Requests\nRetry-After: 3" empty=""`,
		`DEBUG msg=detail stanza=m365_defender_incidents://prod page.n=2`,
		`FATAL msg=gone stanza=m365_defender_incidents://prod`,
	}
	got := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(got) != len(want) {
		t.Fatalf("got %d lines:\n%s", len(got), buf.String())
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
}

func TestLogHandlerLevel(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewLogHandler(&buf, LogOptions{Level: slog.LevelWarn}))
	log.Info("hidden")
	log.Error("shown")
	if buf.String() != "ERROR msg=shown\n" {
		t.Errorf("got %q", buf.String())
	}
	for in, want := range map[string]slog.Level{"": slog.LevelInfo, "debug": slog.LevelDebug, "WARNING": slog.LevelWarn, " Error ": slog.LevelError} {
		if got, err := ParseLevel(in); err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseLevel("verbose"); err == nil {
		t.Error("ParseLevel(verbose) accepted")
	}
}

// TestLogNeverShowsSecrets logs secrets every way an input might and checks
// that none reaches the output.
func TestLogNeverShowsSecrets(t *testing.T) {
	secrets := &Secrets{}
	const clientSecret = "Zx8Q~s3cr3t.v4lue-Abc"
	const sasKey = "c2VjcmV0LWtleS1iYXNlNjQ9PQ=="
	secrets.Add(clientSecret)
	var buf bytes.Buffer
	log := slog.New(NewLogHandler(&buf, LogOptions{Level: slog.LevelDebug, Secrets: secrets}))
	log.Info("token request failed", "error", errors.New("POST body client_id=x&client_secret="+clientSecret+"&scope=y"))
	log.Info("x", "client_secret", "not-registered-but-keyed")
	log.Info("connecting", "conn", "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey="+sasKey+";EntityPath=hub")
	log.Info("storage", "connection_string", "DefaultEndpointsProtocol=https;AccountName=a;AccountKey="+sasKey)
	log.Info("url", "u", "https://a.blob.core.windows.net/c?sv=2020&sig=abcdEFGH%2Bsecret&se=x")
	log.Info("message with " + clientSecret + " inline")
	log.With("session_key", "abc123sessionkey").Info("with")
	// A secret with characters the log format escapes is still found.
	const quoted = "pa\"ss\\word\n1\tx"
	secrets.Add(quoted)
	log.Info("proxy said no", "error", errors.New("proxy said no to "+quoted), "msg2", quoted)
	log.Info("inline " + quoted)
	out := buf.String()
	for _, s := range []string{clientSecret, sasKey, "not-registered-but-keyed", "abcdEFGH", "abc123sessionkey", "pa\\\"ss", "word\\n1"} {
		if strings.Contains(out, s) {
			t.Errorf("secret %q in log output:\n%s", s, out)
		}
	}
	if n := strings.Count(out, Mask); n < 10 {
		t.Errorf("only %d masks in:\n%s", n, out)
	}
	if got := secrets.Redact("Endpoint=sb://x/;SharedAccessKeyName=k;SharedAccessKey=abc;EntityPath=h"); got != "Endpoint=sb://x/;SharedAccessKeyName=k;SharedAccessKey=********;EntityPath=h" {
		t.Errorf("Redact = %q", got)
	}
}
