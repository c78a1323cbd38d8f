package defender

import (
	"slices"
	"time"
)

// Cursor is where a poll stands: the highest last-update time written and
// the ids written at exactly that time. Polling with "ge Time" and skipping
// what Seen reports repeats nothing and misses nothing, even when several
// objects share a timestamp across a page boundary. The zero Cursor has
// seen nothing.
type Cursor struct {
	Time time.Time `json:"time"`
	IDs  []string  `json:"ids,omitempty"`
}

// Seen reports whether the object (id, t) is covered by c: older than
// c.Time, or at c.Time and already written. Objects without a time are
// never covered.
func (c Cursor) Seen(t time.Time, id string) bool {
	switch {
	case t.IsZero():
		return false
	case t.Before(c.Time):
		return true
	case t.Equal(c.Time):
		return slices.Contains(c.IDs, id)
	}
	return false
}

// Add records that (id, t) was written.
func (c *Cursor) Add(t time.Time, id string) {
	switch {
	case t.IsZero():
	case t.After(c.Time):
		c.Time = t.UTC()
		c.IDs = append(c.IDs[:0:0], id)
	case t.Equal(c.Time) && !slices.Contains(c.IDs, id):
		c.IDs = append(c.IDs, id)
	}
}

// Clone returns a copy that shares nothing with c.
func (c Cursor) Clone() Cursor {
	return Cursor{Time: c.Time, IDs: slices.Clone(c.IDs)}
}
