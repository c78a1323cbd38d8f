package eventhub

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
)

// TestBlobCheckpointClientURL: the checkpoint container's client is built
// from the connection string as azstorage checked it, so spellings the SDK
// would read differently can never send the account key over plain http to
// a public host.
func TestBlobCheckpointClientURL(t *testing.T) {
	const key = "c2VjcmV0LWFjY291bnQta2V5LXZhbHVl"
	tests := []struct {
		name, cs, want string // want: scheme://host of the client, or an error substring
	}{
		{"emulator flag with an http protocol", "UseDevelopmentStorage=true;DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=" + key, "http://127.0.0.1:10000"},
		{"duplicate protocol keys", "DefaultEndpointsProtocol=http;defaultendpointsprotocol=https;AccountName=acct;AccountKey=" + key, "https://acct.blob.core.windows.net"},
		{"duplicate endpoint keys", "AccountName=acct;AccountKey=" + key + ";BlobEndpoint=http://x.example.com;blobendpoint=https://x.example.com", "https://x.example.com"},
		{"http to a public host", "AccountName=acct;AccountKey=" + key + ";BlobEndpoint=http://acct.blob.core.windows.net", "error: plain http is allowed only for loopback"},
		{"sas", "BlobEndpoint=https://acct.blob.core.windows.net;SharedAccessSignature=sv=1&sig=abc", "https://acct.blob.core.windows.net"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := modinput.Stanza{Name: "m365_defender_eventhub://b", Params: map[string]string{
				"connection_string":         "Endpoint=sb://127.0.0.1:5672;SharedAccessKeyName=k;SharedAccessKey=" + key + ";EntityPath=h;UseDevelopmentEmulator=true",
				"checkpoint_store":          "blob",
				"storage_connection_string": tt.cs,
			}}
			cfg, err := NewConfig(st)
			if err != nil {
				t.Fatal(err)
			}
			in := New(cfg, &inputs.Runtime{Secrets: &modinput.Secrets{}})
			cc, _, err := in.containerClient(context.Background(), nil)
			if strings.HasPrefix(tt.want, "error: ") {
				if err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(tt.want, "error: ")) {
					t.Fatalf("err = %v, want %q", err, tt.want)
				}
				if strings.Contains(err.Error(), key) {
					t.Error("the key is in the error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(cc.URL())
			if got := u.Scheme + "://" + u.Host; got != tt.want {
				t.Fatalf("client goes to %s, want %s", got, tt.want)
			}
		})
	}
}
