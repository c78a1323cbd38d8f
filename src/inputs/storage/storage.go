package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
)

// Tuning defaults.
const (
	// defaultCommitBytes is how many bytes of lines are delivered between two
	// checkpoint saves within a blob: a kill repeats at most this much.
	defaultCommitBytes = 8 << 20
	// readBufferSize is the bufio buffer used per download.
	readBufferSize = 256 << 10
	// listTimeout bounds one listing call (all its pages).
	listTimeout = 2 * time.Minute
	// maxDownloadRestarts bounds how often one blob's read is resumed after
	// the stream broke mid-way within one poll.
	maxDownloadRestarts = 5
	// longPieceBytes is the size of the pieces a line longer than
	// maxLineBytes is sent in (see deliverLong).
	longPieceBytes = 1 << 20
)

// Input is one m365_defender_storage stanza at work. Use New, then Run.
type Input struct {
	cfg   Config
	rt    *inputs.Runtime
	log   *slog.Logger
	now   func() time.Time
	retry retrier

	// svc is built from cfg on first use; tests may set it beforehand.
	svc blobService
	// commitBytes: see defaultCommitBytes.
	commitBytes int64
	// maxLine and pieceBytes: see maxLineBytes and longPieceBytes (tests
	// make them small).
	maxLine, pieceBytes int
	// authority, when set, replaces the environment's Entra ID authority
	// host (tests point it at a fake token endpoint).
	authority string
	// wrapContainer, when set, wraps every container client (tests use it to
	// change a container between listing and reading).
	wrapContainer func(name string, c blobContainer) blobContainer
}

// New returns an Input for cfg, which must have been built by NewConfig.
func New(cfg Config, rt *inputs.Runtime) *Input {
	log := rt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := rt.Now
	if now == nil {
		now = time.Now
	}
	in := &Input{
		cfg:         cfg,
		rt:          rt,
		log:         log,
		now:         now,
		retry:       retrier{log: log, attempts: 5, backoff: defaultBackoff, maxWait: time.Minute},
		commitBytes: defaultCommitBytes,
		maxLine:     maxLineBytes,
		pieceBytes:  longPieceBytes,
	}
	in.retry.redact = in.redact
	return in
}

// pollStats counts one poll's work for the "poll complete" line.
type pollStats struct {
	events, bytes, listCalls, downloads, blobs int64
	newest                                     time.Time
}

// containerRun is one container's part of a poll.
type containerRun struct {
	name   string
	c      blobContainer
	state  *containerState
	dirty  bool  // state differs from the saved record
	failed error // listing or reading failed; the poll is incomplete
	gone   bool  // deleted during the poll; skipped
	// horizon: listing starts at its day, and fully read records of hours
	// before that day are pruned.
	horizon time.Time
	// start is start_date's hour: blobs of older hours without a record are
	// not read.
	start time.Time
	// pruned: records of fully read blobs of older hours may have been
	// dropped, so a blob of such an hour without a record is not read (it
	// may have been read already); see containerState.PrunedBefore.
	pruned time.Time
	// prunedLegacy: pruned comes from a record written before PrunedBefore
	// was kept (it is the old horizon), so skipping is expected, not news.
	prunedLegacy bool
}

// work is one blob to read.
type work struct {
	cr   *containerRun
	name string
	hour time.Time
	from int64
	// created is the blob's creation time from the listing, kept in the record.
	created time.Time
}

// Run performs one poll: it reads what was appended to the exported blobs
// since the last run and returns. It returns nil when ctx is cancelled.
func (in *Input) Run(ctx context.Context) error {
	err := in.poll(ctx)
	if err != nil && ctx.Err() != nil {
		in.log.Info("poll interrupted", "error", ctx.Err().Error())
		return nil
	}
	return err
}

