package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
)

// memAccount is an in-memory storage account behind blobService, for unit
// and fuzz tests of the read logic (the Azurite tests cover the real client).
type memAccount struct {
	mu         sync.Mutex
	containers map[string]map[string][]byte
	etags      map[string]int
}

func newMemAccount() *memAccount {
	return &memAccount{containers: map[string]map[string][]byte{}, etags: map[string]int{}}
}

func (a *memAccount) append(container, name string, data []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.containers[container] == nil {
		a.containers[container] = map[string][]byte{}
	}
	a.containers[container][name] = append(a.containers[container][name], data...)
	a.etags[container+"/"+name]++
}

func (a *memAccount) ListContainers(_ context.Context, prefix string) ([]string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for c := range a.containers {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out, nil
}

func (a *memAccount) Container(name string) blobContainer { return memContainer{a: a, name: name} }

type memContainer struct {
	a    *memAccount
	name string
}

func (c memContainer) ListPrefixes(_ context.Context, prefix string) ([]string, error) {
	c.a.mu.Lock()
	defer c.a.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for n := range c.a.containers[c.name] {
		if rest, ok := strings.CutPrefix(n, prefix); ok {
			if i := strings.IndexByte(rest, '/'); i >= 0 && !seen[rest[:i+1]] {
				seen[rest[:i+1]] = true
				out = append(out, prefix+rest[:i+1])
			}
		}
	}
	return out, nil
}

func (c memContainer) ListBlobs(_ context.Context, prefix string, fn func(blobItem)) error {
	c.a.mu.Lock()
	var items []blobItem
	for n, d := range c.a.containers[c.name] {
		if strings.HasPrefix(n, prefix) {
			items = append(items, blobItem{Name: n, Size: int64(len(d)), ETag: fmt.Sprint(c.a.etags[c.name+"/"+n])})
		}
	}
	c.a.mu.Unlock()
	for _, it := range items {
		fn(it)
	}
	return nil
}

func (c memContainer) Download(_ context.Context, name string, offset int64) (io.ReadCloser, blobItem, error) {
	c.a.mu.Lock()
	defer c.a.mu.Unlock()
	d, ok := c.a.containers[c.name][name]
	if !ok {
		return nil, blobItem{}, &azcore.ResponseError{StatusCode: 404, ErrorCode: "BlobNotFound"}
	}
	if offset >= int64(len(d)) {
		return nil, blobItem{}, &azcore.ResponseError{StatusCode: 416, ErrorCode: "InvalidRange"}
	}
	cp := bytes.Clone(d[offset:])
	return io.NopCloser(bytes.NewReader(cp)), blobItem{Name: name, Size: int64(len(d)), ETag: fmt.Sprint(c.a.etags[c.name+"/"+name])}, nil
}

// memStore is an in-memory checkpoint.Store.
type memStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *memStore) Load(k string, v any) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.m[k]
	if !ok {
		return false, nil
	}
	return true, json.Unmarshal(b, v)
}

func (s *memStore) Save(k string, v any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := json.Marshal(v)
	s.m[k] = b
	return err
}

func (s *memStore) Delete(k string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, k)
	return nil
}

func (s *memStore) Keys() ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.m {
		out = append(out, k)
	}
	return out, nil
}

// memPollEvents runs one poll, with tune (if set) adjusting the Input, and
// returns the events as written (pieces of long lines apart).
func memPollEvents(t testing.TB, acct *memAccount, store *memStore, now time.Time, commit int64, tune func(*Input)) []event {
	var out bytes.Buffer
	w := modinput.NewEventWriter(&out)
	rt := &inputs.Runtime{Events: w, Checkpoints: store, Secrets: &modinput.Secrets{}, Logger: slog.New(slog.DiscardHandler),
		Now: func() time.Time { return now }}
	cfg, err := NewConfig(modinput.Stanza{Name: "m365_defender_storage://mem", Params: map[string]string{
		"connection_string": "AccountName=a;AccountKey=" + testKey, "container_prefix": "t-", "start_date": "2026-12-04T00:00:00Z"}})
	if err != nil {
		t.Fatal(err)
	}
	in := New(cfg, rt)
	in.svc = acct
	in.commitBytes = commit
	if tune != nil {
		tune(in)
	}
	if err := in.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return parseStream(t, out.Bytes())
}

