// Package testpeer starts the project's loopback test peers (real processes on 127.0.0.1) for
// tests and benchmarks: the Event Hubs AMQP peer (testpeers/eventhubs/peer.js on rhea) and
// Azurite. It is imported only by tests.
//
// The peers need node and the npm packages pinned in the repository's package.json; run
// `npm ci` in the repository root. A missing node or package fails the test with that advice:
// it is never skipped.
package testpeer

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// EventHubsOptions configures StartEventHubs.
type EventHubsOptions struct {
	// Hub is the event hub's name, written as EntityPath in ConnectionString. Empty means "hub".
	Hub string
	// Partitions is the number of partitions, with IDs "0", "1", ... Zero means 4.
	Partitions int
	// KeyName is the shared access key name. Empty means "k".
	KeyName string
	// Key is the shared access key the peer checks SAS tokens against. Empty means a random
	// key; ConnectionString carries whichever key is used.
	Key string
	// MaxMessageSize is the max-message-size the peer offers on producer links. Zero means 1 MiB.
	MaxMessageSize int
	// TLS adds an AMQP-over-TLS listener with a fresh self-signed certificate for 127.0.0.1
	// and localhost, for clients that authenticate with a TokenCredential (those always use
	// TLS): see TLSConfig, TLSAddress and Namespace.
	TLS bool
	// Verbose makes the peer log every link event on stderr (shown when the test fails).
	Verbose bool
}

// EventHubs is a running Event Hubs test peer. Its methods that talk to the control channel
// fail the test (tb.Fatal) on error, so call them from the test's goroutine; SendContext and
// StatsContext return errors instead and may be called from any goroutine.
type EventHubs struct {
	tb          testing.TB
	hub         string
	keyName     string
	key         string
	partitions  int
	amqpPort    int
	amqpsPort   int
	wsPort      int
	controlPort int
	rootCAs     *x509.CertPool
	cmd         *exec.Cmd
	stdin       io.WriteCloser
	stderr      *eventHubsTail
	http        *http.Client
	done        chan struct{}
	closeOnce   sync.Once
}

// EventHubsStats is what the peer reports on GET /stats.
type EventHubsStats struct {
	Hub                 string                             `json:"hub"`
	Partitions          map[string]EventHubsPartitionStats `json:"partitions"`
	Receivers           []EventHubsReceiver                `json:"receivers"`
	Connections         int                                `json:"connections"`
	ConnectionsTotal    int                                `json:"connections_total"`
	TokensAccepted      int                                `json:"tokens_accepted"`
	TokensRefused       int                                `json:"tokens_refused"`
	RefuseTokensPending int                                `json:"refuse_tokens_pending"`
	Deliveries          int64                              `json:"deliveries"`
	// CPUUserMillis and CPUSystemMillis are the peer process's CPU time so far.
	CPUUserMillis   int64 `json:"cpu_user_ms"`
	CPUSystemMillis int64 `json:"cpu_system_ms"`
	RSSBytes        int64 `json:"rss_bytes"`
}

// EventHubsPartitionStats describes one partition of the peer.
type EventHubsPartitionStats struct {
	// Events is the number of retained events; Enqueued counts every event ever stored.
	Events              int64  `json:"events"`
	Enqueued            int64  `json:"enqueued"`
	BeginSequenceNumber int64  `json:"begin_sequence_number"`
	LastEnqueuedSeq     int64  `json:"last_enqueued_sequence_number"`
	LastEnqueuedOffset  string `json:"last_enqueued_offset"`
	Delivered           int64  `json:"delivered"`
	DeliveredBytes      int64  `json:"delivered_bytes"`
	Receivers           int    `json:"receivers"`
}

// EventHubsReceiver is one attached partition receiver.
type EventHubsReceiver struct {
	Partition          string `json:"partition"`
	ConsumerGroup      string `json:"consumer_group"`
	Epoch              *int64 `json:"epoch"`
	Name               string `json:"name"`
	NextSequenceNumber int64  `json:"next_sequence_number"`
	Delivered          int64  `json:"delivered"`
	Credit             int    `json:"credit"`
	Filter             string `json:"filter"`
}

