package simulator

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// tick is Microsoft's DateTimeOffset resolution (100 ns).
const tick = 100

// incidentIDBase is the id of the first incident.
const incidentIDBase = 2972000

// comment is an alertComment.
type comment struct {
	text, by string
	at       int64 // unix ns
}

// incident is the compact, mutable state of one incident; everything else
// is rendered from gen and the seed.
type incident struct {
	num              int64 // id
	created, updated int64 // unix ns, multiples of tick
	status, severity uint8
	class, determ    uint8
	assignedTo       string
	customTags       []string
	comments         []comment
	lastModifiedBy   string
	resolvingComment string
	redirect         int64 // redirectIncidentId, 0 if none
	alerts           []int32
	rev              int32
}

// alert is the compact, mutable state of one alerts_v2 alert.
type alert struct {
	id               string
	inc              int32 // index into incidents
	gen              int32 // content index
	scen             uint8 // scenario index
	created, updated int64
	resolved         int64 // 0 if not resolved
	first, last      int64 // activity window
	status, severity uint8
	class, determ    uint8
	assignedTo       string
	comments         []comment
}

// data holds the objects and their sort indexes.
type data struct {
	seed           uint64
	tenant         string
	alertsPer      int
	incidents      []incident // index = creation order; num = incidentIDBase + index
	alerts         []alert    // index = creation order
	alertByID      map[string]int32
	incByUpd       []int32 // incident indexes sorted by (updated, index)
	alertByUpd     []int32 // alert indexes sorted by (updated, index)
	incByCreated   []int32 // incident indexes sorted by (created, index)
	alertByCreated []int32 // alert indexes sorted by (created, index)
	maxUpdated     int64
}

func (d *data) rng(kind, idx uint64) *rand.Rand {
	return rand.New(rand.NewPCG(d.seed^0x9e3779b97f4a7c15, kind<<40|idx))
}

// generate fills d with n incidents whose lastUpdateDateTimes lie in
// (now-span, now], batch consecutive ones sharing a time.
func (d *data) generate(n, batch int, now time.Time, span time.Duration) {
	if n <= 0 {
		return
	}
	if batch < 1 {
		batch = 1
	}
	groups := (n + batch - 1) / batch
	end := now.UnixNano() / tick * tick
	start := end - int64(span)/tick*tick
	step := (end - start) / int64(groups) / tick * tick
	r := d.rng(0, 0)
	type gen struct{ created, updated int64 }
	g := make([]gen, n)
	var upd int64
	for i := range n {
		grp := int64(i / batch)
		if i%batch == 0 { // one time per batch
			upd = start + (grp+1)*step
			if grp < int64(groups)-1 && step > 4*tick {
				upd -= r.Int64N(step/2) / tick * tick
			}
			if grp == int64(groups)-1 {
				upd = end
			}
		}
		created := upd
		if r.IntN(10) >= 3 { // 70% were updated after creation
			created -= r.Int64N(int64(72*time.Hour)) / tick * tick
		}
		g[i] = gen{created, upd}
	}
	// Ids follow creation order, as Defender's do.
	slices.SortStableFunc(g, func(a, b gen) int { return cmpInt64(a.created, b.created) })
	d.incidents = slices.Grow(d.incidents, n)
	d.alerts = slices.Grow(d.alerts, n*d.alertsPer)
	for i := range g {
		d.appendIncident(g[i].created, g[i].updated, false)
	}
	d.reindex()
}

// appendIncident adds one incident (and its alerts) with the given times;
// a generated one may be a redirected (merged) incident, a fresh one not.
func (d *data) appendIncident(created, updated int64, fresh bool) int32 {
	idx := int32(len(d.incidents))
	r := d.rng(1, uint64(idx))
	inc := incident{num: incidentIDBase + int64(idx), created: created, updated: updated}
	redirected := !fresh && idx > 0 && idx%37 == 36
	nAlerts := d.alertsPer
	if redirected {
		nAlerts = 0
		inc.redirect = inc.num - 1
		inc.status = incRedirected
	}
	// Workflow state: older incidents are more often handled.
	switch x := r.IntN(100); {
	case redirected:
	case x < 45:
		inc.status = incActive
	case x < 60:
		inc.status = incInProgress
		inc.assignedTo = analysts[r.IntN(len(analysts))]
	case x < 62:
		inc.status = incAwaitingAction
		inc.assignedTo = analysts[r.IntN(len(analysts))]
	default:
		inc.status = incResolved
		inc.assignedTo = analysts[r.IntN(len(analysts))]
		pick := resolutions[r.IntN(len(resolutions))]
		inc.class, inc.determ = pick.class, pick.determ
		inc.resolvingComment = pick.comment
		inc.comments = append(inc.comments, comment{text: pick.comment, by: inc.assignedTo, at: updated})
		inc.lastModifiedBy = inc.assignedTo
	}
	if r.IntN(4) == 0 {
		inc.customTags = []string{customTagPool[r.IntN(len(customTagPool))]}
	}
	if inc.status == incInProgress && r.IntN(2) == 0 {
		inc.comments = append(inc.comments, comment{text: "Investigating, device isolated pending triage.", by: inc.assignedTo, at: created + (updated-created)/2/tick*tick})
		inc.lastModifiedBy = inc.assignedTo
	}
	d.incidents = append(d.incidents, inc)
	ip := &d.incidents[idx]
	var sev uint8
	for k := range nAlerts {
		ai := d.appendAlert(idx, k, created, updated, r)
		ip.alerts = append(ip.alerts, ai)
		sev = max(sev, d.alerts[ai].severity)
	}
	if nAlerts == 0 {
		sev = sevMedium
	}
	ip.severity = sev
	return idx
}

