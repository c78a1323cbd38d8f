package testpeer

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"github.com/Azure/go-amqp"
	"golang.org/x/net/websocket"
)

// These tests talk AMQP to the peer with go-amqp directly, below the SDK, to pin the wire
// details the SDK hides: SASL PLAIN, the $cbs exchange, single (non-batch) messages and the
// exact AMQP types of the annotations the peer stamps.

// sasToken signs a SharedAccessSignature the way Event Hubs clients do.
func sasToken(audience, keyName, key string, expiry time.Time) string {
	sr := strings.ToLower(url.QueryEscape(audience))
	se := strconv.FormatInt(expiry.Unix(), 10)
	h := hmac.New(sha256.New, []byte(key))
	h.Write([]byte(sr + "\n" + se))
	sig := url.QueryEscape(base64.StdEncoding.EncodeToString(h.Sum(nil)))
	return fmt.Sprintf("SharedAccessSignature sr=%s&sig=%s&se=%s&skn=%s", sr, sig, se, keyName)
}

// putToken runs one $cbs put-token exchange and returns the status code.
func putToken(ctx context.Context, t *testing.T, conn *amqp.Conn, audience, token string) int32 {
	t.Helper()
	s, err := conn.NewSession(ctx, nil)
	if err != nil {
		t.Fatalf("NewSession: %v", err)
	}
	defer s.Close(ctx)
	snd, err := s.NewSender(ctx, "$cbs", nil)
	if err != nil {
		t.Fatalf("NewSender($cbs): %v", err)
	}
	rcv, err := s.NewReceiver(ctx, "$cbs", &amqp.ReceiverOptions{TargetAddress: "cbs-reply-1", Credit: 10})
	if err != nil {
		t.Fatalf("NewReceiver($cbs): %v", err)
	}
	msg := &amqp.Message{
		Properties: &amqp.MessageProperties{MessageID: "req-1", ReplyTo: to.Ptr("cbs-reply-1")},
		ApplicationProperties: map[string]any{
			"operation": "put-token", "type": "servicebus.windows.net:sastoken",
			"name": audience, "expiration": strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10),
		},
		Value: token,
	}
	if err := snd.Send(ctx, msg, nil); err != nil {
		t.Fatalf("Send(put-token): %v", err)
	}
	resp, err := rcv.Receive(ctx, nil)
	if err != nil {
		t.Fatalf("Receive(put-token reply): %v", err)
	}
	if resp.Properties == nil || resp.Properties.CorrelationID != "req-1" {
		t.Fatalf("reply properties = %+v, want correlation-id req-1", resp.Properties)
	}
	code, ok := resp.ApplicationProperties["status-code"].(int32)
	if !ok {
		t.Fatalf("status-code = %T %v, want int32", resp.ApplicationProperties["status-code"], resp.ApplicationProperties["status-code"])
	}
	return code
}

