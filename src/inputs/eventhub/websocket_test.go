package eventhub

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"github.com/ta-m365-defender/ta-m365-defender/src/checkpoint"
	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
	"github.com/ta-m365-defender/ta-m365-defender/src/testpeer"
)

// TestWebSocketTransportThroughProxy runs the input with transport =
// websockets through an HTTP CONNECT proxy to a TLS WebSocket endpoint that
// bridges to the AMQP test peer, as Event Hubs' port 443 does.
func TestWebSocketTransportThroughProxy(t *testing.T) {
	for _, tlsProxy := range []bool{false, true} {
		t.Run(map[bool]string{false: "http proxy", true: "https proxy"}[tlsProxy], func(t *testing.T) { webSocketThroughProxy(t, tlsProxy) })
	}
}

func webSocketThroughProxy(t *testing.T, tlsProxy bool) {
	peer := testpeer.StartEventHubs(t, testpeer.EventHubsOptions{Partitions: 2})
	for _, pid := range peer.PartitionIDs() {
		peer.Send(pid, []byte(`{"records":[{"n":"`+pid+`-1"},{"n":"`+pid+`-2"}]}`))
	}
	var paths atomic.Value
	bridge := httptest.NewTLSServer(websocket.Server{
		Handshake: func(cfg *websocket.Config, r *http.Request) error {
			paths.Store(r.URL.Path)
			cfg.Protocol = []string{"amqp"}
			return nil
		},
		Handler: func(ws *websocket.Conn) {
			ws.PayloadType = websocket.BinaryFrame
			c, err := net.Dial("tcp", peer.Address())
			if err != nil {
				return
			}
			defer c.Close()
			go func() { _, _ = io.Copy(c, ws) }()
			_, _ = io.Copy(ws, c)
		},
	})
	defer bridge.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: bridge.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	var tunnels atomic.Int32
	proxy := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		up, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		tunnels.Add(1)
		conn, brw, _ := w.(http.Hijacker).Hijack()
		_, _ = conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
		go func() { _, _ = io.Copy(up, bufio.NewReader(brw)) }()
		_, _ = io.Copy(conn, up)
		conn.Close()
		up.Close()
	}))
	if tlsProxy {
		// The proxy presents the bridge's certificate, which ca_file trusts.
		proxy.TLS = &tls.Config{Certificates: bridge.TLS.Certificates}
		proxy.StartTLS()
	} else {
		proxy.Start()
	}
	defer proxy.Close()

	host := strings.TrimPrefix(bridge.URL, "https://")
	cs := "Endpoint=sb://" + host + "/;SharedAccessKeyName=k;SharedAccessKey=" + peer.Key() + ";EntityPath=" + peer.Hub()
	st := modinput.Stanza{Name: "m365_defender_eventhub://ws", Params: map[string]string{
		"connection_string": cs, "transport": "websockets", "proxy_url": proxy.URL, "ca_file": caFile, "max_wait_seconds": "1"}}
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
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- New(cfg, rt).Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && strings.Count(out.String(), "<event ") < 4 {
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	_ = rt.Events.Close()
	for _, n := range []string{"0-1", "0-2", "1-1", "1-2"} {
		if !strings.Contains(out.String(), `{"n":"`+n+`"}`) {
			t.Errorf("record %s not received over websockets; log:\n%s", n, logs.String())
		}
	}
	if tunnels.Load() == 0 {
		t.Error("the proxy was not used")
	}
	if p, _ := paths.Load().(string); p != "/$servicebus/websocket" {
		t.Errorf("websocket path %q", p)
	}
}