func (in *Input) poll(ctx context.Context) error {
	began := in.now()
	var stats pollStats
	// Errors returned from here are logged once, by the engine ("input failed").
	if err := in.connect(); err != nil {
		return err
	}
	meta, err := in.loadMeta(began)
	if err != nil {
		return err
	}
	start := meta.DefaultStart
	if !in.cfg.StartDate.IsZero() {
		start = in.cfg.StartDate
	}

	var names []string
	err = in.retry.do(ctx, fmt.Sprintf("listing containers with prefix %q", in.cfg.ContainerPrefix), nil, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, listTimeout)
		defer cancel()
		stats.listCalls++
		var err error
		names, err = in.svc.ListContainers(ctx, in.cfg.ContainerPrefix)
		return err
	})
	if err != nil {
		return err
	}
	if len(names) == 0 {
		in.log.Warn("no containers found; the Streaming API creates one per table once it exports events", "container_prefix", in.cfg.ContainerPrefix)
	}

	var runs []*containerRun
	var todo []work
	for _, name := range names {
		cr, items, err := in.scanContainer(ctx, name, start, meta.LastPoll, began, &stats)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err // checkpoint store failure
		}
		runs = append(runs, cr)
		todo = append(todo, items...)
	}
	// Oldest hour first, so a new hour's blob never overtakes an older tail.
	slices.SortFunc(todo, func(a, b work) int {
		if c := a.hour.Compare(b.hour); c != 0 {
			return c
		}
		if c := strings.Compare(a.cr.name, b.cr.name); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	for _, w := range todo {
		if w.cr.failed != nil || w.cr.gone {
			continue
		}
		if err := in.readBlob(ctx, w, began, &stats); err != nil {
			return err // output or checkpoint failure: stop now
		}
	}

	complete := true
	for _, cr := range runs {
		if cr.failed != nil {
			complete = false
		} else if !cr.gone && began.Sub(cr.state.LastPoll) >= lastPollStep {
			cr.state.LastPoll = began
			cr.dirty = true
		}
		in.prune(cr, cr.horizon)
		if err := in.saveContainer(cr); err != nil {
			return err
		}
	}
	if err := in.dropStaleContainers(names); err != nil {
		return err
	}
	if began.Sub(meta.LastPoll) >= lastPollStep {
		meta.LastPoll = began
		if err := in.rt.Checkpoints.Save(metaKey, meta); err != nil {
			return in.checkpointError("saving the input's checkpoint", err)
		}
	}
	cursor := stats.newest
	if cursor.IsZero() {
		cursor = horizon(start, meta.LastPoll)
	}
	args := []any{"events", stats.events, "pages", stats.listCalls, "duration_ms", in.now().Sub(began).Milliseconds(),
		"checkpoint_time", cursor.UTC().Format(time.RFC3339), "containers", len(names), "blobs_read", stats.blobs,
		"downloads", stats.downloads, "bytes", stats.bytes}
	if !complete {
		var errs []error
		for _, cr := range runs {
			if cr.failed != nil {
				errs = append(errs, cr.failed)
			}
		}
		in.log.Warn("poll incomplete", args...)
		return errors.Join(errs...)
	}
	in.log.Info("poll complete", args...)
	return nil
}

// loadMeta reads the input-wide record, creating it on the first run.
func (in *Input) loadMeta(now time.Time) (*metaState, error) {
	var m metaState
	found, err := in.rt.Checkpoints.Load(metaKey, &m)
	if err != nil {
		return nil, in.checkpointError("reading the input's checkpoint", err)
	}
	if found && m.V == stateVersion && !m.DefaultStart.IsZero() {
		return &m, nil
	}
	m = metaState{V: stateVersion, DefaultStart: now.Add(-DefaultStartWindow).UTC()}
	if err := in.rt.Checkpoints.Save(metaKey, &m); err != nil {
		return nil, in.checkpointError("saving the input's checkpoint", err)
	}
	return &m, nil
}

// scanContainer lists one container's blobs of interest and returns those
// that need reading. Listing failures are recorded in the run (the other
// containers go on); only checkpoint-store failures are returned.
func (in *Input) scanContainer(ctx context.Context, name string, start, lastListed, now time.Time, stats *pollStats) (*containerRun, []work, error) {
	var c blobContainer = in.svc.Container(name)
	if in.wrapContainer != nil {
		c = in.wrapContainer(name, c)
	}
	cr := &containerRun{name: name, c: c}
	st := &containerState{}
	found, err := in.rt.Checkpoints.Load(containerKey(name), st)
	if err != nil {
		return nil, nil, in.checkpointError(fmt.Sprintf("reading the checkpoint of container %q", name), err)
	}
	if !found || st.Blobs == nil {
		st = &containerState{V: stateVersion, Blobs: map[string]*blobState{}}
	}
	cr.state = st
	// A container seen before trails its own last good poll; a new one
	// trails the last poll that listed the containers (it did not exist then).
	last := st.LastPoll
	if last.IsZero() {
		last = lastListed
	}
	h := horizon(start, last)
	cr.horizon = h
	cr.start = start.UTC().Truncate(time.Hour)
	cr.pruned = st.PrunedBefore
	if found && cr.pruned.IsZero() {
		// Written before PrunedBefore was kept: records were pruned up to the
		// horizon then, which is h again (same start, same LastPoll).
		cr.pruned, cr.prunedLegacy = h, true
	}

	// List from the horizon, or from the oldest blob not yet read to its end.
	listFrom := h
	for _, b := range st.Blobs {
		if b.Offset < b.Size && b.Hour.Before(listFrom) {
			listFrom = b.Hour
		}
	}
	listFrom = time.Date(listFrom.Year(), listFrom.Month(), listFrom.Day(), 0, 0, 0, 0, time.UTC)

	attrs := []any{"container", name}
	var tenants []string
	err = in.retry.do(ctx, fmt.Sprintf("listing tenant folders in container %q", name), attrs, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, listTimeout)
		defer cancel()
		stats.listCalls++
		var err error
		tenants, err = c.ListPrefixes(ctx, "")
		return err
	})
	if err != nil {
		if isNotFound(err, bloberror.ContainerNotFound) {
			return in.containerGone(cr)
		}
		return in.containerFailed(cr, err), nil, nil
	}
	var todo []work
	seen := map[string]bool{}
	for _, t := range tenants {
		if len(t) < len("tenantId=") || !strings.EqualFold(t[:len("tenantId=")], "tenantId=") {
			in.log.Debug("ignoring a folder that is not a tenant folder", "container", name, "folder", t)
			continue
		}
		for _, prefix := range dayPrefixes(t, listFrom, now) {
			var items []blobItem
			err := in.retry.do(ctx, fmt.Sprintf("listing blobs in container %q under %q", name, prefix), attrs, func(ctx context.Context) error {
				ctx, cancel := context.WithTimeout(ctx, listTimeout)
				defer cancel()
				stats.listCalls++
				items = items[:0]
				return c.ListBlobs(ctx, prefix, func(it blobItem) { items = append(items, it) })
			})
			if err != nil {
				if isNotFound(err, bloberror.ContainerNotFound) {
					return in.containerGone(cr)
				}
				return in.containerFailed(cr, err), nil, nil
			}
			for _, it := range items {
				seen[it.Name] = true
				if w, ok := in.plan(cr, it, now); ok {
					todo = append(todo, w)
				}
			}
		}
	}
	// A record whose blob is within the listed days but was not listed: the
	// blob was deleted.
	for bn, b := range st.Blobs {
		if !seen[bn] && !b.Hour.Before(listFrom) {
			in.log.Info("blob no longer exists; its checkpoint is dropped", "container", name, "blob", bn, "offset", b.Offset)
			delete(st.Blobs, bn)
			cr.dirty = true
		}
	}
	return cr, todo, nil
}

