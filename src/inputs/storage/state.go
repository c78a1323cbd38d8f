package storage

import (
	"time"
)

// Checkpoint records. Both carry a version so a later release can migrate.
const stateVersion = 1

// metaKey holds the input-wide record; container records use containerKey.
const metaKey = "storage-meta"

func containerKey(container string) string { return "container-" + container }

// metaState is the input-wide checkpoint record.
type metaState struct {
	V int `json:"v"`
	// DefaultStart is "24 hours before the first run", fixed at the first run
	// so later runs do not move it (used when start_date is empty).
	DefaultStart time.Time `json:"default_start"`
	// LastPoll is when the last poll that listed the containers began; the
	// horizon of a container seen for the first time trails it.
	LastPoll time.Time `json:"last_poll,omitzero"`
}

// containerState is the checkpoint record of one container.
type containerState struct {
	V int `json:"v"`
	// LastPoll is when the last poll that listed and read this container
	// without a failure began; the container's horizon trails it, so a
	// container that keeps failing holds back only itself.
	LastPoll time.Time `json:"last_poll,omitzero"`
	// PrunedBefore: records of blobs read to the end whose hours lie before
	// it may have been dropped, so a blob of such an hour without a record
	// is not read again. Blobs of later hours without a record were never
	// read and are. Records written before this field existed were pruned
	// up to the horizon, which stands in for it.
	PrunedBefore time.Time             `json:"pruned_before,omitzero"`
	Blobs        map[string]*blobState `json:"blobs"`
}

// blobState is what the input remembers of one blob.
type blobState struct {
	// Offset is the byte offset after the last complete line delivered (and flushed).
	Offset int64 `json:"offset"`
	// Size and ETag are the blob's size and ETag when it was last read; a
	// listing with the same ETag, or the same size, needs no download.
	Size int64  `json:"size"`
	ETag string `json:"etag"`
	// Hour is the hour the blob covers (from its name).
	Hour time.Time `json:"hour"`
	// Created is the blob's creation time from the listing. When a listing
	// shows another one, the blob was deleted and created again, and it is
	// read again from the start. Records written before this field existed
	// lack it; it is filled in from the next listing.
	Created time.Time `json:"created,omitzero"`
}

// horizonWindow is how far behind the last complete poll the horizon trails:
// listing starts at the horizon's day, and records of fully read blobs of
// earlier days are pruned.
const horizonWindow = 24 * time.Hour

// finalizeAfter is how long after its hour ended a blob is taken as closed:
// a trailing line without a terminator is then delivered instead of waiting.
const finalizeAfter = 2 * time.Hour

// lastPollStep is how stale a LastPoll may get before it is saved again: the
// horizon moves by whole hours, so saving it more often gains nothing.
const lastPollStep = time.Hour

// horizon returns the oldest hour of interest.
func horizon(start, lastPoll time.Time) time.Time {
	h := start
	if !lastPoll.IsZero() {
		if lp := lastPoll.Add(-horizonWindow); lp.After(h) {
			h = lp
		}
	}
	return h.UTC().Truncate(time.Hour)
}

// prunable reports whether a blob record can be dropped: the blob was read to
// the end and its hour lies wholly before h.
func (b *blobState) prunable(h time.Time) bool {
	return b.Offset >= b.Size && !b.Hour.Add(time.Hour).After(h)
}
