package storage

import (
	"strings"
	"testing"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
)

// testKey is a syntactically valid (base64) account key used only in tests.
const testKey = "dGVzdC1rZXktbm90LWEtcmVhbC1vbmU="

func stanza(params map[string]string) modinput.Stanza {
	return modinput.Stanza{Name: "m365_defender_storage://t", Params: params}
}

func TestNewConfig(t *testing.T) {
	cs := "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=" + testKey + ";EndpointSuffix=core.windows.net"
	cfg, err := NewConfig(stanza(map[string]string{"connection_string": cs, "index": "sec", "host": "h1"}))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Stanza: "m365_defender_storage://t", ConnectionString: cs, ContainerPrefix: DefaultContainerPrefix,
		Index: "sec", Host: "h1", Sourcetype: DefaultSourcetype}
	if cfg != want {
		t.Fatalf("got %+v\nwant %+v", cfg, want)
	}
	cfg, err = NewConfig(stanza(map[string]string{"account_url": "https://acct.blob.core.windows.net", "tenant_id": "contoso.onmicrosoft.com",
		"client_id": "11111111-2222-3333-4444-555555555555", "client_secret": "s3cret", "environment": "GCC_High",
		"start_date": "2026-12-01T00:00:00Z", "container_prefix": "insights-logs-advancedhunting-device", "sourcetype": "custom:st"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Entra.Environment != "gcc_high" || cfg.Entra.ClientSecret != "s3cret" || !cfg.StartDate.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) ||
		cfg.ContainerPrefix != "insights-logs-advancedhunting-device" || cfg.Sourcetype != "custom:st" {
		t.Fatalf("got %+v", cfg)
	}
	if _, err := NewConfig(stanza(map[string]string{"connection_string": "UseDevelopmentStorage=true"})); err != nil {
		t.Fatalf("UseDevelopmentStorage=true: %v", err)
	}
	if cfg, err := NewConfig(stanza(map[string]string{"connection_string": "AccountName=devstoreaccount1;AccountKey=" + testKey + ";BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1"})); err != nil || cfg.ConnectionString == "" {
		t.Fatalf("loopback http endpoint: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	entra := func(extra map[string]string) map[string]string {
		m := map[string]string{"account_url": "https://acct.blob.core.windows.net", "tenant_id": "t", "client_id": "c", "client_secret": "s"}
		for k, v := range extra {
			if v == "" {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	tests := []struct {
		name   string
		params map[string]string
		param  string
		msg    string
	}{
		{"Neither", map[string]string{}, "connection_string", "required"},
		{"Both", map[string]string{"connection_string": "AccountName=a;AccountKey=" + testKey, "account_url": "https://a.blob.core.windows.net"}, "account_url", "not both"},
		{"NotAConnString", map[string]string{"connection_string": "hello"}, "connection_string", "Key=Value"},
		{"EventHubsConnString", map[string]string{"connection_string": "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=v;EntityPath=h"}, "connection_string", "Event Hubs"},
		{"KeyNotBase64", map[string]string{"connection_string": "AccountName=a;AccountKey=not base64!"}, "connection_string", "base64"},
		{"NoKey", map[string]string{"connection_string": "AccountName=a"}, "connection_string", "AccountKey"},
		{"HTTPRemote", map[string]string{"connection_string": "DefaultEndpointsProtocol=http;AccountName=a;AccountKey=" + testKey}, "connection_string", "loopback"},
		{"DevStorageRemoteProxy", map[string]string{"connection_string": "UseDevelopmentStorage=true;DevelopmentStorageProxyUri=http://10.0.0.5:10000"}, "connection_string", "loopback"},
		{"Masked", map[string]string{"connection_string": modinput.Mask}, "connection_string", "masked"},
		{"AccountURLHTTP", entra(map[string]string{"account_url": "http://acct.blob.core.windows.net"}), "account_url", "loopback"},
		{"AccountURLQuery", entra(map[string]string{"account_url": "https://acct.blob.core.windows.net/?sv=1&sig=x"}), "account_url", "query"},
		{"NoTenant", entra(map[string]string{"tenant_id": ""}), "tenant_id", "required"},
		{"NoClient", entra(map[string]string{"client_id": ""}), "client_id", "required"},
		{"NoSecret", entra(map[string]string{"client_secret": ""}), "client_secret", "required"},
		{"SecretAndCert", entra(map[string]string{"client_certificate": "config_test.go"}), "client_certificate", "not both"},
		{"BadEnvironment", entra(map[string]string{"environment": "mars"}), "environment", "commercial"},
		{"BadPrefix", map[string]string{"connection_string": "AccountName=a;AccountKey=" + testKey, "container_prefix": "Insights_Logs"}, "container_prefix", "lower-case"},
		{"BadStartDate", map[string]string{"connection_string": "AccountName=a;AccountKey=" + testKey, "start_date": "yesterday"}, "start_date", "RFC 3339"},
		{"BadProxy", map[string]string{"connection_string": "AccountName=a;AccountKey=" + testKey, "proxy_url": "proxy:3128"}, "proxy_url", "http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewConfig(stanza(tt.params))
			if err == nil {
				t.Fatal("no error")
			}
			prefix := `stanza "m365_defender_storage://t": parameter "` + tt.param + `": `
			if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %q\nwant prefix %q containing %q", err, prefix, tt.msg)
			}
			if strings.Contains(err.Error(), testKey) || strings.Contains(err.Error(), "sig=x") {
				t.Fatalf("error leaks a secret: %q", err)
			}
		})
	}
}

func TestSchemeArgs(t *testing.T) {
	want := []string{"connection_string", "account_url", "container_prefix", "start_date", "tenant_id", "client_id",
		"client_secret", "client_certificate", "environment", "proxy_url", "ca_file", "log_level"}
	s := Kind().Scheme
	var got []string
	for _, a := range s.Args {
		got = append(got, a.Name)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("args %v\nwant %v", got, want)
	}
	if k := Kind(); k.Name != SchemeName || !k.Polling || k.Run == nil || k.Validate == nil {
		t.Fatalf("kind %+v", k)
	}
}
