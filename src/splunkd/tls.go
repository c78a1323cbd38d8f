package splunkd

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"time"
)

// LoopbackTLSClient returns an HTTP client for splunkd's management port that verifies TLS certificates
// normally, except when the connection's peer is a loopback address (127.0.0.0/8 or ::1): only then is
// verification skipped, because splunkd on the same host serves its default self-signed certificate there and
// a loopback peer is this machine. The check is made on the address actually connected to, so a name that
// resolves elsewhere is verified. The client uses no proxy, follows no redirect (the session key stays with
// splunkd) and times out after 60 s.
func LoopbackTLSClient() *http.Client {
	return newSplunkdClient(isLoopbackPeer)
}

// isLoopbackPeer reports whether addr is a loopback IP address.
func isLoopbackPeer(addr net.Addr) bool {
	if a, ok := addr.(*net.TCPAddr); ok {
		return a.IP.IsLoopback()
	}
	return false
}

// newSplunkdClient builds the client; skipVerify decides, per connection, whether to skip verification.
func newSplunkdClient(skipVerify func(net.Addr) bool) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:       nil,
		DialContext: dialer.DialContext,
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			raw, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
			if skipVerify(raw.RemoteAddr()) {
				cfg.InsecureSkipVerify = true // loopback peer only; see LoopbackTLSClient
			}
			conn := tls.Client(raw, cfg)
			hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := conn.HandshakeContext(hctx); err != nil {
				raw.Close()
				return nil, err
			}
			return conn, nil
		},
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     90 * time.Second,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
