package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/simulator"
)

const (
	stIncident       = "ms365:defender:incident"
	stIncidentAlerts = "ms365:defender:incident:alerts"
	stAlerts         = "ms:defender:atp:alerts"
)

// expectation is what one sourcetype of one stanza must hold in a poll:
// every key of must exactly once, and nothing outside must and may.
type expectation struct {
	must map[string]bool
	may  map[string]bool
}

// versionKey identifies one version of an object: id and update time.
func versionKey(id string, t time.Time) string { return id + "@" + t.UTC().Format(time.RFC3339Nano) }

// keySet is the version keys of the objects keep selects (all if nil).
func keySet(vs []simulator.ObjectVersion, keep func(simulator.ObjectVersion) bool) map[string]bool {
	out := map[string]bool{}
	for _, v := range vs {
		if keep == nil || keep(v) {
			out[versionKey(v.ID, v.Updated)] = true
		}
	}
	return out
}

// wantBacklog: the first poll brings every incident, alert and (legacy)
// endpoint alert once.
func wantBacklog(sim *simulator.Server, stanzas []*stanza, o options) {
	snap := sim.Snapshot()
	alerts := keySet(snap.Alerts, nil)
	if o.api == "legacy" {
		alerts = keySet(snap.Alerts, func(v simulator.ObjectVersion) bool { return v.Endpoint })
	}
	stanzas[0].expect = map[string]*expectation{
		stIncident:       {must: keySet(snap.Incidents, nil)},
		stIncidentAlerts: {must: keySet(snap.Alerts, nil)},
	}
	stanzas[1].expect = map[string]*expectation{stAlerts: {must: alerts}}
}

// changeData updates three incidents, adds two and updates one alert, then
// sets what the second poll must bring: exactly the new versions.
func changeData(sim *simulator.Server, stanzas []*stanza, o options) string {
	before := sim.Snapshot()
	ids := sim.IncidentIDs()
	changed := map[string]bool{}
	for _, k := range []int{len(ids) / 5, len(ids) / 2, len(ids) - 1} {
		if _, err := sim.UpdateIncident(ids[k]); err == nil {
			changed[ids[k]] = true
		}
	}
	for range 2 {
		changed[sim.AddIncident()] = true
	}
	// one alert of an incident not touched yet
	var alertID string
	for _, a := range before.Alerts {
		if !changed[a.IncidentID] && a.Endpoint {
			alertID = a.ID
			changed[a.IncidentID] = true
			break
		}
	}
	if alertID != "" {
		_, _ = sim.UpdateAlert(alertID)
	}
	snap := sim.Snapshot()
	old := keySet(before.Alerts, nil)
	newAlert := func(v simulator.ObjectVersion) bool {
		return !old[versionKey(v.ID, v.Updated)] || v.ID == alertID
	}
	incidents := keySet(snap.Incidents, func(v simulator.ObjectVersion) bool { return changed[v.ID] })
	changedAlerts := keySet(snap.Alerts, newAlert)
	alertsWant := changedAlerts
	if o.api == "legacy" {
		alertsWant = keySet(snap.Alerts, func(v simulator.ObjectVersion) bool { return newAlert(v) && v.Endpoint })
	}
	stanzas[0].expect = map[string]*expectation{
		stIncident: {must: incidents},
		// An incident's unchanged alerts do not come again with it:
		// each alert version is written once, when it changed.
		stIncidentAlerts: {must: changedAlerts},
	}
	stanzas[1].expect = map[string]*expectation{stAlerts: {must: alertsWant}}
	return fmt.Sprintf("%d incidents (3 updated, 2 new, 1 through alert %s) and %d alerts", len(incidents), alertID, len(changedAlerts))
}