// SendResult reports where the events of one Send went: partition ID to the sequence
// numbers assigned.
type SendResult struct {
	Events     int                          `json:"events"`
	Partitions map[string]SendPartitionSpan `json:"partitions"`
}

// SendPartitionSpan is the range of sequence numbers assigned in one partition by one Send.
type SendPartitionSpan struct {
	First int64 `json:"first"`
	Last  int64 `json:"last"`
	Count int64 `json:"count"`
}

// DetachOptions selects the receivers Detach detaches; zero values match everything.
type DetachOptions struct {
	Partition     string // empty: every partition
	ConsumerGroup string // empty: every consumer group
	// Condition is the AMQP error condition. Empty means "amqp:link:detach-forced".
	Condition   string
	Description string
}

const eventHubsStartTimeout = 15 * time.Second

// StartEventHubs starts the Event Hubs test peer and stops it in tb.Cleanup.
func StartEventHubs(tb testing.TB, opts EventHubsOptions) *EventHubs {
	tb.Helper()
	if opts.Hub == "" {
		opts.Hub = "hub"
	}
	if opts.Partitions == 0 {
		opts.Partitions = 4
	}
	if opts.KeyName == "" {
		opts.KeyName = "k"
	}
	if opts.Key == "" {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		opts.Key = base64.StdEncoding.EncodeToString(b)
	}
	root, err := eventHubsRepoRoot()
	if err != nil {
		tb.Fatalf("testpeer: %v", err)
	}
	node, err := eventHubsNode(root, "rhea")
	if err != nil {
		tb.Fatalf("testpeer: %v", err)
	}
	// EVENTHUBS_PEER_NODE_FLAGS adds node flags, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
	// to profile the peer under a benchmark.
	args := append(strings.Fields(os.Getenv("EVENTHUBS_PEER_NODE_FLAGS")), filepath.Join(root, "testpeers", "eventhubs", "peer.js"),
		"--hub", opts.Hub,
		"--partitions", strconv.Itoa(opts.Partitions),
		"--key-name", opts.KeyName,
	)
	if opts.MaxMessageSize > 0 {
		args = append(args, "--max-message-size", strconv.Itoa(opts.MaxMessageSize))
	}
	if opts.Verbose {
		args = append(args, "--verbose")
	}
	var rootCAs *x509.CertPool
	if opts.TLS {
		certFile, keyFile, pool, err := selfSignedCert(tb.TempDir())
		if err != nil {
			tb.Fatalf("testpeer: eventhubs peer certificate: %v", err)
		}
		args = append(args, "--tls-cert", certFile, "--tls-key", keyFile)
		rootCAs = pool
	}
	cmd := exec.Command(node, args...)
	cmd.Dir = root
	// The key goes through the environment, not argv, so it does not show in process lists.
	cmd.Env = append(os.Environ(), "EH_KEY="+opts.Key)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatalf("testpeer: eventhubs peer stdin: %v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatalf("testpeer: eventhubs peer stdout: %v", err)
	}
	e := &EventHubs{
		tb: tb, hub: opts.Hub, keyName: opts.KeyName, key: opts.Key, partitions: opts.Partitions,
		cmd: cmd, stdin: stdin, stderr: &eventHubsTail{max: 64 << 10}, rootCAs: rootCAs,
		http: &http.Client{Timeout: 60 * time.Second}, done: make(chan struct{}),
	}
	cmd.Stderr = e.stderr
	if err := cmd.Start(); err != nil {
		tb.Fatalf("testpeer: start eventhubs peer: %v", err)
	}
	go func() {
		_ = cmd.Wait()
		close(e.done)
	}()
	tb.Cleanup(func() {
		e.Close()
		if tb.Failed() {
			if s := e.stderr.String(); s != "" {
				tb.Logf("eventhubs peer stderr:\n%s", s)
			}
		}
	})

	type ready struct {
		AMQPPort    int `json:"amqp_port"`
		AMQPSPort   int `json:"amqps_port"`
		WSPort      int `json:"ws_port"`
		ControlPort int `json:"control_port"`
	}
	lines := make(chan ready, 1)
	errs := make(chan error, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, err := r.ReadBytes('\n')
		if err != nil {
			errs <- fmt.Errorf("reading its first line: %w", err)
			return
		}
		var rd ready
		if err := json.Unmarshal(line, &rd); err != nil || rd.AMQPPort == 0 || rd.ControlPort == 0 || (opts.TLS && rd.AMQPSPort == 0) {
			errs <- fmt.Errorf("unexpected first line %q", line)
			return
		}
		lines <- rd
		_, _ = io.Copy(io.Discard, r)
	}()
	select {
	case rd := <-lines:
		e.amqpPort, e.amqpsPort, e.wsPort, e.controlPort = rd.AMQPPort, rd.AMQPSPort, rd.WSPort, rd.ControlPort
	case err := <-errs:
		<-e.done
		tb.Fatalf("testpeer: eventhubs peer did not start: %v; stderr:\n%s", err, e.stderr.String())
	case <-time.After(eventHubsStartTimeout):
		tb.Fatalf("testpeer: eventhubs peer printed no ports within %v; stderr:\n%s", eventHubsStartTimeout, e.stderr.String())
	}
	return e
}

