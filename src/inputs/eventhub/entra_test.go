package eventhub

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/ta-m365-defender/ta-m365-defender/src/checkpoint"
	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
	"github.com/ta-m365-defender/ta-m365-defender/src/testpeer"
)

// fakeCredential hands out a fixed token and records the scopes asked for.
type fakeCredential struct {
	mu     sync.Mutex
	scopes []string
}

func (f *fakeCredential) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scopes = append(f.scopes, o.Scopes...)
	return azcore.AccessToken{Token: "eyJ0eXAiOiJKV1QifQ.test.token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// TestEntraIDOverTLS runs the namespace + event_hub configuration (Entra ID
// credentials instead of a connection string) against the peer's TLS
// listener, trusting its certificate through ca_file.
func TestEntraIDOverTLS(t *testing.T) {
	peer := testpeer.StartEventHubs(t, testpeer.EventHubsOptions{Partitions: 2, TLS: true})
	for _, pid := range peer.PartitionIDs() {
		peer.Send(pid, []byte(`{"records":[{"n":"`+pid+`"}]}`))
	}
	// The peer's certificate, saved the way an administrator would for ca_file.
	conn, err := tls.Dial("tcp", peer.TLSAddress(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	cert := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	port := peer.TLSAddress()[strings.LastIndexByte(peer.TLSAddress(), ':'):]
	t.Run("entra id", func(t *testing.T) {
		cred := &fakeCredential{}
		runTLS(t, peer, map[string]string{
			"namespace": peer.Namespace() + port, "event_hub": peer.Hub(), "tenant_id": "contoso.onmicrosoft.com", "client_id": "11111111-2222-3333-4444-555555555555",
			"client_secret": "not-used-by-the-fake", "ca_file": caFile, "max_wait_seconds": "1"}, cred)
		cred.mu.Lock()
		defer cred.mu.Unlock()
		if len(cred.scopes) == 0 || cred.scopes[0] != "https://eventhubs.azure.net//.default" {
			t.Errorf("token scopes %q", cred.scopes)
		}
	})
	t.Run("connection string over TLS", func(t *testing.T) {
		cs := "Endpoint=sb://" + peer.Namespace() + port + "/;SharedAccessKeyName=k;SharedAccessKey=" + peer.Key() + ";EntityPath=" + peer.Hub()
		runTLS(t, peer, map[string]string{"connection_string": cs, "ca_file": caFile, "max_wait_seconds": "1"}, nil)
	})
}

// runTLS checks and runs one stanza against the peer's TLS listener and
// expects the two seeded records.
func runTLS(t *testing.T, peer *testpeer.EventHubs, params map[string]string, cred azcore.TokenCredential) {
	st := modinput.Stanza{Name: "m365_defender_eventhub://tls", Params: params}
	cfg, err := NewConfig(st)
	if err != nil {
		t.Fatal(err)
	}
	store, err := checkpoint.NewFileStore(t.TempDir(), st.Name)
	if err != nil {
		t.Fatal(err)
	}
	var out, logs syncBuffer
	rt := &inputs.Runtime{Events: modinput.NewEventWriter(&out), Checkpoints: store, Secrets: &modinput.Secrets{}, Now: time.Now,
		Logger: slog.New(modinput.NewLogHandler(&logs, modinput.LogOptions{}))}
	in := New(cfg, rt)
	if cred != nil {
		in.newCredential = func(context.Context) (azcore.TokenCredential, error) { return cred, nil }
	}
	cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer ccancel()
	if err := in.Check(cctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && strings.Count(out.String(), "<event ") < 2 {
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "<event "); n != 2 {
		t.Fatalf("%d events over TLS; log:\n%s", n, logs.String())
	}
}