func TestEventHubsWireSingleMessageAndAnnotationTypes(t *testing.T) {
	eh := StartEventHubs(t, EventHubsOptions{Partitions: 2})
	ctx := testContext(t, 20*time.Second)
	conn, err := amqp.Dial(ctx, "amqp://"+eh.Address(), &amqp.ConnOptions{SASLType: amqp.SASLTypePlain("user", "password")})
	if err != nil {
		t.Fatalf("Dial with SASL PLAIN: %v", err)
	}
	defer conn.Close()
	base := "amqp://" + eh.Address() + "/"

	if code := putToken(ctx, t, conn, base+eh.Hub(), sasToken(base+eh.Hub(), "k", "not-the-key", time.Now().Add(time.Hour))); code != 401 {
		t.Fatalf("put-token signed with a wrong key: status %d, want 401", code)
	}
	s, err := conn.NewSession(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.NewSender(ctx, eh.Hub()+"/Partitions/1", nil); err == nil || !strings.Contains(err.Error(), "amqp:unauthorized-access") {
		t.Fatalf("attach without a token: err = %v, want amqp:unauthorized-access", err)
	}
	if code := putToken(ctx, t, conn, base+eh.Hub(), sasToken(base+eh.Hub(), "k", eh.Key(), time.Now().Add(time.Hour))); code != 202 {
		t.Fatalf("put-token: status %d, want 202", code)
	}

	s, err = conn.NewSession(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	snd, err := s.NewSender(ctx, eh.Hub()+"/Partitions/1", nil)
	if err != nil {
		t.Fatalf("NewSender: %v", err)
	}
	if snd.MaxMessageSize() != 1<<20 {
		t.Errorf("max-message-size %d, want %d", snd.MaxMessageSize(), 1<<20)
	}
	msg := &amqp.Message{
		Data:                  [][]byte{[]byte("single")},
		Annotations:           amqp.Annotations{"x-custom": "kept", "x-opt-sequence-number": int64(99)},
		ApplicationProperties: map[string]any{"n": int64(7)},
	}
	if err := snd.Send(ctx, msg, nil); err != nil {
		t.Fatalf("Send(single message): %v", err)
	}

	rcv, err := s.NewReceiver(ctx, eh.Hub()+"/ConsumerGroups/$Default/Partitions/1", &amqp.ReceiverOptions{
		Credit:         10,
		SettlementMode: amqp.ReceiverSettleModeFirst.Ptr(),
		Filters:        []amqp.LinkFilter{amqp.NewSelectorFilter("amqp.annotation.x-opt-offset > '-1'")},
	})
	if err != nil {
		t.Fatalf("NewReceiver: %v", err)
	}
	got, err := rcv.Receive(ctx, nil)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if string(got.GetData()) != "single" || got.ApplicationProperties["n"] != int64(7) {
		t.Errorf("message = data %q props %v", got.GetData(), got.ApplicationProperties)
	}
	if seq, ok := got.Annotations["x-opt-sequence-number"].(int64); !ok || seq != 0 {
		t.Errorf("x-opt-sequence-number = %T %v, want int64 0 (the producer's own value is replaced)", got.Annotations["x-opt-sequence-number"], got.Annotations["x-opt-sequence-number"])
	}
	if off, ok := got.Annotations["x-opt-offset"].(string); !ok || off != "0" {
		t.Errorf("x-opt-offset = %T %v, want string \"0\"", got.Annotations["x-opt-offset"], got.Annotations["x-opt-offset"])
	}
	if ts, ok := got.Annotations["x-opt-enqueued-time"].(time.Time); !ok || time.Since(ts) > time.Minute {
		t.Errorf("x-opt-enqueued-time = %T %v, want a recent timestamp", got.Annotations["x-opt-enqueued-time"], got.Annotations["x-opt-enqueued-time"])
	}
	if got.Annotations["x-custom"] != "kept" {
		t.Errorf("producer annotation x-custom = %v, want kept", got.Annotations["x-custom"])
	}
}

func TestEventHubsBatchesRoundRobin(t *testing.T) {
	eh := StartEventHubs(t, EventHubsOptions{})
	ctx := testContext(t, 20*time.Second)
	p := newProducer(t, eh)
	for i := 0; i < 8; i++ {
		batch, err := p.NewEventDataBatch(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j < 3; j++ {
			if err := batch.AddEventData(&azeventhubs.EventData{Body: []byte(fmt.Sprintf("%d-%d", i, j))}, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.SendEventDataBatch(ctx, batch, nil); err != nil {
			t.Fatalf("SendEventDataBatch: %v", err)
		}
	}
	// Each batch lands whole in one partition, and the batches go round robin.
	for id, st := range eh.Stats().Partitions {
		if st.Enqueued != 6 {
			t.Errorf("partition %s has %d events, want 6 (2 batches of 3)", id, st.Enqueued)
		}
	}
	// The control channel's Send without a partition spreads single events round robin.
	res := eh.Send("", bodies("rr", 8)...)
	for id, span := range res.Partitions {
		if span.Count != 2 {
			t.Errorf("Send round robin put %d events in partition %s, want 2", span.Count, id)
		}
	}
}

func TestEventHubsPeerExits(t *testing.T) {
	t.Run("StdinClosed", func(t *testing.T) {
		eh := StartEventHubs(t, EventHubsOptions{})
		_ = eh.stdin.Close()
		select {
		case <-eh.done:
		case <-time.After(5 * time.Second):
			t.Fatal("peer still running 5 s after its stdin closed")
		}
	})
	t.Run("SIGTERM", func(t *testing.T) {
		eh := StartEventHubs(t, EventHubsOptions{})
		if err := eh.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-eh.done:
			if code := eh.cmd.ProcessState.ExitCode(); code != 0 {
				t.Errorf("exit code %d after SIGTERM, want 0", code)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("peer still running 5 s after SIGTERM")
		}
	})
}

// fakeCredential is an azcore.TokenCredential that hands out a fixed JWT-shaped token and
// records the scopes it was asked for.
type fakeCredential struct {
	mu     sync.Mutex
	scopes []string
}

func (c *fakeCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scopes = append(c.scopes, opts.Scopes...)
	return azcore.AccessToken{Token: "eyJhbGciOiJub25lIn0.eyJhdWQiOiJodHRwczovL2V2ZW50aHVicy5henVyZS5uZXQifQ.", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func TestEventHubsTLSWithTokenCredential(t *testing.T) {
	eh := StartEventHubs(t, EventHubsOptions{TLS: true})
	ctx := testContext(t, 20*time.Second)
	cred := &fakeCredential{}
	c, err := azeventhubs.NewConsumerClient(eh.Namespace(), eh.Hub(), azeventhubs.DefaultConsumerGroup, cred, &azeventhubs.ConsumerClientOptions{
		TLSConfig: eh.TLSConfig(), CustomEndpoint: eh.TLSAddress(), RetryOptions: fastRetry().RetryOptions,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.GetEventHubProperties(ctx, nil); err != nil {
		t.Fatalf("GetEventHubProperties over TLS: %v", err)
	}
	eh.Send("2", []byte("over tls"))
	pc, err := c.NewPartitionClient("2", &azeventhubs.PartitionClientOptions{StartPosition: azeventhubs.StartPosition{Earliest: to.Ptr(true)}})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close(ctx)
	if ev := receiveN(ctx, t, pc, 1)[0]; string(ev.Body) != "over tls" {
		t.Errorf("body %q", ev.Body)
	}
	cred.mu.Lock()
	defer cred.mu.Unlock()
	if len(cred.scopes) == 0 || cred.scopes[0] != "https://eventhubs.azure.net//.default" {
		t.Errorf("token scopes %v", cred.scopes)
	}

	t.Run("UntrustedCertificate", func(t *testing.T) {
		bad, err := azeventhubs.NewConsumerClient(eh.Namespace(), eh.Hub(), azeventhubs.DefaultConsumerGroup, cred, &azeventhubs.ConsumerClientOptions{
			CustomEndpoint: eh.TLSAddress(), RetryOptions: azeventhubs.RetryOptions{MaxRetries: -1},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer bad.Close(ctx)
		if _, err := bad.GetEventHubProperties(ctx, nil); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("GetEventHubProperties without trusting the peer: err = %v, want a certificate error", err)
		}
	})
}

func TestEventHubsWebSockets(t *testing.T) {
	eh := StartEventHubs(t, EventHubsOptions{})
	ctx := testContext(t, 20*time.Second)
	var asked []string
	var mu sync.Mutex
	opts := fastRetry()
	opts.NewWebSocketConn = func(ctx context.Context, p azeventhubs.WebSocketConnParams) (net.Conn, error) {
		mu.Lock()
		asked = append(asked, p.Host)
		mu.Unlock()
		cfg, err := websocket.NewConfig(eh.WebSocketURL(), "http://127.0.0.1/")
		if err != nil {
			return nil, err
		}
		cfg.Protocol = []string{"amqp"}
		ws, err := cfg.DialContext(ctx)
		if err != nil {
			return nil, err
		}
		ws.PayloadType = websocket.BinaryFrame
		return ws, nil
	}
	c, err := azeventhubs.NewConsumerClientFromConnectionString(eh.ConnectionString(), "", azeventhubs.DefaultConsumerGroup, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	big := bytes.Repeat([]byte("w"), 200<<10) // several AMQP frames and WebSocket messages
	eh.Send("1", []byte("small"), big)
	pc, err := c.NewPartitionClient("1", &azeventhubs.PartitionClientOptions{StartPosition: azeventhubs.StartPosition{Earliest: to.Ptr(true)}})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close(ctx)
	evs := receiveN(ctx, t, pc, 2)
	if string(evs[0].Body) != "small" || !bytes.Equal(evs[1].Body, big) {
		t.Errorf("bodies %q, %d bytes", evs[0].Body, len(evs[1].Body))
	}
	mu.Lock()
	if len(asked) == 0 || asked[0] != "wss://"+eh.Address()+"/$servicebus/websocket" {
		t.Errorf("SDK asked for %v", asked)
	}
	mu.Unlock()

	// A dropped WebSocket connection is recovered like a TCP one.
	eh.DropConnection()
	eh.Send("1", []byte("after drop"))
	if ev := receiveN(ctx, t, pc, 1)[0]; string(ev.Body) != "after drop" || ev.SequenceNumber != 2 {
		t.Errorf("after drop: seq %d body %q", ev.SequenceNumber, ev.Body)
	}
}
