package defender

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
)

// Writing back to Microsoft Graph security: PATCH security/incidents/{id} and
// security/alerts_v2/{id}, and POST …/comments. Used by the alert actions.

// Graph paths and the application permissions the update calls need.
const (
	incidentsPath = "/v1.0/security/incidents/"
	alertsPath    = "/v1.0/security/alerts_v2/"

	// PermissionIncidentWrite is what PATCH security/incidents and its comments need.
	PermissionIncidentWrite = "SecurityIncident.ReadWrite.All"
	// PermissionAlertWrite is what PATCH security/alerts_v2 and its comments need.
	PermissionAlertWrite = "SecurityAlert.ReadWrite.All"
)

// IncidentUpdate is the body of PATCH security/incidents/{id}. Empty strings and a nil
// CustomTags are left out, so they keep their current values; a non-nil empty CustomTags
// clears the tags. Enumerations must already be canonical (see Canonical*).
type IncidentUpdate struct {
	Status         string
	AssignedTo     string
	Classification string
	Determination  string
	CustomTags     []string
}

// Fields lists the Graph properties u changes, sorted.
func (u IncidentUpdate) Fields() []string {
	var f []string
	add := func(name, v string) {
		if v != "" {
			f = append(f, name)
		}
	}
	add("assignedTo", u.AssignedTo)
	add("classification", u.Classification)
	add("determination", u.Determination)
	add("status", u.Status)
	if u.CustomTags != nil {
		f = append(f, "customTags")
	}
	sort.Strings(f)
	return f
}

// MarshalJSON keeps an empty, non-nil CustomTags (clear every tag) in the body.
func (u IncidentUpdate) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	for k, v := range map[string]string{"status": u.Status, "assignedTo": u.AssignedTo,
		"classification": u.Classification, "determination": u.Determination} {
		if v != "" {
			m[k] = v
		}
	}
	if u.CustomTags != nil {
		m["customTags"] = u.CustomTags
	}
	return json.Marshal(m)
}

// AlertUpdate is the body of PATCH security/alerts_v2/{id}; empty fields are left out.
type AlertUpdate struct {
	Status         string `json:"status,omitempty"`
	AssignedTo     string `json:"assignedTo,omitempty"`
	Classification string `json:"classification,omitempty"`
	Determination  string `json:"determination,omitempty"`
}

// Fields lists the Graph properties u changes, sorted.
func (u AlertUpdate) Fields() []string {
	return IncidentUpdate{Status: u.Status, AssignedTo: u.AssignedTo, Classification: u.Classification,
		Determination: u.Determination}.Fields()
}

// Updated is what Graph answered to a PATCH: the object after the change.
type Updated struct {
	ID                 string   `json:"id"`
	Status             string   `json:"status"`
	AssignedTo         string   `json:"assignedTo"`
	Classification     string   `json:"classification"`
	Determination      string   `json:"determination"`
	CustomTags         []string `json:"customTags"`
	LastUpdateDateTime string   `json:"lastUpdateDateTime"`
}

// idPattern is what Graph incident ids ("2972395") and alert ids
// ("da637551227677560813_-961444813", "ed6...-...") look like. Anything else
// could change the request path, so it is refused before a call is made.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,254}$`)

// CheckID returns an error when id cannot be an incident or alert id.
func CheckID(id string) error {
	if !idPattern.MatchString(id) || strings.Contains(id, "..") {
		return &ConfigError{Param: "id", Msg: fmt.Sprintf("%q is not a Microsoft Graph incident or alert id (letters, digits, _ . : -)", id)}
	}
	return nil
}

// UpdateIncident sends PATCH security/incidents/{id} and returns the incident as Graph answered it.
func (c *Client) UpdateIncident(ctx context.Context, id string, u IncidentUpdate) (*Updated, error) {
	return c.patch(ctx, incidentsPath, id, u, PermissionIncidentWrite)
}

// UpdateAlert sends PATCH security/alerts_v2/{id} and returns the alert as Graph answered it.
func (c *Client) UpdateAlert(ctx context.Context, id string, u AlertUpdate) (*Updated, error) {
	return c.patch(ctx, alertsPath, id, u, PermissionAlertWrite)
}