// Close stops the peer: it closes its stdin (the peer exits on that), then kills it if it is
// still running after 5 s. Close is idempotent and also runs in tb.Cleanup.
func (e *EventHubs) Close() {
	e.closeOnce.Do(func() {
		_ = e.stdin.Close()
		select {
		case <-e.done:
		case <-time.After(5 * time.Second):
			_ = e.cmd.Process.Kill()
			<-e.done
		}
	})
}

// Hub returns the event hub's name.
func (e *EventHubs) Hub() string { return e.hub }

// PartitionIDs returns the partition IDs, "0" to "N-1".
func (e *EventHubs) PartitionIDs() []string {
	ids := make([]string, e.partitions)
	for i := range ids {
		ids[i] = strconv.Itoa(i)
	}
	return ids
}

// Address returns host:port of the AMQP listener.
func (e *EventHubs) Address() string { return "127.0.0.1:" + strconv.Itoa(e.amqpPort) }

// Namespace is the fully qualified namespace for TokenCredential clients of the TLS
// listener: pass it to azeventhubs.NewConsumerClient with
// ConsumerClientOptions{TLSConfig: e.TLSConfig(), CustomEndpoint: e.TLSAddress()}.
func (e *EventHubs) Namespace() string { return "localhost" }

// WebSocketURL returns the plain-HTTP URL of the peer's AMQP-over-WebSockets endpoint,
// ws://127.0.0.1:<port>/$servicebus/websocket (subprotocol "amqp"). The SDK asks its
// NewWebSocketConn for wss://<namespace>/$servicebus/websocket; a test dialer connects here
// instead.
func (e *EventHubs) WebSocketURL() string {
	return "ws://127.0.0.1:" + strconv.Itoa(e.wsPort) + "/$servicebus/websocket"
}

// TLSAddress returns host:port of the TLS listener ("" without EventHubsOptions.TLS).
func (e *EventHubs) TLSAddress() string {
	if e.amqpsPort == 0 {
		return ""
	}
	return "127.0.0.1:" + strconv.Itoa(e.amqpsPort)
}

// TLSConfig returns a client TLS configuration that trusts the peer's certificate (nil
// without EventHubsOptions.TLS).
func (e *EventHubs) TLSConfig() *tls.Config {
	if e.rootCAs == nil {
		return nil
	}
	return &tls.Config{RootCAs: e.rootCAs, MinVersion: tls.VersionTLS12}
}