// plan decides from a listing entry whether a blob needs a download.
func (in *Input) plan(cr *containerRun, it blobItem, now time.Time) (work, bool) {
	hour, ok := parseBlobHour(it.Name)
	if !ok {
		in.log.Debug("ignoring a blob whose name has no y=/m=/d=/h= path", "container", cr.name, "blob", it.Name)
		return work{}, false
	}
	w := work{cr: cr, name: it.Name, hour: hour, created: it.Created}
	b := cr.state.Blobs[it.Name]
	if b != nil && b.Created.IsZero() && !it.Created.IsZero() {
		// A record from before creation times were kept: adopt the listing's.
		b.Created = it.Created
		cr.dirty = true
	}
	switch {
	case b == nil:
		switch {
		case it.Size == 0:
			return work{}, false // nothing to read yet
		case hour.Before(cr.start):
			in.log.Debug("blob older than start_date without a checkpoint is not read", "container", cr.name, "blob", it.Name, "bytes", it.Size)
			return work{}, false
		case hour.Before(cr.pruned):
			// Its record, if it had one, was pruned: whether anything was
			// appended since it was read cannot be told, so reading it again
			// could repeat it all.
			lvl := slog.LevelWarn
			if cr.prunedLegacy {
				lvl = slog.LevelDebug
			}
			in.log.Log(context.Background(), lvl, "blob of an hour whose checkpoints were pruned is not read; lines appended to it after it was read are missed",
				"container", cr.name, "blob", it.Name, "bytes", it.Size, "pruned_before", cr.pruned.Format(time.RFC3339))
			return work{}, false
		}
		// Never read (a new blob, possibly of an hour before the horizon:
		// exported late, or a container listed for the first time).
		return w, true
	case !it.Created.IsZero() && !b.Created.Equal(it.Created):
		// Deleted and created again since the last read: the ETag cannot tell
		// (it changes on every append) and the new blob may well be larger.
		in.log.Warn("blob was deleted and created again since the last read (its creation time changed); reading it again from the start",
			"container", cr.name, "blob", it.Name, "offset", b.Offset, "size", it.Size,
			"created_before", b.Created.Format(time.RFC3339Nano), "created", it.Created.Format(time.RFC3339Nano))
		return w, true
	case it.Size < b.Offset:
		in.log.Warn("blob is smaller than its checkpoint, it was replaced; reading it again from the start",
			"container", cr.name, "blob", it.Name, "offset", b.Offset, "size", it.Size)
		return w, true
	case it.Size > b.Size:
		// Grew since the last read (or the last read stopped short).
		w.from = b.Offset
		return w, true
	case b.Offset < b.Size && closed(hour, now):
		// The hour closed long ago and the blob ends without a line
		// terminator: read the tail once to deliver it.
		w.from = b.Offset
		return w, true
	case it.ETag != b.ETag:
		// Same size, new ETag (metadata or properties changed): append blobs
		// only grow, so there is nothing new to read.
		b.ETag = it.ETag
		cr.dirty = true
		return work{}, false
	}
	return work{}, false // unchanged since the last read: no download
}

