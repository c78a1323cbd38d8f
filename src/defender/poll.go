package defender

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// Poller reads one collection from a cursor to its end, page by page. See
// the package documentation for how it pages. Object and PageDone are
// required.
type Poller struct {
	Client     *Client
	Collection Collection
	// Top is the page size ($top); 0 or more than Collection.MaxTop()
	// means Collection.MaxTop().
	Top int
	// Query adds query options to every request built from the cursor,
	// e.g. $expand.
	Query url.Values
	// MaxAttempts overrides the client's attempts for 5xx and network
	// errors (0: the client's policy).
	MaxAttempts int
	// Object is called, in page order, for every object the cursor does
	// not cover yet. Objects that are not JSON objects, or lack an id or a
	// time, are handed over too (with empty ID or zero Time).
	Object func(ctx context.Context, o *Object) error
	// PageDone is called after a page whose new objects were all handed to
	// Object, with the cursor that covers them and their number. When it
	// returns nil the cursor counts as committed.
	PageDone func(ctx context.Context, c Cursor, objects int) error
}

// OrderError is a page whose objects are not in ascending last-update
// order although $orderby asked for it. The poll stops without moving the
// cursor past the page, because the cursor's de-duplication relies on the
// order.
type OrderError struct {
	Field string
	Got   string // the object's time
	After string // the time of the object before it
}

func (e *OrderError) Error() string {
	return fmt.Sprintf("defender: the API ignored $orderby=%s asc (an object updated %s came after one updated %s); not moving the checkpoint", e.Field, e.Got, e.After)
}

// ErrorKind classifies the error for the logging contract.
func (e *OrderError) ErrorKind() string { return string(KindAPI) }

// errDescending stops a legacy page that came in descending order, to
// read the collection in window mode instead.
var errDescending = errors.New("defender: the API ignored $orderby")

// PollStats summarises a poll.
type PollStats struct {
	Pages   int    // pages fetched
	Objects int    // objects handed to Object
	Skipped int    // objects the cursor already covered
	Cursor  Cursor // the last committed cursor (start if none)
}