// ConnectionString returns a development-emulator connection string with EntityPath set.
func (e *EventHubs) ConnectionString() string {
	return e.NamespaceConnectionString() + ";EntityPath=" + e.hub
}

// NamespaceConnectionString returns the connection string without EntityPath, for clients
// that name the hub separately.
func (e *EventHubs) NamespaceConnectionString() string {
	return fmt.Sprintf("Endpoint=sb://%s;SharedAccessKeyName=%s;SharedAccessKey=%s;UseDevelopmentEmulator=true",
		e.Address(), e.keyName, e.key)
}

// Key returns the shared access key the peer accepts.
func (e *EventHubs) Key() string { return e.key }

// Send stores bodies as events, in order, in partition; an empty partition spreads them
// round robin over all partitions. Each body becomes one event with a single data section.
func (e *EventHubs) Send(partition string, bodies ...[]byte) SendResult {
	e.tb.Helper()
	return e.SendRepeated(partition, 1, bodies...)
}

// SendRepeated stores bodies repeat times over (b1, b2, b1, b2, ...), for seeding large
// benchmarks with little traffic on the control channel.
func (e *EventHubs) SendRepeated(partition string, repeat int, bodies ...[]byte) SendResult {
	e.tb.Helper()
	res, err := e.SendContext(context.Background(), partition, repeat, bodies...)
	if err != nil {
		e.tb.Fatalf("testpeer: %v", err)
	}
	return res
}

// SendContext is SendRepeated returning its error instead of failing the test, so it can be
// called from any goroutine (e.g. a producer running beside the code under test).
func (e *EventHubs) SendContext(ctx context.Context, partition string, repeat int, bodies ...[]byte) (SendResult, error) {
	var buf bytes.Buffer
	var n [4]byte
	for _, b := range bodies {
		binary.BigEndian.PutUint32(n[:], uint32(len(b)))
		buf.Write(n[:])
		buf.Write(b)
	}
	q := url.Values{"repeat": {strconv.Itoa(repeat)}}
	if partition != "" {
		q.Set("partition", partition)
	}
	var res SendResult
	if err := e.call(ctx, http.MethodPost, "/send", q, buf.Bytes(), &res); err != nil {
		return SendResult{}, fmt.Errorf("eventhubs peer POST /send: %w", err)
	}
	return res, nil
}

// Detach force-detaches the matching partition receivers and returns how many it detached.
func (e *EventHubs) Detach(opts DetachOptions) int {
	e.tb.Helper()
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("partition", opts.Partition)
	set("consumer_group", opts.ConsumerGroup)
	set("condition", opts.Condition)
	set("description", opts.Description)
	var res struct {
		Detached int `json:"detached"`
	}
	e.control(http.MethodPost, "/detach", q, nil, &res)
	return res.Detached
}

// DetachPartition force-detaches every receiver of one partition with amqp:link:detach-forced.
func (e *EventHubs) DetachPartition(partition string) int {
	e.tb.Helper()
	return e.Detach(DetachOptions{Partition: partition})
}

// DropConnection destroys every AMQP connection at the TCP level (as a network failure
// would) and returns how many there were.
func (e *EventHubs) DropConnection() int {
	e.tb.Helper()
	return e.drop("reset")
}

// CloseConnections closes every AMQP connection with the error amqp:connection:forced.
func (e *EventHubs) CloseConnections() int {
	e.tb.Helper()
	return e.drop("close")
}

func (e *EventHubs) drop(mode string) int {
	var res struct {
		Dropped int `json:"dropped"`
	}
	e.control(http.MethodPost, "/drop", url.Values{"mode": {mode}}, nil, &res)
	return res.Dropped
}

// RefuseNextToken makes the peer answer the next $cbs put-token with status 401.
func (e *EventHubs) RefuseNextToken() {
	e.tb.Helper()
	e.RefuseTokens(1, http.StatusUnauthorized)
}