// closed reports whether a blob's hour ended long enough ago that no more
// appends are expected.
func closed(hour, now time.Time) bool {
	return now.Sub(hour.Add(time.Hour)) >= finalizeAfter
}

// readBlob streams one blob from w.from, delivering each complete line and
// checkpointing after every commitBytes and at the end. It returns an error
// only when the poll must stop (output or checkpoint failure); storage
// failures are recorded on the container.
func (in *Input) readBlob(ctx context.Context, w work, now time.Time, stats *pollStats) error {
	cr := w.cr
	attrs := []any{"container", cr.name, "blob", w.name}
	ev := modinput.Event{
		Stanza:     in.cfg.Stanza,
		Source:     SchemeName + ":" + cr.name + "/" + w.name,
		Sourcetype: in.cfg.Sourcetype,
		Index:      in.cfg.Index,
		Host:       in.cfg.Host,
		Unbroken:   true,
		Done:       true,
	}
	offset := w.from
	var etag string
	var nonJSON, badUTF8, pending int64
	// longFailed is why a long line could not be read again to its end.
	var longFailed error
	defer func() {
		if nonJSON > 0 {
			in.log.Warn("lines that are not JSON were delivered as stored", append(attrs, "lines", nonJSON)...)
		}
		if badUTF8 > 0 {
			in.log.Warn("lines with invalid UTF-8 were delivered", append(attrs, "lines", badUTF8)...)
		}
	}()
	commit := func(seen int64) error {
		if err := in.rt.Events.Flush(); err != nil {
			return in.outputError(err)
		}
		cr.state.Blobs[w.name] = &blobState{Offset: offset, Size: seen, ETag: etag, Hour: w.hour, Created: w.created}
		cr.dirty = true
		pending = 0
		return in.saveContainer(cr)
	}
	// deliver writes one line as an event (blank lines are only skipped) and
	// checkpoints after every commitBytes.
	deliver := func(ln line) error {
		if ln.Truncated {
			failed, err := in.deliverLong(ctx, cr, w.name, &ev, offset, ln, attrs, stats)
			if err != nil {
				return err
			}
			if failed != nil {
				longFailed = failed
				return errLongLine
			}
			offset += ln.Size
			pending += ln.Size
			stats.events++
			stats.bytes += ln.Size
			if ev.Time.After(stats.newest) {
				stats.newest = ev.Time
			}
			if pending >= in.commitBytes {
				return commit(offset)
			}
			return nil
		}
		offset += ln.Size
		pending += ln.Size
		if len(bytes.TrimSpace(ln.Data)) > 0 {
			if t, ok := recordTime(ln.Data); ok {
				ev.Time = t
			} else {
				ev.Time = time.Time{}
				nonJSON++
			}
			if !utf8.Valid(ln.Data) {
				badUTF8++
			}
			ev.Data = ln.Data
			if err := in.rt.Events.Write(&ev); err != nil {
				return in.outputError(err)
			}
			stats.events++
			stats.bytes += ln.Size
			if ev.Time.After(stats.newest) {
				stats.newest = ev.Time
			}
		}
		if pending >= in.commitBytes {
			return commit(offset)
		}
		return nil
	}
	stats.blobs++
	for restarts := 0; ; restarts++ {
		var body io.ReadCloser
		var info blobItem
		op := fmt.Sprintf("reading blob %q in container %q from offset %d", w.name, cr.name, offset)
		err := in.retry.do(ctx, op, attrs, func(ctx context.Context) error {
			stats.downloads++
			var err error
			body, info, err = cr.c.Download(ctx, w.name, offset)
			return err
		})
		if err != nil {
			switch {
			case ctx.Err() != nil:
				return ctx.Err()
			case isNotFound(err, bloberror.BlobNotFound):
				in.log.Warn("blob was deleted between listing and reading; skipped", append(attrs, "offset", offset)...)
				if pending > 0 {
					if err := in.rt.Events.Flush(); err != nil {
						return in.outputError(err)
					}
				}
				delete(cr.state.Blobs, w.name)
				cr.dirty = true
				return in.saveContainer(cr)
			case isNotFound(err, bloberror.ContainerNotFound):
				in.log.Warn("container was deleted between listing and reading; skipped", "container", cr.name)
				cr.gone = true
				return nil
			case bloberror.HasCode(err, bloberror.InvalidRange):
				// Nothing at offset any more: the blob shrank (replaced). The
				// next poll's listing sees the new size and starts over.
				in.log.Warn("blob has no data at its checkpoint offset; it will be read again from the listing", append(attrs, "offset", offset)...)
				return nil
			}
			in.containerFailed(cr, err)
			return nil
		}
		etag = info.ETag
		lr := newLineReader(body, readBufferSize, in.maxLine)
		var rerr error
		for n := 0; ; n++ {
			if n%256 == 255 && ctx.Err() != nil {
				// Stopping (SIGTERM): keep what was delivered.
				body.Close()
				if err := commit(offset); err != nil {
					return err
				}
				return ctx.Err()
			}
			ln, err := lr.next()
			if ln.Complete || (err == io.EOF && ln.Size > 0 && closed(w.hour, now)) {
				if !ln.Complete {
					in.log.Warn("closed blob ends without a line terminator; delivering its last line", append(attrs, "bytes", ln.Size)...)
				}
				if err := deliver(ln); err != nil {
					body.Close()
					if errors.Is(err, errLongLine) {
						// Keep what came before the line; the next poll reads it again.
						if err := commit(offset); err != nil {
							return err
						}
						in.containerFailed(cr, longFailed)
						return nil
					}
					return err
				}
				if err == nil {
					continue
				}
				ln.Size = 0 // the unterminated last line was delivered
			}
			if err == io.EOF {
				body.Close()
				return commit(offset + ln.Size)
			}
			rerr = err
			break
		}
		body.Close()
		// The stream broke mid-way: keep what was delivered, resume from offset.
		if err := commit(offset); err != nil {
			return err
		}
		e := classify(op, rerr)
		if restarts >= maxDownloadRestarts || ctx.Err() != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			in.containerFailed(cr, e)
			return nil
		}
		wait := in.retry.backoff(restarts + 1)
		in.log.Warn("retrying", append([]any{"operation", op, "error", in.redact(e.Error()), "error_kind", e.Kind, "attempt", restarts + 1, "wait_ms", wait.Milliseconds()}, attrs...)...)
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// errLongLine stops a blob's read when a long line could not be read again
// to its end.
var errLongLine = errors.New("storage: long line not read to its end")

// deliverLong writes a line longer than the line reader keeps as one event
// sent in pieces: unbroken events without <done/>, whose data splunkd joins,
// and a last one with <done/>. The first piece is the part the reader kept
// (ln.Data); the rest, up to the line's end, is downloaded again from the
// blob and sent in pieces of pieceBytes, so memory stays bounded whatever
// the line's length. Pieces end on UTF-8 character boundaries. Every piece
// carries the record's time when its beginning holds it.
//
// It returns err when the poll must stop (output failure, or ctx ended), and
// failed when the rest of the line could not be read; the event is then
// closed with an empty last piece (splunkd must not join the next event to
// it), and the line will be delivered again, whole, by a later poll.
func (in *Input) deliverLong(ctx context.Context, cr *containerRun, name string, ev *modinput.Event, start int64, ln line, attrs []any, stats *pollStats) (failed, err error) {
	defer func() { ev.Done = true }()
	write := func(p []byte, done bool) error {
		ev.Data, ev.Done = p, done
		if err := in.rt.Events.Write(ev); err != nil {
			return in.outputError(err)
		}
		return nil
	}
	ev.Time, _ = prefixTime(ln.Data)
	end := start + ln.Len
	head := runeCut(ln.Data)
	if len(head) == 0 {
		head = ln.Data // no character boundary near the end: not UTF-8 anyway
	}
	pieces := 1
	pos := start + int64(len(head))
	if err := write(head, pos == end); err != nil {
		return nil, err
	}
	buf := make([]byte, max(in.pieceBytes, 2*utf8.UTFMax))
	op := fmt.Sprintf("reading the rest of a long line of blob %q in container %q from offset %d", name, cr.name, start)
	var lastErr error
	for restarts := 0; pos < end; restarts++ {
		if restarts > 0 {
			if restarts > maxDownloadRestarts {
				break
			}
			wait := in.retry.backoff(restarts)
			e := classify(op, lastErr)
			in.log.Warn("retrying", append([]any{"operation", op, "error", in.redact(e.Error()), "error_kind", e.Kind, "attempt", restarts, "wait_ms", wait.Milliseconds()}, attrs...)...)
			if err := sleep(ctx, wait); err != nil {
				write(nil, true)
				return nil, err
			}
		}
		var body io.ReadCloser
		var info blobItem
		err := in.retry.do(ctx, op, attrs, func(ctx context.Context) error {
			stats.downloads++
			var err error
			body, info, err = cr.c.Download(ctx, name, pos)
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				write(nil, true)
				return nil, ctx.Err()
			}
			lastErr = err
			break // retried already
		}
		if info.Size < end {
			body.Close()
			lastErr = fmt.Errorf("blob is %d bytes, shorter than the line ending at %d (replaced while it was read)", info.Size, end)
			break
		}
		rd := io.LimitReader(body, end-pos)
		k := 0 // bytes of an unfinished character carried over to the next piece
		for pos < end {
			want := int(min(int64(len(buf)), end-pos))
			n, rerr := io.ReadFull(rd, buf[k:want])
			n += k
			last := pos+int64(n) == end
			p := buf[:n]
			if !last {
				p = runeCut(p) // buf holds at least 8 bytes: empty only when the stream broke
			}
			if len(p) > 0 {
				if err := write(p, last); err != nil {
					body.Close()
					return nil, err
				}
				pieces++
				pos += int64(len(p))
			}
			k = copy(buf, buf[len(p):n])
			if rerr != nil && !last {
				lastErr = rerr
				break
			}
		}
		body.Close()
		if pos < end && ctx.Err() != nil {
			write(nil, true)
			return nil, ctx.Err()
		}
	}
	if pos < end {
		if err := write(nil, true); err != nil {
			return nil, err
		}
		e := classify(op, lastErr)
		in.log.Warn("long line could not be read to its end; it is delivered again, whole, by the next poll",
			append(attrs, "offset", start, "bytes", ln.Len, "read_bytes", pos-start, "error", in.redact(e.Error()), "error_kind", e.Kind)...)
		return e, nil
	}
	in.log.Info("line longer than the read limit delivered as one event in pieces",
		append(attrs, "offset", start, "bytes", ln.Len, "pieces", pieces, "limit_bytes", in.maxLine)...)
	return nil, nil
}

// prune drops records of blobs read to the end whose hour lies before the
// day of the horizon, the first day listed. Records of every hour that is
// listed are kept, so a listed blob that grew is always read from its offset,
// however long after its hour the append came.
func (in *Input) prune(cr *containerRun, h time.Time) {
	if cr.gone {
		return
	}
	cut := time.Date(h.Year(), h.Month(), h.Day(), 0, 0, 0, 0, time.UTC)
	for name, b := range cr.state.Blobs {
		if b.prunable(cut) {
			delete(cr.state.Blobs, name)
			cr.dirty = true
		}
	}
	p := cr.pruned
	if cut.After(p) {
		p = cut
	}
	if !p.Equal(cr.state.PrunedBefore) {
		cr.state.PrunedBefore = p
		cr.dirty = true
	}
}

func (in *Input) saveContainer(cr *containerRun) error {
	if !cr.dirty {
		return nil
	}
	if err := in.rt.Checkpoints.Save(containerKey(cr.name), cr.state); err != nil {
		return in.checkpointError(fmt.Sprintf("saving the checkpoint of container %q", cr.name), err)
	}
	cr.dirty = false
	return nil
}

// containerGone handles a container deleted after it was listed: it is
// skipped for this poll. Its record is kept (a transient 404 must not cause
// a re-read) and dropped by the next poll that no longer lists the container.
func (in *Input) containerGone(cr *containerRun) (*containerRun, []work, error) {
	in.log.Warn("container was deleted after it was listed; skipped", "container", cr.name)
	cr.dirty = false
	cr.gone = true
	return cr, nil, nil
}

// dropStaleContainers deletes the records of containers that are no longer
// listed (deleted, or no longer matching container_prefix).
func (in *Input) dropStaleContainers(listed []string) error {
	keys, err := in.rt.Checkpoints.Keys()
	if err != nil {
		return in.checkpointError("listing the checkpoint records", err)
	}
	for _, k := range keys {
		name, ok := strings.CutPrefix(k, containerKey(""))
		if !ok || slices.Contains(listed, name) {
			continue
		}
		in.log.Info("container no longer listed; its checkpoint is dropped", "container", name, "container_prefix", in.cfg.ContainerPrefix)
		if err := in.rt.Checkpoints.Delete(k); err != nil {
			return in.checkpointError(fmt.Sprintf("deleting the checkpoint of container %q", name), err)
		}
	}
	return nil
}

// containerFailed records and logs a storage failure of one container.
func (in *Input) containerFailed(cr *containerRun, err error) *containerRun {
	e := classify("container "+cr.name, err)
	cr.failed = e
	in.log.Error("container skipped for this poll", "container", cr.name, "error", in.redact(e.Error()), "error_kind", e.Kind)
	return cr
}

func (in *Input) checkpointError(op string, err error) error {
	return &Error{Op: op, Kind: kindCheckpoint, Err: err}
}

func (in *Input) outputError(err error) error {
	return &Error{Op: "writing events to splunkd", Kind: kindOutput, Err: err}
}

func (in *Input) redact(s string) string {
	s = scrub(s)
	if in.rt.Secrets != nil {
		s = in.rt.Secrets.Redact(s)
	}
	return s
}
