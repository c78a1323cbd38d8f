package storage

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/checkpoint"
)

// faultTransport answers chosen requests itself (errors, throttling) or
// breaks their response bodies, and passes the rest to Azurite.
type faultTransport struct {
	base http.RoundTripper
	mu   sync.Mutex
	// fault is called for every request; a non-nil response or error is
	// returned instead of asking Azurite. breakAfter >= 0 cuts the body of
	// Azurite's response after that many bytes.
	fault func(r *http.Request) (resp *http.Response, err error, breakAfter int)
}

func (f *faultTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	resp, err, cut := f.fault(r)
	f.mu.Unlock()
	if resp != nil || err != nil {
		return resp, err
	}
	resp, err = f.base.RoundTrip(r)
	if err == nil && cut >= 0 {
		resp.Body = &brokenBody{r: resp.Body, left: cut}
	}
	return resp, err
}

// brokenBody returns a connection reset after left bytes.
type brokenBody struct {
	r    io.ReadCloser
	left int
}

func (b *brokenBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	if len(p) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= n
	return n, err
}

func (b *brokenBody) Close() error { return b.r.Close() }

// storageError builds an error response as the Blob service sends it.
func storageError(r *http.Request, status int, code string, header ...string) *http.Response {
	h := http.Header{"X-Ms-Error-Code": {code}, "Content-Type": {"application/xml"}}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	body := `<?xml version="1.0" encoding="utf-8"?><Error><Code>` + code + `</Code><Message>injected</Message></Error>`
	return &http.Response{StatusCode: status, Status: http.StatusText(status), Header: h, Request: r,
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}
}

func isDownload(r *http.Request) bool {
	return r.Method == http.MethodGet && r.URL.Query().Get("comp") == ""
}