// Poll reads from start to the end of the collection. On error, Stats.Cursor
// is the last cursor PageDone committed; the objects of the failed page may
// already have been handed to Object.
func (p *Poller) Poll(ctx context.Context, start Cursor) (PollStats, error) {
	top := p.Top
	if top <= 0 || top > p.Collection.MaxTop() {
		top = p.Collection.MaxTop()
	}
	idField, timeField := p.Collection.IDField(), p.Collection.TimeField()
	stats := PollStats{Cursor: start.Clone()}
	cur := start.Clone()
	var (
		next     string // follow this link instead of building from the cursor
		skip     int    // $skip past a cluster of equal timestamps (no nextLink)
		lastLink string
		lastSig  string // first and last object of the previous page
		// Objects without an id or a time cannot be covered by the cursor;
		// they are remembered for the poll so that a page read twice does
		// not write them twice.
		noKey = map[string]bool{}
	)
	// The legacy APIs may ignore $orderby (Microsoft documents only
	// $filter, $top and $skip for them): until a page shows two distinct
	// times in ascending order, a descending pair, or a first object newer
	// than the cursor while an older one exists (olderExists), switches the
	// poll to window mode (window.go).
	legacy, ascending := p.Collection.isLegacy(), false
	for page := 1; ; page++ {
		pageStart := cur.Clone()
		var pageKeys []string // objects of this page handed to Object
		// A page whose body broke off is read again by the client from its
		// start: objects this page already went through (handed over or
		// covered by the cursor) come again, in the same order, and are
		// neither handed twice nor taken as out of order.
		handed := map[string]bool{}
		req := Request{Permission: p.Collection.Permission(), MaxAttempts: p.MaxAttempts}
		base := next == "" && skip == 0 // a request from the cursor alone
		if next != "" {
			req.Path = next
		} else {
			req.Path = p.Collection.Path()
			req.Query = p.query(cur, top, skip)
		}
		written, keyed := 0, 0 // keyed: written objects that moved the cursor
		prevTime := cur.Time
		var first, last string
		var prevObj time.Time // the page must come in ascending time order
		info, err := p.Client.Page(ctx, req, func(raw []byte) error {
			o, perr := ParseObject(raw, idField, timeField)
			if perr != nil {
				o = &Object{Raw: raw}
			}
			if first == "" {
				first = o.ID + "@" + o.TimeRaw
			}
			last = o.ID + "@" + o.TimeRaw
			if o.ID != "" && !o.Time.IsZero() && handed[o.ID+"@"+FormatTime(o.Time)] {
				prevObj = o.Time
				return nil
			}
			if !o.Time.IsZero() {
				if legacy && !ascending && prevObj.IsZero() && base && o.Time.After(pageStart.Time) {
					// The first object of a request from the cursor is
					// newer than the cursor: the oldest one left, or (if
					// the API ignores $orderby) the newest? Ask for one
					// in between before anything is written.
					older, perr := p.olderExists(ctx, pageStart.Time, o.Time)
					if perr != nil {
						return perr
					}
					if older {
						return errDescending
					}
				}
				// The cursor treats older objects as written: that holds
				// only if the API sorts as asked. Stop rather than skip.
				if o.Time.Before(prevObj) {
					if legacy && !ascending {
						return errDescending
					}
					return &OrderError{Field: timeField, Got: o.TimeRaw, After: FormatTime(prevObj)}
				}
				if !prevObj.IsZero() && o.Time.After(prevObj) {
					ascending = true
				}
				prevObj = o.Time
			}
			if o.ID != "" && !o.Time.IsZero() {
				handed[o.ID+"@"+FormatTime(o.Time)] = true
			}
			if o.ID == "" || o.Time.IsZero() {
				if noKey[string(raw)] {
					return nil
				}
				noKey[string(raw)] = true
			} else if cur.Seen(o.Time, o.ID) {
				stats.Skipped++
				return nil
			}
			if err := p.Object(ctx, o); err != nil {
				return err
			}
			if o.ID != "" && !o.Time.IsZero() {
				cur.Add(o.Time, o.ID)
				pageKeys = append(pageKeys, o.ID+"@"+FormatTime(o.Time))
				keyed++
			}
			written++
			return nil
		})
		full := info.Items >= top
		if legacy && !ascending && errors.Is(err, errDescending) {
			// Nothing of this page is committed: read from the cursor it
			// started from, in time slices; what it already handed over
			// moves the cursor without being handed again.
			early := map[string]bool{}
			for _, k := range pageKeys {
				early[k] = true
			}
			stats.Pages++
			stats.Objects += written
			n := page
			return stats, p.pollWindows(ctx, pageStart, early, noKey, top, &stats, &n)
		}
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return stats, err
			}
			return stats, fmt.Errorf("defender: %s: page %d: %w", p.Collection.Path(), page, err)
		}
		stats.Pages++
		stats.Objects += written
		if written > 0 {
			if err := p.PageDone(ctx, cur.Clone(), written); err != nil {
				return stats, err
			}
			stats.Cursor = cur.Clone()
		}
		switch {
		case info.NextLink == "" && !full:
			return stats, nil
		case keyed > 0 && len(cur.IDs) < top:
			next, skip = "", 0 // the cursor moved: ask again from it
		case info.NextLink != "":
			if keyed == 0 && info.NextLink == lastLink {
				return stats, fmt.Errorf("defender: %s: page %d: the API returned the same next link twice without new objects", p.Collection.Path(), page)
			}
			next, lastLink = info.NextLink, info.NextLink
		case full:
			// A page of objects that share the cursor's timestamp (or
			// cannot move it), and no link: step over what was read with
			// $skip. The skip is bounded by the size of one cluster of
			// equal timestamps; it never grows with the backlog.
			sig := fmt.Sprint(info.Items, first, last)
			if written == 0 && sig == lastSig {
				return stats, fmt.Errorf("defender: %s: page %d: cannot page past the objects sharing %s %s (the API ignores $skip)",
					p.Collection.Path(), page, timeField, FormatTime(cur.Time))
			}
			lastSig = sig
			if next == "" && cur.Time.Equal(prevTime) {
				// Same base query: continue after what was read, and at
				// least after the objects written at the cursor's time
				// (they come first under "ge").
				skip = max(skip+info.Items, len(cur.IDs))
			} else {
				skip = len(cur.IDs) // new base: its first objects are those written
			}
			next = ""
		default:
			return stats, nil
		}
	}
}

// olderExists reports whether the collection holds an object updated at
// or after from and before t.
func (p *Poller) olderExists(ctx context.Context, from, t time.Time) (bool, error) {
	tf := p.Collection.TimeField()
	q := url.Values{"$filter": {tf + " ge " + FormatTime(from) + " and " + tf + " lt " + FormatTime(t)}, "$top": {"1"}}
	info, err := p.Client.Page(ctx, Request{Path: p.Collection.Path(), Query: q, Permission: p.Collection.Permission(), MaxAttempts: p.MaxAttempts},
		func([]byte) error { return nil })
	return info.Items > 0, err
}

func (p *Poller) query(cur Cursor, top, skip int) url.Values {
	tf := p.Collection.TimeField()
	q := url.Values{}
	if !cur.Time.IsZero() {
		q.Set("$filter", tf+" ge "+FormatTime(cur.Time))
	}
	q.Set("$orderby", tf+" asc")
	q.Set("$top", strconv.Itoa(top))
	if skip > 0 {
		q.Set("$skip", strconv.Itoa(skip))
	}
	for k, vs := range p.Query {
		q[k] = vs
	}
	return q
}

// Each fetches r and every page its @odata.nextLink chain leads to, calling
// item for each object. It is for small, bounded lists (an incident's
// alerts); use a Poller for collections that grow.
func (c *Client) Each(ctx context.Context, r Request, item func(raw []byte) error) (pages int, err error) {
	seen := map[string]bool{}
	for {
		info, err := c.Page(ctx, r, item)
		if err != nil {
			return pages, err
		}
		pages++
		if info.NextLink == "" || seen[info.NextLink] {
			return pages, nil
		}
		seen[info.NextLink] = true
		r.Path, r.Query = info.NextLink, nil
	}
}