// RefuseTokens makes the peer answer the next n $cbs put-token requests with status.
func (e *EventHubs) RefuseTokens(n, status int) {
	e.tb.Helper()
	q := url.Values{"count": {strconv.Itoa(n)}, "status": {strconv.Itoa(status)}}
	e.control(http.MethodPost, "/refuse-token", q, nil, nil)
}

// SetRetention drops the events before beginSequenceNumber in partition (every partition if
// empty), as the service's retention would; the partition's begin_sequence_number moves there.
func (e *EventHubs) SetRetention(partition string, beginSequenceNumber int64) {
	e.tb.Helper()
	q := url.Values{"begin_sequence_number": {strconv.FormatInt(beginSequenceNumber, 10)}}
	if partition != "" {
		q.Set("partition", partition)
	}
	e.control(http.MethodPost, "/retention", q, nil, nil)
}

// Stats returns the peer's counters.
func (e *EventHubs) Stats() EventHubsStats {
	e.tb.Helper()
	var s EventHubsStats
	e.control(http.MethodGet, "/stats", nil, nil, &s)
	return s
}

// StatsContext is Stats returning its error instead of failing the test, for use from any
// goroutine (e.g. polling until a consumer has caught up).
func (e *EventHubs) StatsContext(ctx context.Context) (EventHubsStats, error) {
	var s EventHubsStats
	if err := e.call(ctx, http.MethodGet, "/stats", nil, nil, &s); err != nil {
		return EventHubsStats{}, fmt.Errorf("eventhubs peer GET /stats: %w", err)
	}
	return s, nil
}

func (e *EventHubs) control(method, path string, q url.Values, body []byte, out any) {
	e.tb.Helper()
	if err := e.call(context.Background(), method, path, q, body, out); err != nil {
		e.tb.Fatalf("testpeer: eventhubs peer %s %s: %v", method, path, err)
	}
}

func (e *EventHubs) call(ctx context.Context, method, path string, q url.Values, body []byte, out any) error {
	u := fmt.Sprintf("http://127.0.0.1:%d%s", e.controlPort, path)
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := e.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %s", resp.StatusCode, strings.TrimSpace(string(data)))
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

// eventHubsRepoRoot finds the repository root: the nearest directory at or above the working
// directory (or, failing that, above this source file) holding go.mod and package.json.
func eventHubsRepoRoot() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	for _, dir := range starts {
		for d := dir; ; d = filepath.Dir(d) {
			if eventHubsIsFile(filepath.Join(d, "go.mod")) && eventHubsIsFile(filepath.Join(d, "package.json")) {
				return d, nil
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return "", errors.New("cannot find the repository root (a directory with go.mod and package.json)")
}

// eventHubsNode returns the node executable, after checking that each npm package in pkgs is
// installed in root/node_modules.
func eventHubsNode(root string, pkgs ...string) (string, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", fmt.Errorf("node (20 or later) is required for the loopback test peers and was not found in PATH: %w", err)
	}
	for _, p := range pkgs {
		if !eventHubsIsFile(filepath.Join(root, "node_modules", p, "package.json")) {
			return "", fmt.Errorf("npm package %q is not installed in %s: run `npm ci` in the repository root", p, filepath.Join(root, "node_modules"))
		}
	}
	return node, nil
}

func eventHubsIsFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// eventHubsTail keeps the last max bytes written to it.
type eventHubsTail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *eventHubsTail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *eventHubsTail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// selfSignedCert writes a self-signed certificate for 127.0.0.1 and localhost, valid for a
// day, and its key into dir, and returns the files and a pool that trusts the certificate.
func selfSignedCert(dir string) (certFile, keyFile string, pool *x509.CertPool, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "eventhubs test peer"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return "", "", nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", nil, err
	}
	certFile, keyFile = filepath.Join(dir, "peer-cert.pem"), filepath.Join(dir, "peer-key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return "", "", nil, err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return "", "", nil, err
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool, nil
}
