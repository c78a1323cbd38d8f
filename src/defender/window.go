package defender

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// Window mode: how a Poller reads a legacy collection whose API ignores
// $orderby (see the package documentation, "Legacy APIs that ignore
// $orderby").

const (
	// windowFirstSlice is the first time slice read in window mode; it
	// doubles while slices come back small and halves when one holds
	// more than windowMaxObjects or windowMaxBytes.
	windowFirstSlice = 24 * time.Hour
	windowMaxSlice   = 32 * 24 * time.Hour
	windowMinSlice   = time.Second
	windowMaxObjects = 5000
	windowMaxBytes   = 16 << 20
	// windowRestarts bounds how often one slice is read again because
	// objects moved while it was paged.
	windowRestarts = 3
)

// errWindowTooBig is a slice that holds more than the window bounds.
var errWindowTooBig = errors.New("defender: time slice too large")

// isLegacy reports whether c is one of the legacy APIs, for which
// Microsoft documents only $filter, $top and $skip.
func (c Collection) isLegacy() bool { return c == LegacyIncidents || c == LegacyAlerts }

// windowed is one object read in window mode.
type windowed struct {
	o   *Object
	key string // id@time, "" without id or time
}

// pollWindows reads the collection from cur in time slices
// [start, start+slice): each slice is paged completely by $skip (with
// overlapping pages, so that an object that leaves the slice while it is
// paged cannot make the next one slide past unread), then its objects are
// handed to Object oldest first, with PageDone after every top objects.
// The last slice has no upper bound and ends the poll. early holds the
// keys of objects already handed to Object before window mode started:
// they move the cursor but are not handed again.
func (p *Poller) pollWindows(ctx context.Context, cur Cursor, early, noKey map[string]bool, top int, stats *PollStats, page *int) error {
	idField, timeField := p.Collection.IDField(), p.Collection.TimeField()
	start, slice := cur.Time, windowFirstSlice
	restarts := 0
	dirty := false // the cursor moved past early objects not committed yet
	for {
		end := start.Add(slice).Truncate(time.Second)
		if !end.After(start) {
			end = start.Add(windowMinSlice)
		}
		open := !end.Before(p.Client.clock.Now())
		var objs []windowed
		err := p.readWindow(ctx, start, end, open, top, page, stats, idField, timeField, &objs)
		switch {
		case errors.Is(err, errWindowTooBig):
			if slice <= windowMinSlice {
				return fmt.Errorf("defender: %s: more than %d objects (or %d MB) share %s %s..%s; cannot read them in order (the API ignores $orderby)",
					p.Collection.Path(), windowMaxObjects, windowMaxBytes>>20, timeField, FormatTime(start), FormatTime(end))
			}
			slice /= 2
			continue
		case errors.Is(err, errWindowMoved):
			if restarts++; restarts > windowRestarts {
				return fmt.Errorf("defender: %s: objects kept moving while %s..%s was paged: %w", p.Collection.Path(), FormatTime(start), FormatTime(end), err)
			}
			continue
		case err != nil:
			return err
		}
		restarts = 0
		slices.SortStableFunc(objs, func(a, b windowed) int { return a.o.Time.Compare(b.o.Time) })
		written := 0
		for _, w := range objs {
			o := w.o
			if w.key == "" {
				if noKey[string(o.Raw)] {
					continue
				}
				noKey[string(o.Raw)] = true
			} else if cur.Seen(o.Time, o.ID) {
				stats.Skipped++
				continue
			}
			if w.key != "" && early[w.key] {
				cur.Add(o.Time, o.ID) // written before window mode began
				dirty = true
				continue
			}
			if err := p.Object(ctx, o); err != nil {
				return err
			}
			if w.key != "" {
				cur.Add(o.Time, o.ID)
			}
			written++
			stats.Objects++
			if written == top {
				if err := p.commitWindow(ctx, cur, written, stats); err != nil {
					return err
				}
				written, dirty = 0, false
			}
		}
		if written > 0 || dirty {
			if err := p.commitWindow(ctx, cur, written, stats); err != nil {
				return err
			}
			dirty = false
		}
		if open {
			return nil
		}
		start = end
		if len(objs) < windowMaxObjects/4 && slice < windowMaxSlice {
			slice *= 2
		}
	}
}

func (p *Poller) commitWindow(ctx context.Context, cur Cursor, n int, stats *PollStats) error {
	if err := p.PageDone(ctx, cur.Clone(), n); err != nil {
		return err
	}
	stats.Cursor = cur.Clone()
	return nil
}

// errWindowMoved is a slice whose objects moved so far while it was paged
// that the pages no longer overlap.
var errWindowMoved = errors.New("defender: objects moved while the slice was paged")

// readWindow pages the slice [start, end) (no upper bound when open) by
// $skip into objs. Consecutive pages overlap by a tenth of a page: the
// last object of a page must come again in the next one, else objects
// moved (an update takes an object out of a closed slice and the rest
// slide towards the front) and the slice is read again.
func (p *Poller) readWindow(ctx context.Context, start, end time.Time, open bool, top int, page *int, stats *PollStats,
	idField, timeField string, objs *[]windowed) error {
	tf := timeField
	filter := tf + " ge " + FormatTime(start)
	if !open {
		filter += " and " + tf + " lt " + FormatTime(end)
	}
	overlap := max(1, top/10)
	if top <= overlap {
		overlap = 0
	}
	seen := map[string]bool{}
	size := 0
	var prevLast string
	for skip := 0; ; {
		q := url.Values{"$filter": {filter}, "$top": {strconv.Itoa(top)}}
		if skip > 0 {
			q.Set("$skip", strconv.Itoa(skip))
		}
		for k, vs := range p.Query {
			q[k] = vs
		}
		*page++
		var last string
		found := prevLast == "" || overlap == 0
		info, err := p.Client.Page(ctx, Request{Path: p.Collection.Path(), Query: q, Permission: p.Collection.Permission(), MaxAttempts: p.MaxAttempts},
			func(raw []byte) error {
				raw = slices.Clone(raw)
				o, perr := ParseObject(raw, idField, timeField)
				if perr != nil {
					o = &Object{Raw: raw}
				}
				key := ""
				if o.ID != "" && !o.Time.IsZero() {
					key = o.ID + "@" + FormatTime(o.Time)
				}
				k := key
				if k == "" {
					k = string(raw)
				}
				last = k
				if k == prevLast {
					found = true
				}
				if seen[k] {
					return nil
				}
				seen[k] = true
				size += len(raw)
				if len(*objs) >= windowMaxObjects || size > windowMaxBytes {
					return errWindowTooBig
				}
				*objs = append(*objs, windowed{o: o, key: key})
				return nil
			})
		if err != nil {
			if errors.Is(err, errWindowTooBig) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return err
			}
			return fmt.Errorf("defender: %s: page %d: %w", p.Collection.Path(), *page, err)
		}
		stats.Pages++
		if !found {
			return errWindowMoved
		}
		if info.Items < top {
			return nil
		}
		prevLast = last
		skip += top - overlap
	}
}
