package azstorage

import (
	"strings"
	"testing"
)

func TestParseConnString(t *testing.T) {
	const key = "c2VjcmV0LWFjY291bnQta2V5LXZhbHVl"
	tests := []struct {
		name, in string
		want     ConnString
		err      string
	}{
		{name: "emulator", in: "UseDevelopmentStorage=true", want: ConnString{Endpoint: "http://127.0.0.1:10000/devstoreaccount1", AccountName: "devstoreaccount1", AccountKey: devStorageKey}},
		{name: "account key", in: "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=" + key + ";EndpointSuffix=core.usgovcloudapi.net",
			want: ConnString{Endpoint: "https://acct.blob.core.usgovcloudapi.net", AccountName: "acct", AccountKey: key}},
		{name: "sas", in: "BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=?sv=2024&sig=abc", want: ConnString{Endpoint: "https://acct.blob.core.windows.net", SAS: "sv=2024&sig=abc"}},
		{name: "loopback http", in: "AccountName=a;AccountKey=" + key + ";BlobEndpoint=http://127.0.0.1:10000/a", want: ConnString{Endpoint: "http://127.0.0.1:10000/a", AccountName: "a", AccountKey: key}},
		{name: "remote http", in: "AccountName=a;AccountKey=" + key + ";BlobEndpoint=http://storage.example.com/a", err: "plain http is allowed only for loopback"},
		{name: "remote emulator proxy", in: "UseDevelopmentStorage=true;DevelopmentStorageProxyUri=http://10.0.0.5", err: "only for an emulator on a loopback address"},
		{name: "event hubs string", in: "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=" + key, err: "this is an Event Hubs connection string"},
		{name: "no credential", in: "AccountName=a", err: "needs AccountName and AccountKey, or SharedAccessSignature"},
		{name: "bad key", in: "AccountName=a;AccountKey=not base64!", err: "AccountKey is not valid base64"},
		{name: "garbage", in: "hello", err: "not a storage connection string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseConnString(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				if strings.Contains(err.Error(), key) || strings.Contains(err.Error(), "base64!") {
					t.Errorf("error quotes the key: %v", err)
				}
				return
			}
			if err != nil || *got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