// report prints one stanza's poll and returns whether it passed.
func report(p *printer, st *stanza, poll int, r *result) bool {
	ok := true
	fail := func(format string, args ...any) {
		ok = false
		p.f("  FAIL "+format+"\n", args...)
	}
	status := "exit 0"
	if r.exitErr != nil {
		status = r.exitErr.Error()
	}
	p.f("\n%s  (%s in %s)\n  stream %s, log %s\n", st.name, status, r.duration.Round(time.Millisecond), st.file(poll, ".xml"), st.file(poll, ".log"))
	if r.exitErr != nil {
		fail("the process failed: %v", r.exitErr)
	}
	// Events by sourcetype, time range, metadata.
	bySt := map[string]int{}
	var first, last time.Time
	meta := map[string]map[string]bool{"source": {}, "index": {}, "host": {}}
	seen := map[string]bool{}
	var firstOf = map[string]string{}
	exp := st.expect
	got := map[string]map[string]bool{}
	badJSON, badTime, repeated, unexpected := 0, 0, 0, 0
	var examples []string
	handle := func(ev *streamEvent) {
		bySt[ev.Sourcetype]++
		meta["source"][ev.Source] = true
		meta["index"][ev.Index] = true
		meta["host"][ev.Host] = true
		if _, ok := firstOf[ev.Sourcetype]; !ok {
			firstOf[ev.Sourcetype] = ev.Data
		}
		t, err := eventTime(ev.Time)
		if err != nil {
			badTime++
		} else {
			if first.IsZero() || t.Before(first) {
				first = t
			}
			if t.After(last) {
				last = t
			}
		}
		id, upd, err := objectKey(ev.Data)
		if err != nil {
			badJSON++
			return
		}
		ut, err := time.Parse(time.RFC3339Nano, upd)
		if err != nil {
			badJSON++
			return
		}
		key := versionKey(id, ut)
		sk := ev.Sourcetype + " " + key
		if seen[sk] {
			repeated++
			if len(examples) < 3 {
				examples = append(examples, "repeated "+sk)
			}
		}
		seen[sk] = true
		if got[ev.Sourcetype] == nil {
			got[ev.Sourcetype] = map[string]bool{}
		}
		got[ev.Sourcetype][key] = true
		if e := exp[ev.Sourcetype]; e == nil || (!e.must[key] && !e.may[key]) {
			unexpected++
			if len(examples) < 6 {
				examples = append(examples, "unexpected "+sk)
			}
		}
	}
	nEvents := 0
	var xmlErr error
	if f, err := os.Open(r.xmlPath); err == nil {
		nEvents, xmlErr = parseStream(f, handle)
		f.Close()
	} else {
		xmlErr = err
	}
	if xmlErr != nil {
		fail("bad XML stream: %v", xmlErr)
	}
	var parts []string
	for _, s := range sortedKeys(bySt) {
		parts = append(parts, fmt.Sprintf("%s %d", s, bySt[s]))
	}
	p.f("  events: %d (%s)\n", nEvents, strings.Join(parts, ", "))
	if nEvents > 0 {
		p.f("  time range: %s → %s\n", first.Format(time.RFC3339), last.Format(time.RFC3339))
		p.f("  source %s; index %s; host %s\n", strings.Join(sortedKeys(meta["source"]), ","),
			strings.Join(sortedKeys(meta["index"]), ","), strings.Join(sortedKeys(meta["host"]), ","))
	}
	if nEvents == 0 {
		fail("no events")
	}
	if badJSON > 0 || badTime > 0 {
		fail("%d events whose data is not an object with an id and update time, %d with a bad <time>", badJSON, badTime)
	}
	missing := 0
	for s, e := range exp {
		for k := range e.must {
			if !got[s][k] {
				missing++
				if len(examples) < 9 {
					examples = append(examples, "missing "+s+" "+k)
				}
			}
		}
	}
	if missing > 0 || repeated > 0 || unexpected > 0 {
		fail("%d missing, %d repeated, %d unexpected object versions", missing, repeated, unexpected)
		for _, e := range examples {
			p.f("       %s\n", e)
		}
	} else if nEvents > 0 {
		var want []string
		for _, s := range sortedKeys(exp) {
			want = append(want, fmt.Sprintf("%d %s", len(exp[s].must), s))
		}
		p.f("  check: every expected version exactly once (%s), nothing else\n", strings.Join(want, ", "))
	}
	// Log lines.
	if r.logErr != nil {
		fail("cannot read the log: %v", r.logErr)
	}
	lv := map[string]int{}
	var notable []logLine
	for _, l := range r.logs {
		level := l.Level
		if level == "" {
			level = "(no level)"
		}
		lv[level]++
		switch l.Level {
		case "INFO":
			if l.Fields["msg"] == "poll complete" {
				p.f("  log: poll complete events=%s pages=%s duration_ms=%s checkpoint_time=%s\n",
					l.Fields["events"], l.Fields["pages"], l.Fields["duration_ms"], l.Fields["checkpoint_time"])
			}
		case "WARN", "ERROR", "FATAL", "":
			if len(notable) < 8 {
				notable = append(notable, l)
			}
		}
	}
	var lvParts []string
	for _, k := range sortedKeys(lv) {
		lvParts = append(lvParts, fmt.Sprintf("%s %d", k, lv[k]))
	}
	p.f("  log levels: %s\n", strings.Join(lvParts, ", "))
	for _, n := range notable {
		p.f("    %s\n", brief(n))
	}
	if lv["ERROR"] > 0 || lv["FATAL"] > 0 {
		fail("%d ERROR and %d FATAL log lines", lv["ERROR"], lv["FATAL"])
	}
	if lv["(no level)"] > 0 {
		fail("%d log lines without a level", lv["(no level)"])
	}
	if poll == 1 {
		for _, s := range sortedKeys(firstOf) {
			p.f("  first %s event:\n%s\n", s, indentJSON(firstOf[s], 30))
		}
	}
	return ok
}

