package defender

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listServer serves a tiny lastUpdateDateTime-ordered collection with
// "ge" filtering, $top and (unless ignoreSkip) $skip, and no nextLink, like
// the legacy alerts API.
type listServer struct {
	items         []string // raw objects
	ignoreSkip    bool
	ignoreOrderBy bool // newest first, as the APIs answer without $orderby
}

func (s *listServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var from time.Time
	if f := q.Get("$filter"); f != "" {
		from, _ = time.Parse(time.RFC3339Nano, strings.TrimPrefix(f, "lastUpdateDateTime ge "))
	}
	type row struct {
		t   time.Time
		id  string
		raw string
	}
	var rows []row
	for _, raw := range s.items {
		var o struct {
			ID string `json:"id"`
			T  string `json:"lastUpdateDateTime"`
		}
		json.Unmarshal([]byte(raw), &o)
		t, err := time.Parse(time.RFC3339Nano, o.T)
		if err == nil && t.Before(from) {
			continue
		}
		rows = append(rows, row{t, o.ID, raw})
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].t.IsZero() != rows[j].t.IsZero() {
			return rows[j].t.IsZero() // objects without a time last
		}
		if !rows[i].t.Equal(rows[j].t) {
			return rows[i].t.Before(rows[j].t)
		}
		return rows[i].id < rows[j].id
	})
	if s.ignoreOrderBy {
		for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
			rows[i], rows[j] = rows[j], rows[i]
		}
	}
	skip, _ := strconv.Atoi(q.Get("$skip"))
	if s.ignoreSkip {
		skip = 0
	}
	top, _ := strconv.Atoi(q.Get("$top"))
	if skip > len(rows) {
		skip = len(rows)
	}
	rows = rows[skip:]
	if top > 0 && top < len(rows) {
		rows = rows[:top]
	}
	var vals []string
	for _, r := range rows {
		vals = append(vals, r.raw)
	}
	fmt.Fprintf(w, `{"value":[%s]}`, strings.Join(vals, ","))
}

func pollAll(t *testing.T, s *listServer, top int, start Cursor) ([]string, PollStats, error) {
	t.Helper()
	c, _, _ := newTestClient(t, s.ServeHTTP)
	var got []string
	commits := 0
	p := &Poller{
		Client: c, Collection: GraphAlerts, Top: top,
		Object:   func(_ context.Context, o *Object) error { got = append(got, string(o.Raw)); return nil },
		PageDone: func(context.Context, Cursor, int) error { commits++; return nil },
	}
	st, err := p.Poll(context.Background(), start)
	if err == nil && commits == 0 && len(got) > 0 {
		t.Error("objects written but no page committed")
	}
	return got, st, err
}

func obj(id string, sec int) string {
	return fmt.Sprintf(`{"id":%q,"lastUpdateDateTime":"2026-01-01T00:00:%02d.1234567Z"}`, id, sec)
}

func TestPollerOddObjectsDeliveredOnce(t *testing.T) {
	s := &listServer{items: []string{
		obj("a", 1), `42`, `{"lastUpdateDateTime":"2026-01-01T00:00:02Z"}`, `{"id":"bad-time","lastUpdateDateTime":"soon"}`,
		obj("b", 3), `"text"`, obj("c", 4),
	}}
	got, st, err := pollAll(t, s, 2, Cursor{})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, g := range got {
		count[g]++
	}
	for _, it := range s.items {
		if count[it] != 1 {
			t.Errorf("%s delivered %d times", it, count[it])
		}
	}
	if st.Cursor.Time.Second() != 4 || strings.Join(st.Cursor.IDs, ",") != "c" {
		t.Errorf("cursor %+v", st.Cursor)
	}
}

func TestPollerEqualTimestampsWithoutNextLink(t *testing.T) {
	var items []string
	for i := range 23 {
		items = append(items, obj(fmt.Sprintf("x%02d", i), 5)) // one cluster of 23
	}
	items = append(items, obj("after", 6))
	s := &listServer{items: items}
	got, st, err := pollAll(t, s, 5, Cursor{})
	if err != nil || len(got) != 24 {
		t.Fatalf("got %d objects, err %v", len(got), err)
	}
	// Restart in the middle of the cluster.
	mid := Cursor{Time: st.Cursor.Time.Add(-time.Second), IDs: nil}
	mid.Time, _ = ParseTime("2026-01-01T00:00:05.1234567Z")
	mid.IDs = []string{"x00", "x01", "x02", "x03", "x04", "x05", "x06"}
	got, _, err = pollAll(t, s, 5, mid)
	if err != nil || len(got) != 17 {
		t.Fatalf("restart mid-cluster: got %d objects (want 17), err %v", len(got), err)
	}
	// A server that ignores $skip cannot be paged past the cluster: the
	// poll fails instead of looping.
	s.ignoreSkip = true
	if _, _, err := pollAll(t, s, 5, Cursor{}); err == nil || !strings.Contains(err.Error(), "the API ignores $skip") {
		t.Fatalf("err = %v", err)
	}
}

func TestPollerRefusesUnsortedPages(t *testing.T) {
	s := &listServer{items: []string{obj("a", 1), obj("b", 2), obj("c", 3), obj("d", 4)}, ignoreOrderBy: true}
	got, st, err := pollAll(t, s, 10, Cursor{})
	var oe *OrderError
	if !errors.As(err, &oe) || KindOf(err) != KindAPI || !strings.Contains(err.Error(), "ignored $orderby") {
		t.Fatalf("err = %v", err)
	}
	if !st.Cursor.Time.IsZero() || len(got) != 1 {
		t.Errorf("cursor moved to %v after %d objects", st.Cursor.Time, len(got))
	}
}

func TestCursor(t *testing.T) {
	t1, _ := ParseTime("2026-01-01T00:00:01.5Z")
	t2 := t1.Add(time.Nanosecond * 100)
	var c Cursor
	c.Add(t1, "a")
	c.Add(t1, "b")
	c.Add(t1, "a")
	if !c.Seen(t1, "a") || !c.Seen(t1, "b") || c.Seen(t1, "c") || c.Seen(t2, "a") || !c.Seen(t1.Add(-1), "z") || c.Seen(time.Time{}, "a") {
		t.Errorf("Seen wrong for %+v", c)
	}
	c.Add(t2, "c")
	if len(c.IDs) != 1 || !c.Time.Equal(t2) {
		t.Errorf("after a later object: %+v", c)
	}
	d := c.Clone()
	d.IDs[0] = "changed"
	if c.IDs[0] != "c" {
		t.Error("Clone shares IDs")
	}
	if got := FormatTime(t2); got != "2026-01-01T00:00:01.5000001Z" {
		t.Errorf("FormatTime = %s", got)
	}
}
