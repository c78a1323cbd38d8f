package eventhub_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/modinput/modinputtest"
	"github.com/ta-m365-defender/ta-m365-defender/src/testpeer"
)

func TestEventHubValidateArguments(t *testing.T) {
	bin := binary(t)
	peer := testpeer.StartEventHubs(t, testpeer.EventHubsOptions{})
	wrongKey := strings.Replace(peer.ConnectionString(), peer.Key(), "d3Jvbmcta2V5LXZhbHVlLXRoYXQtaXMtbG9uZw==", 1)
	tests := []struct {
		name    string
		params  map[string]string
		wantErr string // "" means valid
	}{
		{"reachable hub", map[string]string{"connection_string": peer.ConnectionString()}, ""},
		{"wrong key", map[string]string{"connection_string": wrongKey}, `parameter "connection_string": the key was refused`},
		{"no credentials", map[string]string{}, `parameter "connection_string": is required`},
		{"not a connection string", map[string]string{"connection_string": "hello"}, `parameter "connection_string": is not an Event Hubs connection string`},
		{"emulator off loopback", map[string]string{"connection_string": "Endpoint=sb://eh.example.com;SharedAccessKeyName=k;SharedAccessKey=c2VjcmV0;EntityPath=h;UseDevelopmentEmulator=true"}, "accepted only for loopback hosts"},
		{"hub mismatch", map[string]string{"connection_string": peer.ConnectionString(), "event_hub": "other"}, `parameter "event_hub": is "other" but the connection string's EntityPath is`},
		{"bad batch size", map[string]string{"connection_string": peer.ConnectionString(), "max_batch_size": "0"}, `parameter "max_batch_size": expected a whole number from 1 to 5000`},
		{"blob without storage", map[string]string{"connection_string": peer.ConnectionString(), "checkpoint_store": "blob"}, `parameter "storage_connection_string": is required with checkpoint_store = blob`},
		{"bad container", map[string]string{"connection_string": peer.ConnectionString(), "checkpoint_store": "blob", "storage_connection_string": "UseDevelopmentStorage=true", "storage_container": "Bad_Name"}, `parameter "storage_container": expected 3-63 lower-case`},
		{"namespace needs hub", map[string]string{"namespace": "contoso.servicebus.windows.net", "tenant_id": "t", "client_id": "c", "client_secret": "s3cr3t-value"}, `parameter "event_hub": is required with namespace`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := modinputtest.Start(t, bin, modinputtest.ItemsXML("test", tt.params), "m365_defender_eventhub", "--validate-arguments")
			code := p.Wait(60 * time.Second)
			out := p.Stdout()
			if tt.wantErr == "" {
				if code != 0 || out != "" {
					t.Fatalf("exit %d, stdout %q; stderr:\n%s", code, out, p.Stderr())
				}
				return
			}
			if code == 0 || !strings.HasPrefix(out, "<error><message>") || !strings.Contains(out, xmlEscape(tt.wantErr)) {
				t.Fatalf("exit %d, stdout %q, want an <error> with %q", code, out, tt.wantErr)
			}
			if strings.Contains(out+p.Stderr(), peer.Key()) || strings.Contains(out+p.Stderr(), "d3Jvbmcta2V5") {
				t.Errorf("a key appears in the output: %s", out)
			}
		})
	}
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
