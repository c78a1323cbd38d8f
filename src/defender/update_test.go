package defender_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/defender"
	"github.com/ta-m365-defender/ta-m365-defender/src/simulator"
)

// instantClock makes retries immediate, so tests never sleep.
type instantClock struct{}

func (instantClock) Now() time.Time                                   { return time.Now() }
func (instantClock) Sleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

func connectSim(t *testing.T, s *simulator.Server, clientID, secret string) *defender.Client {
	t.Helper()
	c, _, err := defender.Connect(defender.ConnectOptions{
		Service: defender.Graph, TenantID: s.TenantID, ClientID: clientID, ClientSecret: secret,
		LoginURL: s.URL, APIURL: s.URL, HTTPClient: s.Client(), Clock: instantClock{},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type simIncident struct {
	ID             string   `json:"id"`
	Status         string   `json:"status"`
	AssignedTo     string   `json:"assignedTo"`
	Classification string   `json:"classification"`
	Determination  string   `json:"determination"`
	CustomTags     []string `json:"customTags"`
	Comments       []struct {
		Comment string `json:"comment"`
	} `json:"comments"`
}

func simObject(t *testing.T, get func(string) ([]byte, error), id string) simIncident {
	t.Helper()
	raw, err := get(id)
	if err != nil {
		t.Fatal(err)
	}
	var v simIncident
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestUpdateIncidentAndComment(t *testing.T) {
	s := simulator.New(simulator.Options{Incidents: 3, Seed: 7})
	defer s.Close()
	c := connectSim(t, s, s.ClientID, s.ClientSecret)
	ctx := context.Background()
	id := s.IncidentIDs()[0]

	got, err := c.UpdateIncident(ctx, id, defender.IncidentUpdate{
		Status: "resolved", AssignedTo: "soc@contoso.com", Classification: "truePositive",
		Determination: "multiStagedAttack", CustomTags: []string{"splunk", "ir-42"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != id || got.Status != "resolved" || got.AssignedTo != "soc@contoso.com" ||
		got.Classification != "truePositive" || got.Determination != "multiStagedAttack" ||
		strings.Join(got.CustomTags, ",") != "splunk,ir-42" || got.LastUpdateDateTime == "" {
		t.Fatalf("answer %+v", got)
	}
	if err := c.CommentIncident(ctx, id, "Closed from Splunk: see notable 123"); err != nil {
		t.Fatal(err)
	}
	inc := simObject(t, s.Incident, id)
	if inc.Status != "resolved" || inc.AssignedTo != "soc@contoso.com" || strings.Join(inc.CustomTags, ",") != "splunk,ir-42" {
		t.Errorf("simulator holds %+v", inc)
	}
	if n := len(inc.Comments); n == 0 || inc.Comments[n-1].Comment != "Closed from Splunk: see notable 123" {
		t.Errorf("comments %+v", inc.Comments)
	}
	cur, err := c.GetIncident(ctx, id)
	if err != nil || cur.Status != "resolved" {
		t.Fatalf("GetIncident = %+v, %v", cur, err)
	}

	// an empty non-nil tag list clears the tags; other fields stay
	if _, err := c.UpdateIncident(ctx, id, defender.IncidentUpdate{CustomTags: []string{}}); err != nil {
		t.Fatal(err)
	}
	inc = simObject(t, s.Incident, id)
	if len(inc.CustomTags) != 0 || inc.Status != "resolved" {
		t.Errorf("after clearing tags: %+v", inc)
	}
	st := s.Stats()
	if st.Requests["PATCH /v1.0/security/incidents/{id}"] != 2 || st.Requests["POST /v1.0/security/incidents/{id}/comments"] != 1 {
		t.Errorf("requests %v", st.Requests)
	}
}

func TestUpdateAlertAndComment(t *testing.T) {
	s := simulator.New(simulator.Options{Incidents: 2, Seed: 3})
	defer s.Close()
	c := connectSim(t, s, s.ClientID, s.ClientSecret)
	ctx := context.Background()
	id := s.AlertIDs()[0]
	got, err := c.UpdateAlert(ctx, id, defender.AlertUpdate{Status: "inProgress", Classification: "falsePositive", Determination: "notMalicious", AssignedTo: "analyst@contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != id || got.Status != "inProgress" || got.Classification != "falsePositive" || got.AssignedTo != "analyst@contoso.com" {
		t.Fatalf("answer %+v", got)
	}
	if err := c.CommentAlert(ctx, id, "benign admin script"); err != nil {
		t.Fatal(err)
	}
	a := simObject(t, s.Alert, id)
	if n := len(a.Comments); n == 0 || a.Comments[n-1].Comment != "benign admin script" {
		t.Errorf("comments %+v", a.Comments)
	}
}

func TestUpdateErrors(t *testing.T) {
	s := simulator.New(simulator.Options{Incidents: 1, Seed: 1})
	defer s.Close()
	ctx := context.Background()
	c := connectSim(t, s, s.ClientID, s.ClientSecret)
	id := s.IncidentIDs()[0]

	t.Run("unknown id", func(t *testing.T) {
		_, err := c.UpdateIncident(ctx, "999999999", defender.IncidentUpdate{Status: "active"})
		var ae *defender.APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusNotFound || defender.KindOf(err) != defender.KindAPI {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("id that would change the path", func(t *testing.T) {
		before := s.Stats().APICalls()
		for _, bad := range []string{"../alerts_v2/1", "1/comments", "", "1?x=1", "a b", "%2e%2e"} {
			_, err := c.UpdateIncident(ctx, bad, defender.IncidentUpdate{Status: "active"})
			var ce *defender.ConfigError
			if !errors.As(err, &ce) || ce.Param != "id" {
				t.Errorf("id %q: err = %v", bad, err)
			}
		}
		if s.Stats().APICalls() != before {
			t.Errorf("a request was sent for a refused id")
		}
	})
	t.Run("value Graph refuses", func(t *testing.T) {
		_, err := c.UpdateIncident(ctx, id, defender.IncidentUpdate{Status: "closed"})
		var ae *defender.APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || !strings.Contains(ae.Message, "closed") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("throttled then accepted", func(t *testing.T) {
		s.Throttle(2, time.Second)
		if _, err := c.UpdateIncident(ctx, id, defender.IncidentUpdate{AssignedTo: "x@contoso.com"}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("comment not repeated after a 5xx", func(t *testing.T) {
		s.ClearFaults()
		before := s.Stats().Requests["POST /v1.0/security/incidents/{id}/comments"]
		s.FailNext(1, http.StatusServiceUnavailable)
		err := c.CommentIncident(ctx, id, "once")
		var ae *defender.APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable {
			t.Fatalf("err = %v", err)
		}
		if n := s.Stats().Requests["POST /v1.0/security/incidents/{id}/comments"] - before; n != 1 {
			t.Errorf("%d comment POSTs, want 1 (a comment must not be added twice)", n)
		}
	})
	t.Run("empty comment", func(t *testing.T) {
		var ce *defender.ConfigError
		if err := c.CommentAlert(ctx, s.AlertIDs()[0], "  "); !errors.As(err, &ce) || ce.Param != "comment" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("read-only app", func(t *testing.T) {
		s.AddClient("reader", "reader-secret-1", simulator.RoleSecurityIncidentRead, simulator.RoleSecurityAlertRead)
		rc := connectSim(t, s, "reader", "reader-secret-1")
		_, err := rc.UpdateIncident(ctx, id, defender.IncidentUpdate{Status: "active"})
		var pe *defender.PermissionError
		if !errors.As(err, &pe) || pe.Permission != defender.PermissionIncidentWrite || !strings.Contains(err.Error(), "SecurityIncident.ReadWrite.All") {
			t.Fatalf("err = %v", err)
		}
		err = rc.CommentAlert(ctx, s.AlertIDs()[0], "x")
		if !errors.As(err, &pe) || pe.Permission != defender.PermissionAlertWrite {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestCanonicalEnums(t *testing.T) {
	tests := []struct {
		fn      func(string) (string, error)
		in      string
		want    string
		wantErr string
	}{
		{defender.CanonicalIncidentStatus, "Active", "active", ""},
		{defender.CanonicalIncidentStatus, "in progress", "inProgress", ""},
		{defender.CanonicalIncidentStatus, "RESOLVED", "resolved", ""},
		{defender.CanonicalIncidentStatus, "", "", ""},
		{defender.CanonicalIncidentStatus, "closed", "", `status: "closed" is not a valid value (expected one of active, inProgress, resolved, redirected)`},
		{defender.CanonicalIncidentStatus, "unknownFutureValue", "", "not a valid value"},
		{defender.CanonicalAlertStatus, "New", "new", ""},
		{defender.CanonicalAlertStatus, "in_progress", "inProgress", ""},
		{defender.CanonicalAlertStatus, "active", "", "expected one of new, inProgress, resolved"},
		{defender.CanonicalClassification, "TruePositive", "truePositive", ""},
		{defender.CanonicalClassification, "Informational, expected activity", "informationalExpectedActivity", ""},
		{defender.CanonicalClassification, "benign positive", "informationalExpectedActivity", ""},
		{defender.CanonicalClassification, "false_positive", "falsePositive", ""},
		{defender.CanonicalClassification, "malicious", "", "classification:"},
		{defender.CanonicalDetermination, "MultiStagedAttack", "multiStagedAttack", ""},
		{defender.CanonicalDetermination, "NoEnoughDataToValidate", "notEnoughDataToValidate", ""},
		{defender.CanonicalDetermination, "compromised account", "compromisedAccount", ""},
		{defender.CanonicalDetermination, "clean", "clean", ""},
		{defender.CanonicalDetermination, "ransomware", "", "determination:"},
	}
	for _, tt := range tests {
		got, err := tt.fn(tt.in)
		if tt.wantErr != "" {
			var ce *defender.ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: err = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestCheckClassification(t *testing.T) {
	tests := []struct {
		class, determ string
		ok            bool
	}{
		{"truePositive", "malware", true},
		{"falsePositive", "malware", false},
		{"falsePositive", "notMalicious", true},
		{"informationalExpectedActivity", "securityTesting", true},
		{"truePositive", "securityTesting", false},
		{"truePositive", "other", true},
		{"", "malware", true},
		{"falsePositive", "", true},
		{"unknown", "phishing", true},
	}
	for _, tt := range tests {
		err := defender.CheckClassification(tt.class, tt.determ)
		if (err == nil) != tt.ok {
			t.Errorf("%s/%s: err = %v", tt.class, tt.determ, err)
		}
	}
}

func TestUpdateFields(t *testing.T) {
	u := defender.IncidentUpdate{Status: "active", CustomTags: []string{}}
	if got := strings.Join(u.Fields(), ","); got != "customTags,status" {
		t.Errorf("Fields = %s", got)
	}
	b, _ := json.Marshal(u)
	if string(b) != `{"customTags":[],"status":"active"}` {
		t.Errorf("body %s", b)
	}
	b, _ = json.Marshal(defender.IncidentUpdate{AssignedTo: "a"})
	if string(b) != `{"assignedTo":"a"}` {
		t.Errorf("body %s", b)
	}
}
