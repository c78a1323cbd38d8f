package defender

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// descServer is a legacy alerts API that ignores $orderby: it answers
// newest first, with "lastUpdateTime ge X [and lastUpdateTime lt Y]",
// $top and $skip. Before request number moveAt it moves the objects in
// move to a new time (an update), as an analyst would while a client
// pages.
type descServer struct {
	mu      sync.Mutex
	times   map[string]time.Time
	n       int
	moveAt  int
	move    []string
	movedTo time.Time
}

func (s *descServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	if s.n == s.moveAt {
		for _, id := range s.move {
			s.times[id] = s.movedTo
		}
	}
	q := r.URL.Query()
	var from, to time.Time
	for _, c := range strings.Split(q.Get("$filter"), " and ") {
		f := strings.Fields(c)
		if len(f) != 3 {
			continue
		}
		t, _ := time.Parse(time.RFC3339Nano, f[2])
		switch f[1] {
		case "ge":
			from = t
		case "lt":
			to = t
		}
	}
	var ids []string
	for id, t := range s.times {
		if !t.Before(from) && (to.IsZero() || t.Before(to)) {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b string) int {
		if c := s.times[b].Compare(s.times[a]); c != 0 {
			return c // newest first
		}
		return strings.Compare(a, b)
	})
	skip, _ := strconv.Atoi(q.Get("$skip"))
	top, _ := strconv.Atoi(q.Get("$top"))
	ids = ids[min(skip, len(ids)):]
	if top > 0 && top < len(ids) {
		ids = ids[:top]
	}
	var vals []string
	for _, id := range ids {
		vals = append(vals, fmt.Sprintf(`{"id":%q,"lastUpdateTime":%q}`, id, FormatTime(s.times[id])))
	}
	fmt.Fprintf(w, `{"value":[%s]}`, strings.Join(vals, ","))
}

// TestPollerLegacyIgnoresOrderBy: a legacy API that answers newest first
// is read in time slices, oldest first, every object exactly once, with
// objects updated while a closed slice is paged (they leave it, and the
// rest slide towards the front) and a slice too full for memory.
func TestPollerLegacyIgnoresOrderBy(t *testing.T) {
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) // the test client's clock
	for _, tt := range []struct {
		name   string
		n      int
		spread time.Duration // between consecutive objects
		moveAt int
		move   []string
		want   int // objects written by both polls
		top    int
	}{
		{"Plain", 230, 7 * time.Minute, 0, nil, 230, 50},
		// 230 objects 10 min apart: the first slice (one day) is closed
		// and holds o000..o142, three pages newest first. Before its
		// second page, objects of its first page leave it (updated):
		// the rest slide towards the front, by less than the pages'
		// overlap, then by more (the slice is read again).
		// Old and new versions of the two.
		{"MovedWithinOverlap", 230, 10 * time.Minute, 4, []string{"o140", "o141"}, 232, 50},
		// Nothing of the slice was written before it was read again: the
		// eight are written once, in their new version.
		{"MovedBeyondOverlap", 230, 10 * time.Minute, 4, []string{"o130", "o131", "o132", "o133", "o134", "o135", "o136", "o137"}, 230, 50},
		{"SliceTooFull", windowMaxObjects + 500, time.Second, 0, nil, windowMaxObjects + 500, 1000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := &descServer{times: map[string]time.Time{}, moveAt: tt.moveAt, move: tt.move, movedTo: base.Add(-time.Second)}
			start := base.Add(-time.Duration(tt.n+10) * tt.spread)
			for i := range tt.n {
				s.times[fmt.Sprintf("o%03d", i)] = start.Add(time.Duration(i+1) * tt.spread)
			}
			c, _, _ := newTestClient(t, s.ServeHTTP)
			var got []string
			var times []time.Time
			var commits []Cursor
			p := &Poller{
				Client: c, Collection: LegacyAlerts, Top: tt.top,
				Object: func(_ context.Context, o *Object) error {
					got = append(got, o.ID+"@"+o.TimeRaw)
					times = append(times, o.Time)
					return nil
				},
				PageDone: func(_ context.Context, cur Cursor, n int) error {
					if n > tt.top {
						t.Errorf("a commit covers %d objects, more than $top", n)
					}
					commits = append(commits, cur)
					return nil
				},
			}
			st, err := p.Poll(context.Background(), Cursor{Time: start})
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i < len(times); i++ {
				if times[i].Before(times[i-1]) {
					t.Fatalf("written out of order at %d: %s after %s", i, times[i], times[i-1])
				}
			}
			if len(commits) == 0 || !commits[len(commits)-1].Time.Equal(st.Cursor.Time) {
				t.Errorf("last commit %v, cursor %v", commits, st.Cursor)
			}
			// A moved object may land where the poll already read: the
			// next poll from the cursor has it, and repeats nothing else.
			if _, err := p.Poll(context.Background(), st.Cursor); err != nil {
				t.Fatal(err)
			}
			count := map[string]int{}
			for _, g := range got {
				count[g]++
			}
			for id, tm := range s.times {
				if k := id + "@" + FormatTime(tm); count[k] != 1 {
					t.Errorf("%s written %d times", k, count[k])
				}
			}
			if len(got) != tt.want {
				t.Errorf("%d objects written, want %d", len(got), tt.want)
			}
			for k, n := range count {
				if n != 1 {
					t.Errorf("%s written %d times", k, n)
				}
			}
		})
	}
}
