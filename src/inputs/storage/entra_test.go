package storage

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/checkpoint"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
	"github.com/ta-m365-defender/ta-m365-defender/src/testpeer"
)

const (
	entraTenant = "8d3c5f1e-0000-4000-8000-000000000001"
	entraClient = "0a1b2c3d-0000-4000-8000-00000000000c"
	entraSecret = "Qx8~entra-client-secret-for-tests"
)

// selfSigned writes a certificate and key for 127.0.0.1 as PEM files.
// useRSA picks an RSA key (Entra ID app certificates are RSA), else ECDSA.
func selfSigned(t *testing.T, dir, name string, useRSA bool) (certFile, keyFile string, cert *x509.Certificate) {
	var key crypto.Signer
	var err error
	if useRSA {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ = x509.ParseCertificate(der)
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile, cert
}

// fakeEntra is a token endpoint issuing storage tokens Azurite's basic OAuth
// mode accepts (audience, issuer, expiry; signatures are not checked).
type fakeEntra struct {
	*httptest.Server
	tokens atomic.Int64
}

func newFakeEntra(t *testing.T) *fakeEntra {
	f := &fakeEntra{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		base := "https://" + r.Host + "/" + r.PathValue("tenant")
		json.NewEncoder(w).Encode(map[string]any{
			"token_endpoint":         base + "/oauth2/v2.0/token",
			"authorization_endpoint": base + "/oauth2/v2.0/authorize",
			"issuer":                 base + "/v2.0",
		})
	})
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		fail := func(code int, aadsts string) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			fmt.Fprintf(w, `{"error":"invalid_client","error_description":"%s: Invalid client secret provided.","error_codes":[%s]}`, aadsts, strings.TrimPrefix(aadsts, "AADSTS"))
		}
		switch {
		case r.PathValue("tenant") != entraTenant || r.Form.Get("client_id") != entraClient:
			fail(400, "AADSTS700016")
			return
		case r.Form.Get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" && r.Form.Get("client_assertion") != "":
		case r.Form.Get("client_secret") == entraSecret:
		default:
			fail(401, "AADSTS7000215")
			return
		}
		if !strings.Contains(r.Form.Get("scope"), "https://storage.azure.com/.default") {
			fail(400, "AADSTS70011")
			return
		}
		f.tokens.Add(1)
		claims, _ := json.Marshal(map[string]any{"aud": "https://storage.azure.com", "iss": "https://sts.windows.net/" + entraTenant + "/",
			"nbf": time.Now().Add(-time.Minute).Unix(), "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
			"tid": entraTenant, "appid": entraClient, "oid": "11111111-0000-4000-8000-000000000000"})
		enc := base64.RawURLEncoding
		jwt := enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc.EncodeToString(claims) + "." + enc.EncodeToString([]byte("unsigned"))
		json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3600, "access_token": jwt})
	})
	f.Server = httptest.NewTLSServer(mux)
	t.Cleanup(f.Close)
	return f
}