// TestLongLinesAroundTheLimit: lines just below, at and above the reader's
// limit (the limit falling inside CRLF too) each become exactly one event,
// whole, and every event is closed with <done/>.
func TestLongLinesAroundTheLimit(t *testing.T) {
	const limit = 16
	var want []string
	var data strings.Builder
	for n := limit - 2; n <= 3*limit+1; n++ {
		l := strings.Repeat("é", n/2) + strings.Repeat("x", n%2) // n bytes
		want = append(want, l)
		data.WriteString(l + "\r\n")
	}
	acct, store := newMemAccount(), &memStore{m: map[string][]byte{}}
	acct.append("t-x", blobName(testNow.Truncate(time.Hour)), []byte(data.String()))
	evs := memPollEvents(t, acct, store, testNow, 1, func(in *Input) {
		in.maxLine, in.pieceBytes = limit, 8
		in.rt.Logger = slog.New(slog.DiscardHandler)
	})
	got, _ := joined(t, evs)
	equalStrings(t, "events", got, want)
	if len(evs) <= len(want) {
		t.Fatalf("%d pieces for %d lines: long lines were not sent in pieces", len(evs), len(want))
	}
	if again := memPollEvents(t, acct, store, testNow, 1, func(in *Input) { in.maxLine, in.pieceBytes = limit, 8 }); len(again) != 0 {
		t.Fatalf("repeated %d pieces", len(again))
	}
}

// FuzzAppendSplits appends a stream of records to a blob in arbitrary pieces,
// polling after each piece: every complete line is delivered exactly once,
// whole and in order, whatever the split points, the checkpoint batch size
// and the line limit (longer lines are sent in pieces).
func FuzzAppendSplits(f *testing.F) {
	f.Add([]byte("{\"a\":1}\r\n{\"b\":2}\r\n{\"c\":3}\n"), []byte{3, 9, 1}, uint16(4))
	f.Add([]byte("x\r\n\r\ny\r"), []byte{1, 1, 1, 1, 1, 1}, uint16(1))
	f.Fuzz(func(t *testing.T, data, splits []byte, commit uint16) {
		if len(data) > 4096 || len(splits) > 64 || bytes.ContainsAny(data, "<>&") {
			t.Skip() // keep runs fast; XML escaping is the writer's own fuzz target
		}
		// Only valid XML characters, as the event writer replaces the others.
		for _, c := range data {
			if c < 0x20 && c != '\n' && c != '\r' && c != '\t' || c >= 0x80 {
				t.Skip()
			}
		}
		acct, store := newMemAccount(), &memStore{m: map[string][]byte{}}
		// A small line limit too, so long lines (sent in pieces) are split
		// across appends as well.
		limit := 16 + int(commit%64)
		poll := func() []string {
			got, _ := joined(t, memPollEvents(t, acct, store, testNow, int64(commit)+1, func(in *Input) { in.maxLine, in.pieceBytes = limit, 8 }))
			return got
		}
		hour := testNow.Truncate(time.Hour)
		name := blobName(hour)
		var got []string
		rest := data
		for _, s := range splits {
			n := min(int(s), len(rest))
			if n == 0 {
				continue
			}
			acct.append("t-x", name, rest[:n])
			rest = rest[n:]
			got = append(got, poll()...)
		}
		if len(rest) > 0 {
			acct.append("t-x", name, rest)
			got = append(got, poll()...)
		}
		// The complete lines, blank ones skipped, CR before LF stripped; the
		// XML reader turns a lone CR into LF, so compare with that applied.
		var want []string
		s := string(data)
		for {
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				break
			}
			l := strings.TrimSuffix(s[:i], "\r")
			if strings.TrimSpace(l) != "" {
				want = append(want, xmlNormalize(l))
			}
			s = s[i+1:]
		}
		if len(got) != len(want) {
			t.Fatalf("got %d events %q, want %d %q", len(got), got, len(want), want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("event %d = %q, want %q", i, got[i], want[i])
			}
		}
	})
}

// xmlNormalize applies XML end-of-line handling (CR and CRLF read as LF).
func xmlNormalize(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}