// GetIncident returns the current state of one incident (GET security/incidents/{id}).
func (c *Client) GetIncident(ctx context.Context, id string) (*Updated, error) {
	if err := CheckID(id); err != nil {
		return nil, err
	}
	var out Updated
	err := c.DoJSON(ctx, Request{Method: http.MethodGet, Path: incidentsPath + id, Permission: PermissionIncidentWrite}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// CommentIncident adds a comment to an incident (POST security/incidents/{id}/comments).
func (c *Client) CommentIncident(ctx context.Context, id, comment string) error {
	return c.comment(ctx, incidentsPath, id, comment, PermissionIncidentWrite)
}

// CommentAlert adds a comment to an alert (POST security/alerts_v2/{id}/comments).
func (c *Client) CommentAlert(ctx context.Context, id, comment string) error {
	return c.comment(ctx, alertsPath, id, comment, PermissionAlertWrite)
}

func (c *Client) patch(ctx context.Context, base, id string, body any, perm string) (*Updated, error) {
	if err := CheckID(id); err != nil {
		return nil, err
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("defender: PATCH %s%s: %w", base, id, err)
	}
	var out Updated
	if err := c.DoJSON(ctx, Request{Method: http.MethodPatch, Path: base + id, Body: b, Permission: perm}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (c *Client) comment(ctx context.Context, base, id, text, perm string) error {
	if err := CheckID(id); err != nil {
		return err
	}
	if strings.TrimSpace(text) == "" {
		return &ConfigError{Param: "comment", Msg: "the comment is empty"}
	}
	b, err := json.Marshal(map[string]string{"@odata.type": "microsoft.graph.security.alertComment", "comment": text})
	if err != nil {
		return err
	}
	// A comment POST is not idempotent: a 5xx or a broken connection is not retried, so a
	// comment is never added twice (429 is still retried: the call was refused, not applied).
	return c.DoJSON(ctx, Request{Method: http.MethodPost, Path: base + id + "/comments", Body: b, Permission: perm}, nil)
}

// ---- enumerations -----------------------------------------------------------------------

// enum is one Graph enumeration: its settable members in Graph's spelling, and aliases
// (older or legacy names) mapped to a member. Lookups ignore case, spaces, commas,
// hyphens and underscores.
type enum struct {
	param   string
	members []string
	aliases map[string]string
}

func enumKey(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func (e enum) canonical(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	k := enumKey(s)
	for _, m := range e.members {
		if enumKey(m) == k {
			return m, nil
		}
	}
	if m, ok := e.aliases[k]; ok {
		return m, nil
	}
	return "", &ConfigError{Param: e.param, Msg: fmt.Sprintf("%q is not a valid value (expected one of %s)", s, strings.Join(e.members, ", "))}
}

// Settable values, from Microsoft Graph v1.0 security incident / alert (see
// shared/notes/defender_api.md §2.4-2.5 and the legacy update page §3).
// unknownFutureValue and awaitingAction cannot be set by a client.
func incidentStatusEnum() enum {
	return enum{param: "status", members: []string{"active", "inProgress", "resolved", "redirected"}}
}

func alertStatusEnum() enum {
	return enum{param: "status", members: []string{"new", "inProgress", "resolved"}}
}

func classificationEnum() enum {
	return enum{param: "classification",
		members: []string{"unknown", "falsePositive", "truePositive", "informationalExpectedActivity"},
		aliases: map[string]string{
			"benignpositive": "informationalExpectedActivity", // the portal's name for it
			"informational":  "informationalExpectedActivity", // "Informational, expected activity" without the rest
			"tp":             "truePositive",
			"fp":             "falsePositive",
		}}
}

func determinationEnum() enum {
	return enum{param: "determination",
		members: []string{"unknown", "apt", "malware", "securityPersonnel", "securityTesting", "unwantedSoftware",
			"other", "multiStagedAttack", "compromisedAccount", "phishing", "maliciousUserActivity", "notMalicious",
			"notEnoughDataToValidate", "confirmedUserActivity", "lineOfBusinessApplication",
			// names other Graph pages use for members above
			"compromisedUser", "clean", "insufficientData", "confirmedActivity"},
		aliases: map[string]string{
			"noenoughdatatovalidate": "notEnoughDataToValidate", // legacy API spelling
			"notavailable":           "unknown",                 // legacy list value
		}}
}

// CanonicalIncidentStatus returns the Graph spelling of an incident status given in any case
// ("Active", "in progress", "RESOLVED"); "" stays "". An unknown value is a *ConfigError
// listing the valid ones.
func CanonicalIncidentStatus(s string) (string, error) { return incidentStatusEnum().canonical(s) }

// CanonicalAlertStatus is CanonicalIncidentStatus for alerts_v2 (new, inProgress, resolved).
func CanonicalAlertStatus(s string) (string, error) { return alertStatusEnum().canonical(s) }

// CanonicalClassification returns the Graph spelling of a classification.
func CanonicalClassification(s string) (string, error) { return classificationEnum().canonical(s) }

// CanonicalDetermination returns the Graph spelling of a determination.
func CanonicalDetermination(s string) (string, error) { return determinationEnum().canonical(s) }

// determinationClass is the classification each determination belongs to (Microsoft's
// grouping; "other", "unknown" go with any).
func determinationClass(d string) string {
	switch d {
	case "multiStagedAttack", "maliciousUserActivity", "compromisedAccount", "compromisedUser", "malware",
		"phishing", "unwantedSoftware", "apt":
		return "truePositive"
	case "securityTesting", "lineOfBusinessApplication", "confirmedActivity", "confirmedUserActivity", "securityPersonnel":
		return "informationalExpectedActivity"
	case "notMalicious", "clean", "notEnoughDataToValidate", "insufficientData":
		return "falsePositive"
	}
	return ""
}

// CheckClassification returns an error when determination (canonical) does not belong to
// classification (canonical), e.g. falsePositive with malware. Either may be empty.
func CheckClassification(classification, determination string) error {
	want := determinationClass(determination)
	if classification == "" || want == "" || classification == "unknown" || want == classification {
		return nil
	}
	return &ConfigError{Param: "determination", Msg: fmt.Sprintf("%s is a determination of classification %s, not %s", determination, want, classification)}
}
