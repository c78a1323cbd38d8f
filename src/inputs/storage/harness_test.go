package storage

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/appendblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/ta-m365-defender/ta-m365-defender/src/checkpoint"
	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
	"github.com/ta-m365-defender/ta-m365-defender/src/testpeer"
)

// testTenant is the tenant folder the tests write under.
const testTenant = "tenantId=8d3c5f1e-0000-4000-8000-000000000001"

// testNow is the fixed clock of the tests: 15:30 UTC, so the 15:00 blob is
// still open and earlier hours are closed.
var testNow = time.Date(2026, 12, 4, 15, 30, 0, 0, time.UTC)

// blobName is the Streaming API's path for an hour.
func blobName(hour time.Time) string {
	return fmt.Sprintf("%s/y=%04d/m=%02d/d=%02d/h=%02d/m=00/PT1H.json", testTenant, hour.Year(), hour.Month(), hour.Day(), hour.Hour())
}

// record is one exported Advanced Hunting row as the Streaming API writes it.
func record(table string, ts time.Time, i int) string {
	return fmt.Sprintf(`{"time":"%s","tenantId":"8d3c5f1e-0000-4000-8000-000000000001","operationName":"Publish","category":"AdvancedHunting-%s","properties":{"Timestamp":"%s","DeviceName":"device-%d.contoso.com","ReportId":%d,"ActionType":"ProcessCreated","MachineGroup":null}}`,
		ts.Add(90*time.Second).Format("2006-01-02T15:04:05.0000000Z"), table, ts.Format("2006-01-02T15:04:05.0000000Z"), i, i)
}

// event is one parsed event of the output stream.
type event struct {
	Stanza     string `xml:"stanza,attr"`
	Unbroken   string `xml:"unbroken,attr"`
	Time       string `xml:"time"`
	Source     string `xml:"source"`
	Sourcetype string `xml:"sourcetype"`
	Index      string `xml:"index"`
	Host       string `xml:"host"`
	Data       string `xml:"data"`
	// Done is nil for a piece of an event that more pieces follow.
	Done *struct{} `xml:"done"`
}

func parseStream(t testing.TB, b []byte) []event {
	t.Helper()
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	var s struct {
		Events []event `xml:"event"`
	}
	if err := xml.Unmarshal(b, &s); err != nil {
		t.Fatalf("output is not an event stream: %v\n%.2000s", err, b)
	}
	return s.Events
}

// countingTransport counts the requests the input sends, by kind.
type countingTransport struct {
	base               http.RoundTripper
	lists, gets, other atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	q := r.URL.Query()
	switch {
	case q.Get("comp") == "list":
		c.lists.Add(1)
	case r.Method == http.MethodGet && q.Get("comp") == "":
		c.gets.Add(1)
	default:
		c.other.Add(1)
	}
	return c.base.RoundTrip(r)
}

func (c *countingTransport) reset() { c.lists.Store(0); c.gets.Store(0); c.other.Store(0) }

// env is one test's storage account (on the shared Azurite), checkpoint
// directory and clock.
type env struct {
	t       *testing.T
	az      *testpeer.Azurite
	client  *azblob.Client // seeds blobs
	prefix  string         // container_prefix of this test
	cpDir   string
	now     time.Time
	counter *countingTransport
	params  map[string]string // extra stanza params
	logs    bytes.Buffer      // all logs of all polls
	wrap    func(name string, c blobContainer) blobContainer
	store   checkpoint.Store // nil → a FileStore in cpDir
	commit  int64
	// maxLine and pieceBytes, when set, replace the input's line limit and
	// long-line piece size.
	maxLine, pieceBytes int
}

func newEnv(t *testing.T, az *testpeer.Azurite, prefix string) *env {
	c, err := azblob.NewClientFromConnectionString(az.ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, az: az, client: c, prefix: prefix, cpDir: t.TempDir(), now: testNow,
		counter: &countingTransport{base: http.DefaultTransport}}
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("STORAGE_TEST_LOGS") != "" {
			t.Logf("input logs:\n%s", e.logs.String())
		}
	})
	return e
}

func (e *env) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	e.t.Cleanup(cancel)
	return ctx
}

func (e *env) createContainer(name string) {
	e.t.Helper()
	if _, err := e.client.CreateContainer(e.ctx(), name, nil); err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		e.t.Fatalf("create container %s: %v", name, err)
	}
}

// appendBlob appends data to an append blob, creating it (and its container) first.
func (e *env) appendBlob(container, name, data string) {
	e.t.Helper()
	ab := e.client.ServiceClient().NewContainerClient(container).NewAppendBlobClient(name)
	if _, err := ab.Create(e.ctx(), &appendblob.CreateOptions{AccessConditions: nil}); err != nil {
		if bloberror.HasCode(err, bloberror.ContainerNotFound) {
			e.createContainer(container)
			_, err = ab.Create(e.ctx(), nil)
		}
		if err != nil && !bloberror.HasCode(err, bloberror.BlobAlreadyExists) {
			e.t.Fatalf("create append blob: %v", err)
		}
	}
	if err := appendAll(e.ctx(), ab, []byte(data)); err != nil {
		e.t.Fatalf("append: %v", err)
	}
}