// brief renders a log line for the summary: its level, msg and the other
// fields but stanza, input and url (already known or long), each value cut
// to 160 characters; a line without a level is shown as it is.
func brief(l logLine) string {
	if l.Level == "" {
		return truncate(l.Raw, 220)
	}
	var b strings.Builder
	b.WriteString(l.Level)
	b.WriteString(" " + truncate(l.Fields["msg"], 160))
	for _, k := range sortedKeys(l.Fields) {
		switch k {
		case "msg", "stanza", "input", "url":
			continue
		}
		v := truncateMiddle(l.Fields[k], 160)
		if strings.ContainsAny(v, " \"=") {
			v = fmt.Sprintf("%q", v)
		}
		b.WriteString(" " + k + "=" + v)
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// truncateMiddle keeps the start and the end of s (an error's cause is
// usually at its end).
func truncateMiddle(s string, n int) string {
	if len(s) <= n {
		return s
	}
	head := n / 4
	return s[:head] + "…" + s[len(s)-(n-head):]
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// indentJSON pretty-prints data, keeping the first maxLines lines.
func indentJSON(data string, maxLines int) string {
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(data), "    ", "  "); err != nil {
		return "    " + truncate(data, 400)
	}
	lines := strings.Split("    "+b.String(), "\n")
	if len(lines) > maxLines {
		rest := len(lines) - maxLines
		lines = append(lines[:maxLines], fmt.Sprintf("    … %d more lines", rest))
	}
	return strings.Join(lines, "\n")
}

// listCheckpoints prints the checkpoint files and returns false when one
// holds the client secret.
func listCheckpoints(p *printer, dir string, secret string) bool {
	ok := true
	n := 0
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		n++
		b, _ := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		p.f("  %s (%d bytes): %s\n", rel, len(b), truncate(strings.TrimSpace(string(b)), 300))
		if secret != "" && bytes.Contains(b, []byte(secret)) {
			p.f("  FAIL the client secret is in %s\n", rel)
			ok = false
		}
		return nil
	})
	if n == 0 {
		p.f("  FAIL no checkpoint files\n")
		ok = false
	}
	return ok
}

// secretIn reports which of files contain secret (read in chunks: the
// streams can be large).
func secretIn(files []string, secret string) []string {
	var out []string
	for _, f := range files {
		if found, err := fileContains(f, []byte(secret)); err == nil && found {
			out = append(out, filepath.Base(f))
		}
	}
	return out
}

// fileContains reports whether the file at path holds needle.
func fileContains(path string, needle []byte) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	buf := make([]byte, 1<<20+len(needle))
	keep := 0 // bytes carried over from the previous chunk
	for {
		n, err := f.Read(buf[keep:])
		if bytes.Contains(buf[:keep+n], needle) {
			return true, nil
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return false, nil
			}
			return false, err
		}
		total := keep + n
		keep = min(len(needle)-1, total)
		copy(buf, buf[total-keep:total])
	}
}