// TestEntraIDCredentials reads through account_url with a client secret and
// with a certificate, against Azurite in HTTPS + OAuth mode and a fake Entra
// ID token endpoint, and checks failures name the parameter to fix.
func TestEntraIDCredentials(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, azCert := selfSigned(t, dir, "azurite", false)
	az := testpeer.StartAzuriteWith(t, testpeer.AzuriteOptions{CertFile: certFile, KeyFile: keyFile, OAuth: true})
	entra := newFakeEntra(t)

	pool := x509.NewCertPool()
	pool.AddCert(azCert)
	pool.AddCert(entra.Certificate())
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	inputClient := client // what the input uses; a subtest swaps in faults

	// Seed with the account key (Azurite accepts it alongside OAuth).
	e := newEnv(t, az, "entra-")
	e.client = mustClient(t, az.ConnectionString(), client)
	h := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
	recs := lines("DeviceEvents", h, 0, 3)
	e.appendBlob("entra-deviceevents", blobName(h), recs)

	// A client certificate for the certificate credential (PEM: cert + key).
	ccert, ckey, _ := selfSigned(t, dir, "client", true)
	certPEM, _ := os.ReadFile(ccert)
	keyPEM, _ := os.ReadFile(ckey)
	bundle := filepath.Join(dir, "client.pem")
	os.WriteFile(bundle, append(certPEM, keyPEM...), 0o600)

	run := func(t *testing.T, params map[string]string, validate bool) ([]event, string, error) {
		p := map[string]string{"account_url": az.BlobURL(), "tenant_id": entraTenant, "client_id": entraClient,
			"container_prefix": "entra-", "start_date": "2026-12-04T00:00:00Z"}
		for k, v := range params {
			p[k] = v
		}
		st := modinput.Stanza{Name: "m365_defender_storage://entra", Params: p}
		var out, logs bytes.Buffer
		secrets := &modinput.Secrets{}
		store, _ := checkpoint.NewFileStore(t.TempDir(), st.Name)
		w := modinput.NewEventWriter(&out)
		rt := newRuntime(w, store, secrets, &logs, inputClient)
		cfg, err := configFromRuntime(e.ctx(), rt, st)
		if err != nil {
			return nil, logs.String(), err
		}
		in := New(cfg, rt)
		in.authority = entra.URL + "/"
		in.retry.backoff = func(int) time.Duration { return 10 * time.Millisecond }
		if validate {
			err = in.Validate(e.ctx())
		} else {
			err = in.Run(e.ctx())
		}
		w.Close()
		return parseStream(t, out.Bytes()), logs.String(), err
	}

	t.Run("ClientSecret", func(t *testing.T) {
		evs, logs, err := run(t, map[string]string{"client_secret": entraSecret}, false)
		if err != nil {
			t.Fatalf("%v\n%s", err, logs)
		}
		equalStrings(t, "events", dataOf(evs), splitLines(recs))
		if _, logs, err := run(t, map[string]string{"client_secret": entraSecret}, true); err != nil {
			t.Fatalf("validate: %v\n%s", err, logs)
		}
	})
	t.Run("ClientCertificate", func(t *testing.T) {
		evs, logs, err := run(t, map[string]string{"client_certificate": bundle}, false)
		if err != nil {
			t.Fatalf("%v\n%s", err, logs)
		}
		equalStrings(t, "events", dataOf(evs), splitLines(recs))
	})
	t.Run("WrongSecretNamesParameter", func(t *testing.T) {
		wrong := "Zz9~a-wrong-secret-value"
		_, logs, err := run(t, map[string]string{"client_secret": wrong}, true)
		if err == nil || !strings.HasPrefix(err.Error(), `stanza "m365_defender_storage://entra": parameter "client_secret": `) || !strings.Contains(err.Error(), "AADSTS7000215") {
			t.Fatalf("validate with a wrong secret: %v", err)
		}
		if strings.Contains(err.Error()+logs, wrong) {
			t.Fatalf("secret leaked:\n%v\n%s", err, logs)
		}
		_, logs, err = run(t, map[string]string{"client_secret": entraSecret, "client_id": "99999999-0000-4000-8000-000000000000"}, true)
		if err == nil || !strings.Contains(err.Error(), `parameter "client_id"`) || !strings.Contains(err.Error(), "AADSTS700016") {
			t.Fatalf("validate with an unknown client: %v\n%s", err, logs)
		}
	})
	t.Run("MissingRoleNamesRole", func(t *testing.T) {
		inputClient = &http.Client{Transport: &faultTransport{base: client.Transport, fault: func(r *http.Request) (*http.Response, error, int) {
			if strings.HasPrefix(r.URL.Host, "127.0.0.1") && r.URL.Query().Get("comp") == "list" && r.Host != strings.TrimPrefix(entra.URL, "https://") {
				return storageError(r, 403, "AuthorizationPermissionMismatch"), nil, -1
			}
			return nil, nil, -1
		}}}
		defer func() { inputClient = client }()
		_, _, err := run(t, map[string]string{"client_secret": entraSecret}, true)
		if err == nil || !strings.Contains(err.Error(), `parameter "account_url"`) || !strings.Contains(err.Error(), `assign it the "Storage Blob Data Reader" role`) {
			t.Fatalf("validate without the role: %v", err)
		}
	})
	if entra.tokens.Load() == 0 {
		t.Fatal("no token was issued")
	}
}