func appendAll(ctx context.Context, ab *appendblob.Client, data []byte) error {
	for len(data) > 0 {
		n := min(len(data), 4<<20)
		if _, err := ab.AppendBlock(ctx, streaming.NopCloser(bytes.NewReader(data[:n])), nil); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// createAppendOnly creates an empty append blob without appending (Create
// would otherwise be a no-op on an existing blob only if it errors).
func (e *env) appendOnly(container, name, data string) {
	e.t.Helper()
	ab := e.client.ServiceClient().NewContainerClient(container).NewAppendBlobClient(name)
	if err := appendAll(e.ctx(), ab, []byte(data)); err != nil {
		e.t.Fatalf("append: %v", err)
	}
}

// lines builds n records of a table in an hour, CRLF-terminated.
func lines(table string, hour time.Time, from, n int) string {
	var b strings.Builder
	for i := from; i < from+n; i++ {
		b.WriteString(record(table, hour.Add(time.Duration(i)*time.Second), i))
		b.WriteString("\r\n")
	}
	return b.String()
}

func (e *env) stanza() modinput.Stanza {
	p := map[string]string{
		"connection_string": e.az.ConnectionString(),
		"container_prefix":  e.prefix,
		"start_date":        "2026-12-03T20:00:00Z",
		"index":             "defender",
		"host":              "splunk-hf-1",
	}
	for k, v := range e.params {
		if v == "" {
			delete(p, k)
		} else {
			p[k] = v
		}
	}
	return modinput.Stanza{Name: "m365_defender_storage://" + e.prefix, Params: p}
}

// runtime builds the runtime of one launch writing to out.
func (e *env) runtime(out io.Writer, secrets *modinput.Secrets) (*inputs.Runtime, *modinput.EventWriter) {
	store := e.store
	if store == nil {
		fs, err := checkpoint.NewFileStore(e.cpDir, e.stanza().Name)
		if err != nil {
			e.t.Fatal(err)
		}
		store = fs
	}
	w := modinput.NewEventWriter(out)
	log := slog.New(modinput.NewLogHandler(&lockedBuffer{b: &e.logs}, modinput.LogOptions{Level: slog.LevelDebug, Secrets: secrets}))
	rt := &inputs.Runtime{
		Events:      w,
		Checkpoints: store,
		Secrets:     secrets,
		Logger:      log.With("stanza", e.stanza().Name, "input", SchemeName),
		Now:         func() time.Time { return e.now },
		HTTPClient:  &http.Client{Transport: e.counter},
	}
	return rt, w
}

// newRuntime is a runtime writing events to w and logs to logs.
func newRuntime(w *modinput.EventWriter, store checkpoint.Store, secrets *modinput.Secrets, logs *bytes.Buffer, hc *http.Client) *inputs.Runtime {
	log := slog.New(modinput.NewLogHandler(&lockedBuffer{b: logs}, modinput.LogOptions{Level: slog.LevelDebug, Secrets: secrets}))
	return &inputs.Runtime{Events: w, Checkpoints: store, Secrets: secrets, Logger: log.With("input", SchemeName),
		Now: func() time.Time { return testNow }, HTTPClient: hc}
}

// mustClient is an azblob client for seeding over hc.
func mustClient(t *testing.T, cs string, hc *http.Client) *azblob.Client {
	c, err := azblob.NewClientFromConnectionString(cs, &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: hc}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// poll runs one launch of the input (a new Input, as splunkd relaunches it)
// and returns the events it wrote.
func (e *env) poll() ([]event, error) {
	e.t.Helper()
	var out bytes.Buffer
	secrets := &modinput.Secrets{}
	rt, w := e.runtime(&out, secrets)
	cfg, err := configFromRuntime(e.ctx(), rt, e.stanza())
	if err != nil {
		return nil, err
	}
	in := New(cfg, rt)
	in.retry.backoff = func(int) time.Duration { return 10 * time.Millisecond }
	in.wrapContainer = e.wrap
	if e.commit > 0 {
		in.commitBytes = e.commit
	}
	if e.maxLine > 0 {
		in.maxLine = e.maxLine
	}
	if e.pieceBytes > 0 {
		in.pieceBytes = e.pieceBytes
	}
	runErr := in.Run(e.ctx())
	if err := w.Close(); err != nil {
		e.t.Fatal(err)
	}
	return parseStream(e.t, out.Bytes()), runErr
}

func (e *env) mustPoll() []event {
	e.t.Helper()
	evs, err := e.poll()
	if err != nil {
		e.t.Fatalf("poll: %v\nlogs:\n%s", err, e.logs.String())
	}
	return evs
}

type lockedBuffer struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// dataOf returns the data of the events.
func dataOf(evs []event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Data
	}
	return out
}

// joined joins the pieces of each event (unbroken events up to the one with
// <done/>, as splunkd does) and returns the events' data and how many pieces
// each had. Every piece must carry the same metadata.
func joined(t *testing.T, evs []event) (data []string, pieces []int) {
	t.Helper()
	var cur strings.Builder
	n := 0
	for i, ev := range evs {
		if n > 0 && (ev.Source != evs[i-1].Source || ev.Time != evs[i-1].Time || ev.Unbroken != "1") {
			t.Fatalf("piece %d of an event has other metadata: %+v after %+v", n, ev, evs[i-1])
		}
		cur.WriteString(ev.Data)
		n++
		if ev.Done != nil {
			data, pieces = append(data, cur.String()), append(pieces, n)
			cur.Reset()
			n = 0
		}
	}
	if n > 0 {
		t.Fatalf("the stream ends inside an event of %d pieces", n)
	}
	return data, pieces
}

// splitLines is the inverse of lines: the records without terminators.
func splitLines(s string) []string {
	s = strings.TrimSuffix(s, "\r\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\r\n")
}

func equalStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d, want %d\ngot:  %.600q\nwant: %.600q", what, len(got), len(want), got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: item %d\ngot  %.300q\nwant %.300q", what, i, got[i], want[i])
		}
	}
}
