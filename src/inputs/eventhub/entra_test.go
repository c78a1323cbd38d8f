package eventhub

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
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

const testTenant = "0c6e3c8a-1b2f-4f6c-9a1e-4a0f7c1d2e3f"

// fakeCredential hands out a fixed token and records the scopes asked for.
type fakeCredential struct {
	mu     sync.Mutex
	scopes []string
}

func (f *fakeCredential) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scopes = append(f.scopes, o.Scopes...)
	if len(o.Scopes) > 0 && strings.HasPrefix(o.Scopes[0], "https://storage.azure.com") {
		// Azurite's OAuth mode checks audience, issuer and expiry, not the signature.
		claims, _ := json.Marshal(map[string]any{"aud": "https://storage.azure.com", "iss": "https://sts.windows.net/" + testTenant + "/",
			"nbf": time.Now().Add(-time.Minute).Unix(), "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(), "tid": testTenant})
		enc := base64.RawURLEncoding
		return azcore.AccessToken{Token: enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc.EncodeToString(claims) + ".unsigned", ExpiresOn: time.Now().Add(time.Hour)}, nil
	}
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
	t.Run("entra id with the blob checkpoint store on storage_account_url", func(t *testing.T) {
		certFile, keyFile, azPEM := selfSignedLoopback(t)
		az := testpeer.StartAzuriteWith(t, testpeer.AzuriteOptions{CertFile: certFile, KeyFile: keyFile, OAuth: true})
		bundle := filepath.Join(t.TempDir(), "bundle.pem")
		peerPEM, _ := os.ReadFile(caFile)
		if err := os.WriteFile(bundle, append(peerPEM, azPEM...), 0o600); err != nil {
			t.Fatal(err)
		}
		cred := &fakeCredential{}
		runTLS(t, peer, map[string]string{
			"namespace": peer.Namespace() + port, "event_hub": peer.Hub(), "tenant_id": testTenant, "client_id": "11111111-2222-3333-4444-555555555555",
			"client_secret": "not-used-by-the-fake", "ca_file": bundle, "max_wait_seconds": "1",
			"checkpoint_store": "blob", "storage_account_url": strings.TrimSuffix(az.BlobURL(), "/"), "storage_container": "eh-entra"}, cred)
		cred.mu.Lock()
		defer cred.mu.Unlock()
		if !slices.Contains(cred.scopes, "https://storage.azure.com/.default") {
			t.Errorf("no storage token was asked for: %q", cred.scopes)
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

// selfSignedLoopback writes a certificate and key for 127.0.0.1 and returns
// their files and the certificate's PEM.
func selfSignedLoopback(t *testing.T) (certFile, keyFile string, certPEM []byte) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "azurite"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames: []string{"localhost"}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "az.crt"), filepath.Join(dir, "az.key")
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, certPEM
}
