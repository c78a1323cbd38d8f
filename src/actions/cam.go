package actions

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
)

// Enterprise Security adaptive response outcomes (the Common Action Model).
//
// ES's Incident Review shows an action's response status from events in index cim_modactions,
// sourcetype modular_alerts:<action>, matched to a notable by sid/rid or orig_sid/orig_rid.
// Python actions get them from Splunk_SA_CIM's cim_actions module; these actions write the same
// events themselves, in the way cim_actions writes events: a stash file in splunkd's spool
// directory, which splunkd indexes and deletes (the batch input of system/default/inputs.conf,
// sourcetype stash_new, whose props split events at the stash breaker and read the header):
//
//	***SPLUNK*** index="cim_modactions" source="m365_defender_update_incident" sourcetype="modular_alerts:m365_defender_update_incident"
//	==##~~##~~  1E8N3D4E6V5E7N2T9 ~~##~~##==
//	1733320000, search_name="Close benign incidents", action_name="m365_defender_update_incident", action_mode="saved", action_status="success", …
//
// One event per target and result row naming it (with sid, rid = the row's index from 0,
// orig_sid and orig_rid = the row's orig_sid/orig_rid, else the action's own sid and rid), plus one
// per result without an id. Values are secret-redacted, quotes and backslashes escaped, line
// breaks flattened, so that no value can forge the breaker.

const (
	camIndex     = "cim_modactions"
	stashBreaker = "==##~~##~~  1E8N3D4E6V5E7N2T9 ~~##~~##=="
)

// rowRef identifies a result row for ES: its 1-based number n and its CAM ids.
type rowRef struct {
	n                     int
	rid, origSID, origRID string
}

// camRun collects the outcome events of one run.
type camRun struct {
	action, actionName, mode, sid, snapshot, searchName, app, user string
	idField                                                        string
	secrets                                                        *modinput.Secrets
	now                                                            func() time.Time
	events                                                         []string
}

// rtSnapshot matches a real-time scheduled search's sid with its snapshot suffix.
var rtSnapshot = regexp.MustCompile(`^(rt_scheduler.*)\.(\d+)$`)

func newCAM(action string, p *Payload, secrets *modinput.Secrets) *camRun {
	c := &camRun{action: action, actionName: action, sid: p.SID, searchName: p.SearchName, app: p.App,
		user: p.User, secrets: secrets, now: time.Now, idField: nounOf(action) + "_id"}
	if c.user == "" {
		c.user = p.Owner
	}
	// like cim_actions: | sendalert … param.action_name=… names the action in the events
	if n := strings.TrimSpace(p.Configuration["action_name"]); n != "" {
		c.actionName = n
	}
	if m := rtSnapshot.FindStringSubmatch(c.sid); m != nil {
		c.sid, c.snapshot = m[1], m[2]
	}
	c.mode = "adhoc"
	if strings.Contains(c.sid, "scheduler") {
		c.mode = "saved"
	}
	return c
}

// ref returns the CAM ids of result n (1-based).
func (c *camRun) ref(n int, r Row) rowRef {
	one := func(k string) string {
		if v := r.Get(k); len(v) == 1 {
			return v[0]
		}
		return ""
	}
	ref := rowRef{n: n, rid: one("rid"), origSID: one("orig_sid"), origRID: one("orig_rid")}
	if ref.rid == "" {
		ref.rid = strconv.Itoa(n - 1)
	}
	if c != nil && c.snapshot != "" {
		ref.rid += "." + c.snapshot
	}
	return ref
}

// add records the outcome of target id ("" for a result without one) for each of rows (none:
// one event without rid). err nil is a success.
func (c *camRun) add(id string, rows []rowRef, signature string, err error) {
	if c == nil {
		return
	}
	status := "success"
	if err != nil {
		status = "failure"
	}
	if len(rows) == 0 {
		rows = []rowRef{{}}
	}
	for _, r := range rows {
		origSID, origRID := r.origSID, r.origRID
		if origSID == "" {
			origSID, origRID = c.sid, r.rid
		}
		var b strings.Builder
		b.WriteString(strconv.FormatInt(c.now().Unix(), 10))
		kv := func(k, v string) {
			if v = c.clean(v); v != "" {
				fmt.Fprintf(&b, `, %s="%s"`, k, v)
			}
		}
		kv("search_name", c.searchName)
		kv("action_name", c.actionName)
		kv("action_mode", c.mode)
		kv("action_status", status)
		kv("app", c.app)
		kv("user", c.user)
		kv("sid", c.sid)
		kv("rid", r.rid)
		kv("orig_sid", origSID)
		kv("orig_rid", origRID)
		kv(c.idField, id)
		kv("signature", signature)
		c.events = append(c.events, b.String())
	}
}

// clean redacts secrets and makes v safe inside a stash value.
func (c *camRun) clean(v string) string {
	v = c.secrets.Redact(v)
	v = strings.NewReplacer("\\", `\\`, `"`, `\"`, "\r\n", " ", "\n", " ", "\r", " ").Replace(v)
	return strings.TrimSpace(v)
}

// header is the stash file's first line (values as cim_actions' get_header_item writes them).
func (c *camRun) header() string {
	h := func(k, v string) string { return fmt.Sprintf(`%s="%s"`, k, strings.ReplaceAll(v, `"`, "_")) }
	return "***SPLUNK*** " + h("index", camIndex) + " " + h("source", c.action) + " " + h("sourcetype", "modular_alerts:"+c.action)
}

// errNoSplunkHome is returned by write when SPLUNK_HOME is not set.
var errNoSplunkHome = errors.New("SPLUNK_HOME is not set")

// write puts the events in a new <unique>_events.stash_new file in home's var/spool/splunk and
// returns its path. The file is written beside the spool directory and renamed into it, so that
// splunkd never reads half of it. Nothing is written without events.
func (c *camRun) write(home string) (string, error) {
	if len(c.events) == 0 {
		return "", nil
	}
	if home == "" {
		return "", errNoSplunkHome
	}
	spool := filepath.Join(home, "var", "spool", "splunk")
	if fi, err := os.Stat(spool); err != nil {
		return "", err
	} else if !fi.IsDir() {
		return "", fmt.Errorf("%s is not a directory", spool)
	}
	var b strings.Builder
	b.WriteString(c.header())
	for _, e := range c.events {
		b.WriteString("\n" + stashBreaker + "\n")
		b.WriteString(e)
	}
	b.WriteString("\n")
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	name := fmt.Sprintf("%d_%s_events.stash_new", c.now().Unix(), hex.EncodeToString(rnd[:]))
	final := filepath.Join(spool, name)
	// var/spool itself is not monitored: stage there, then rename (same file system).
	tmp, err := os.CreateTemp(filepath.Dir(spool), "."+name+".*")
	if err != nil { // cannot stage beside the spool: write in place
		if err := os.WriteFile(final, []byte(b.String()), 0o600); err != nil {
			return "", err
		}
		return final, nil
	}
	_, werr := tmp.WriteString(b.String())
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), final)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return "", werr
	}
	return final, nil
}