// appendAlert adds alert k of incident inc.
func (d *data) appendAlert(inc int32, k int, created, updated int64, ir *rand.Rand) int32 {
	idx := int32(len(d.alerts))
	r := d.rng(2, uint64(idx))
	sc := uint8(int(idx) % len(scenarios)) // every scenario (and evidence type) early on
	if idx >= int32(len(scenarios)) {
		sc = uint8(r.IntN(len(scenarios)))
	}
	scn := &scenarios[sc]
	span := updated - created
	ac := created
	if k > 0 && span > 0 {
		ac += r.Int64N(span/2+1) / tick * tick
	}
	a := alert{inc: inc, gen: idx, scen: sc, created: ac, updated: updated, severity: scn.severity}
	a.last = ac - r.Int64N(int64(20*time.Minute))/tick*tick
	a.first = a.last - r.Int64N(int64(6*time.Hour))/tick*tick
	ip := &d.incidents[inc]
	switch ip.status {
	case incResolved:
		a.status, a.resolved = alertResolved, updated
		a.class, a.determ = ip.class, ip.determ
		a.assignedTo = ip.assignedTo
	case incInProgress, incAwaitingAction:
		a.status = alertInProgress
		a.assignedTo = ip.assignedTo
	default:
		a.status = alertNew
	}
	for {
		a.id = alertID(scn.service, ac, r.Int32())
		if _, dup := d.alertByID[a.id]; !dup {
			break
		}
	}
	d.alertByID[a.id] = idx
	d.alerts = append(d.alerts, a)
	return idx
}

// alertID builds a Defender-style alert id: a product prefix, .NET ticks of
// the creation time and a signed 32-bit hash.
func alertID(service uint8, created int64, h int32) string {
	prefix := "da"
	switch service {
	case svcOffice:
		prefix = "fa"
	case svcIdentity:
		prefix = "aa"
	case svcCloudApps:
		prefix = "ca"
	case svcAADIP:
		prefix = "ad"
	case svcAppGov:
		prefix = "ma"
	case svcCloud:
		prefix = "dc"
	case svcXDR:
		prefix = "ed"
	}
	ticks := created/tick + 621355968000000000
	return prefix + strconv.FormatInt(ticks, 10) + "_" + strconv.FormatInt(int64(h), 10)
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// reindex rebuilds the update-order indexes.
func (d *data) reindex() {
	d.incByUpd = d.incByUpd[:0]
	for i := range d.incidents {
		d.incByUpd = append(d.incByUpd, int32(i))
		d.maxUpdated = max(d.maxUpdated, d.incidents[i].updated)
	}
	slices.SortFunc(d.incByUpd, func(a, b int32) int {
		if c := cmpInt64(d.incidents[a].updated, d.incidents[b].updated); c != 0 {
			return c
		}
		return int(a - b)
	})
	d.alertByUpd = d.alertByUpd[:0]
	for i := range d.alerts {
		d.alertByUpd = append(d.alertByUpd, int32(i))
		d.maxUpdated = max(d.maxUpdated, d.alerts[i].updated)
	}
	slices.SortFunc(d.alertByUpd, func(a, b int32) int {
		if c := cmpInt64(d.alerts[a].updated, d.alerts[b].updated); c != 0 {
			return c
		}
		return int(a - b)
	})
	d.incByCreated = d.incByCreated[:0]
	for i := range d.incidents {
		d.incByCreated = append(d.incByCreated, int32(i))
	}
	d.alertByCreated = slices.Clone(d.alertByUpd)
	slices.SortFunc(d.alertByCreated, func(a, b int32) int {
		if c := cmpInt64(d.alerts[a].created, d.alerts[b].created); c != 0 {
			return c
		}
		return int(a - b)
	})
}

// bump returns a new lastUpdateDateTime for an object last updated at old:
// now, but never before any existing update and always after old.
func (d *data) bump(now time.Time, old int64) int64 {
	t := max(now.UnixNano()/tick*tick, d.maxUpdated)
	if t <= old {
		t = old + tick
	}
	d.maxUpdated = max(d.maxUpdated, t)
	return t
}

// setIncidentUpdated moves incident i to time t in the index.
func (d *data) setIncidentUpdated(i int32, t int64) {
	old := d.incidents[i].updated
	p := searchIndex(d.incByUpd, old, i, func(e int32) int64 { return d.incidents[e].updated })
	d.incByUpd = slices.Delete(d.incByUpd, p, p+1)
	d.incidents[i].updated = t
	q := searchIndex(d.incByUpd, t, i, func(e int32) int64 { return d.incidents[e].updated })
	d.incByUpd = slices.Insert(d.incByUpd, q, i)
}

// setAlertUpdated moves alert i to time t in the index.
func (d *data) setAlertUpdated(i int32, t int64) {
	old := d.alerts[i].updated
	p := searchIndex(d.alertByUpd, old, i, func(e int32) int64 { return d.alerts[e].updated })
	d.alertByUpd = slices.Delete(d.alertByUpd, p, p+1)
	d.alerts[i].updated = t
	q := searchIndex(d.alertByUpd, t, i, func(e int32) int64 { return d.alerts[e].updated })
	d.alertByUpd = slices.Insert(d.alertByUpd, q, i)
}

// searchIndex is the position of key (t, i) in an (updated, index)-sorted index.
func searchIndex(ix []int32, t int64, i int32, updated func(int32) int64) int {
	lo, hi := 0, len(ix)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		e := ix[m]
		ut := updated(e)
		if ut < t || (ut == t && e < i) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}