func TestAzuriteFaults(t *testing.T) {
	az := sharedAzurite(t)
	h := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)

	t.Run("ThrottledThenServed", func(t *testing.T) {
		e := newEnv(t, az, "throttle-")
		recs := lines("DeviceEvents", h, 0, 3)
		e.appendBlob("throttle-deviceevents", blobName(h), recs)
		throttled := 0
		e.counter.base = &faultTransport{base: http.DefaultTransport, fault: func(r *http.Request) (*http.Response, error, int) {
			if throttled < 2 && (isDownload(r) || r.URL.Query().Get("restype") == "container") {
				throttled++
				return storageError(r, 503, "ServerBusy", "Retry-After", "0"), nil, -1
			}
			return nil, nil, -1
		}}
		equalStrings(t, "events", dataOf(e.mustPoll()), splitLines(recs))
		logs := e.logs.String()
		if strings.Count(logs, `msg=retrying`) != 2 || !strings.Contains(logs, "error_kind=throttling attempt=1") || !strings.Contains(logs, "503 ServerBusy") {
			t.Fatalf("want two throttling retries in\n%s", logs)
		}
	})

	t.Run("StreamBrokenMidBlobResumesAtOffset", func(t *testing.T) {
		e := newEnv(t, az, "broken-")
		recs := lines("DeviceEvents", h, 0, 50)
		e.appendBlob("broken-deviceevents", blobName(h), recs)
		downloads := 0
		e.counter.base = &faultTransport{base: http.DefaultTransport, fault: func(r *http.Request) (*http.Response, error, int) {
			if isDownload(r) {
				downloads++
				if downloads == 1 {
					return nil, nil, len(recs) / 3 // cut inside a line
				}
			}
			return nil, nil, -1
		}}
		equalStrings(t, "events", dataOf(e.mustPoll()), splitLines(recs)) // no repeat, no gap
		if downloads != 2 {
			t.Fatalf("%d downloads, want 2 (the second from the offset)", downloads)
		}
		if !strings.Contains(e.logs.String(), "error_kind=network") {
			t.Fatalf("no network retry logged:\n%s", e.logs.String())
		}
	})

	t.Run("PermissionDeniedOnOneContainer", func(t *testing.T) {
		e := newEnv(t, az, "perm-")
		ok := lines("EmailEvents", h, 0, 2)
		e.appendBlob("perm-denied", blobName(h), lines("DeviceEvents", h, 0, 2))
		e.appendBlob("perm-emailevents", blobName(h), ok)
		e.counter.base = &faultTransport{base: http.DefaultTransport, fault: func(r *http.Request) (*http.Response, error, int) {
			if strings.Contains(r.URL.Path, "/perm-denied") {
				return storageError(r, 403, "AuthorizationPermissionMismatch"), nil, -1
			}
			return nil, nil, -1
		}}
		evs, err := e.poll()
		equalStrings(t, "events of the readable container", dataOf(evs), splitLines(ok))
		if err == nil || !strings.Contains(err.Error(), `container "perm-denied"`) || !strings.Contains(err.Error(), "403 AuthorizationPermissionMismatch") ||
			!strings.Contains(err.Error(), "network rules") {
			t.Fatalf("error = %v", err)
		}
		if !strings.Contains(e.logs.String(), "error_kind=permission") || !strings.Contains(e.logs.String(), `msg="poll incomplete"`) {
			t.Fatalf("logs:\n%s", e.logs.String())
		}
		// The failed container's horizon did not move; the readable one's did.
		store, _ := checkpoint.NewFileStore(e.cpDir, e.stanza().Name)
		var denied, readable containerState
		store.Load(containerKey("perm-denied"), &denied)
		store.Load(containerKey("perm-emailevents"), &readable)
		if !denied.LastPoll.IsZero() || !readable.LastPoll.Equal(testNow) {
			t.Fatalf("last_poll: denied %v, readable %v", denied.LastPoll, readable.LastPoll)
		}
		// Access granted: the denied container is read, the other is not repeated.
		e.counter.base = http.DefaultTransport
		if evs := e.mustPoll(); len(evs) != 2 || !strings.Contains(evs[0].Source, "perm-denied") {
			t.Fatalf("after the grant: %+v", evs)
		}
	})

	t.Run("FailingContainerHoldsBackOnlyItself", func(t *testing.T) {
		e := newEnv(t, az, "hold-")
		day := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
		for i := 0; i < 12; i++ {
			e.appendBlob("hold-ok", blobName(day.Add(time.Duration(i)*time.Hour)), lines("A", day, i, 1))
		}
		e.appendBlob("hold-broken", blobName(day), lines("B", day, 0, 1))
		e.counter.base = &faultTransport{base: http.DefaultTransport, fault: func(r *http.Request) (*http.Response, error, int) {
			if strings.Contains(r.URL.Path, "/hold-broken") {
				return storageError(r, 500, "InternalError"), nil, -1
			}
			return nil, nil, -1
		}}
		// Records are pruned once their day is no longer listed: the fourth
		// poll's horizon lies on the next day.
		for i := 0; i < 4; i++ {
			if _, err := e.poll(); err == nil || !strings.Contains(err.Error(), `container "hold-broken"`) {
				t.Fatalf("poll %d: %v", i, err)
			}
			e.now = e.now.Add(24 * time.Hour)
		}
		store, _ := checkpoint.NewFileStore(e.cpDir, e.stanza().Name)
		var ok containerState
		store.Load(containerKey("hold-ok"), &ok)
		if len(ok.Blobs) != 0 {
			t.Fatalf("the healthy container kept %d records while another container failed", len(ok.Blobs))
		}
	})

	t.Run("ContainerDeletedAfterListing", func(t *testing.T) {
		e := newEnv(t, az, "gone-")
		e.appendBlob("gone-a", blobName(h), lines("A", h, 0, 1))
		e.appendBlob("gone-b", blobName(h), lines("B", h, 0, 1))
		if n := len(e.mustPoll()); n != 2 {
			t.Fatalf("%d events", n)
		}
		e.appendOnly("gone-a", blobName(h), lines("A", h, 1, 1))
		// gone-a vanishes after the container listing.
		e.counter.base = &faultTransport{base: http.DefaultTransport, fault: func(r *http.Request) (*http.Response, error, int) {
			if strings.Contains(r.URL.Path, "/gone-a") {
				return storageError(r, 404, "ContainerNotFound"), nil, -1
			}
			return nil, nil, -1
		}}
		if evs := e.mustPoll(); len(evs) != 0 {
			t.Fatalf("events %v", dataOf(evs))
		}
		if !strings.Contains(e.logs.String(), `msg="container was deleted after it was listed; skipped" stanza=m365_defender_storage://gone- input=m365_defender_storage container=gone-a`) {
			t.Fatalf("logs:\n%s", e.logs.String())
		}
		// gone-a is back (the 404 was transient): read on from its offset.
		// gone-b is really deleted: its record is dropped.
		e.counter.base = http.DefaultTransport
		if _, err := e.client.DeleteContainer(e.ctx(), "gone-b", nil); err != nil {
			t.Fatal(err)
		}
		equalStrings(t, "after the 404", dataOf(e.mustPoll()), splitLines(lines("A", h, 1, 1)))
		store, _ := checkpoint.NewFileStore(e.cpDir, e.stanza().Name)
		keys, _ := store.Keys()
		slices.Sort(keys)
		if strings.Join(keys, ",") != "container-gone-a,"+metaKey {
			t.Fatalf("checkpoint keys: %v", keys)
		}
	})
}
