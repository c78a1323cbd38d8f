package actions

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ta-m365-defender/ta-m365-defender/src/defender"
)

// The alert actions of the add-on (stanzas of default/alert_actions.conf).
const (
	UpdateIncident = "m365_defender_update_incident"
	UpdateAlert    = "m365_defender_update_alert"
)

// ErrUnknownAction is wrapped by Execute's error when the action name is none of Names.
var ErrUnknownAction = errors.New("actions: unknown alert action")

// Names lists the alert actions Execute runs.
func Names() []string { return []string{UpdateIncident, UpdateAlert} }

// Params lists the param.* settings of action that NewConfig reads (alert_actions.conf declares
// these, plus _cam for Enterprise Security).
func Params(action string) []string {
	switch action {
	case UpdateIncident:
		return []string{"input", "incident_id", "status", "assigned_to", "classification", "determination", "custom_tags", "custom_tags_mode", "comment"}
	case UpdateAlert:
		return []string{"input", "alert_id", "status", "assigned_to", "classification", "determination", "comment"}
	}
	return nil
}

// Schemes whose inputs may lend their credentials to an action.
const (
	incidentsScheme = "m365_defender_incidents"
	alertsScheme    = "m365_defender_alerts"
)

// Config is an action's validated configuration (its param.* settings).
type Config struct {
	Action string // UpdateIncident or UpdateAlert
	// Scheme and Input name the input whose credentials are used (param.input: "name" for an
	// m365_defender_incidents input, or "scheme://name").
	Scheme, Input string
	// IDs from param.incident_id / param.alert_id (comma or space separated); empty: each
	// result's own id.
	IDs []string
	// Graph values, canonical; "" leaves a property unchanged.
	Status, AssignedTo, Classification, Determination string
	// CustomTags (incidents only) from param.custom_tags; nil leaves the tags unchanged.
	CustomTags []string
	// TagsMode is "add" (default: keep the incident's tags and add these) or "replace".
	TagsMode string
	// Comment is added to each incident or alert when not empty.
	Comment string
}

// ErrNothingToDo is wrapped by NewConfig's error when no parameter asks for a change. Execute
// still runs when the results carry per-result values (RowFields); otherwise it fails with it.
var ErrNothingToDo = errors.New("actions: nothing to do")

// ParamError is an invalid action parameter.
type ParamError struct {
	Action, Param, Msg string
	Err                error // a sentinel such as ErrNothingToDo, or nil
}

func (e *ParamError) Unwrap() error { return e.Err }

func (e *ParamError) Error() string {
	return fmt.Sprintf("alert action %s: parameter %q: %s", e.Action, e.Param, e.Msg)
}

// ErrorKind is config, for the logging contract.
func (e *ParamError) ErrorKind() string { return string(defender.KindConfig) }

// NewConfig validates the configuration of action (the payload's configuration map).
func NewConfig(action string, params map[string]string) (Config, error) {
	c := Config{Action: action}
	get := func(k string) string { return strings.TrimSpace(params[k]) }
	perr := func(param, format string, args ...any) error {
		return &ParamError{Action: action, Param: param, Msg: fmt.Sprintf(format, args...)}
	}
	var idParam string
	var status func(string) (string, error)
	switch action {
	case UpdateIncident:
		idParam, status = "incident_id", defender.CanonicalIncidentStatus
	case UpdateAlert:
		idParam, status = "alert_id", defender.CanonicalAlertStatus
	default:
		return c, fmt.Errorf("%w %q (expected %s)", ErrUnknownAction, action, strings.Join(Names(), " or "))
	}

	in := get("input")
	if in == "" {
		return c, perr("input", "required: the name of an %s input whose credentials the action uses", incidentsScheme)
	}
	c.Scheme, c.Input = incidentsScheme, in
	if s, n, ok := strings.Cut(in, "://"); ok {
		if s != incidentsScheme && s != alertsScheme {
			return c, perr("input", "%q: the scheme must be %s or %s", in, incidentsScheme, alertsScheme)
		}
		c.Scheme, c.Input = s, strings.TrimSpace(n)
	}
	if c.Input == "" || strings.ContainsAny(c.Input, "/\\") {
		return c, perr("input", "%q is not an input name", in)
	}

	for _, id := range strings.FieldsFunc(get(idParam), func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == ';' }) {
		if err := defender.CheckID(id); err != nil {
			return c, perr(idParam, "%q is not an incident or alert id", id)
		}
		c.IDs = append(c.IDs, id)
	}

	var err error
	canon := func(param string, fn func(string) (string, error)) string {
		if err != nil {
			return ""
		}
		var v string
		v, err = fn(get(param))
		var ce *defender.ConfigError
		if errors.As(err, &ce) {
			err = perr(param, "%s", ce.Msg)
		}
		return v
	}
	c.Status = canon("status", status)
	c.Classification = canon("classification", defender.CanonicalClassification)
	c.Determination = canon("determination", defender.CanonicalDetermination)
	if err != nil {
		return c, err
	}
	if err := defender.CheckClassification(c.Classification, c.Determination); err != nil {
		var ce *defender.ConfigError
		errors.As(err, &ce)
		return c, perr("determination", "%s", ce.Msg)
	}
	c.AssignedTo = get("assigned_to")
	c.Comment = get("comment")

	tags, hasTags := params["custom_tags"]
	if action == UpdateAlert {
		if strings.TrimSpace(tags) != "" {
			return c, perr("custom_tags", "alerts have no custom tags in Microsoft Graph; use %s", UpdateIncident)
		}
	} else if hasTags {
		for _, t := range strings.Split(tags, ",") {
			if t = strings.TrimSpace(t); t != "" {
				c.CustomTags = append(c.CustomTags, t)
			}
		}
	}
	switch m := strings.ToLower(get("custom_tags_mode")); m {
	case "", "add":
		c.TagsMode = "add"
		if len(c.CustomTags) == 0 {
			c.CustomTags = nil // adding nothing changes nothing
		}
	case "replace":
		c.TagsMode = "replace"
		if c.CustomTags == nil && hasTags {
			c.CustomTags = []string{} // replace with nothing: clear the tags
		}
	default:
		return c, perr("custom_tags_mode", "%q: expected add or replace", m)
	}

	if c.Status == "" && c.AssignedTo == "" && c.Classification == "" && c.Determination == "" && c.CustomTags == nil && c.Comment == "" {
		return c, &ParamError{Action: action, Param: "status", Err: ErrNothingToDo,
			Msg: fmt.Sprintf("nothing to do: set at least one of status, assigned_to, classification, determination%s or comment",
				map[bool]string{true: ", custom_tags", false: ""}[action == UpdateIncident])}
	}
	return c, nil
}

// Stanza is the full name of the input lending its credentials.
func (c Config) Stanza() string { return c.Scheme + "://" + c.Input }

// idFields are the result fields that hold a target id, in order of preference: the raw
// field, the normalised field of the add-on's macros, the snake_case name the dashboards'
// tables use, then id. An alert's row (ms365:defender:incident:alerts) carries both its own id
// and incidentId: the incident action takes incidentId.
func (c Config) idFields() []string {
	if c.Action == UpdateAlert {
		return []string{"alertId", "m365_alert_id", "alert_id", "id"}
	}
	return []string{"incidentId", "m365_incident_id", "incident_id", "id"}
}

// RowFields lists the parameters a search result may set for its own target, each with the
// result field that holds the value (m365_<param>). They are read only when the targets come
// from the results (the incident_id / alert_id parameter is empty).
func RowFields() [][2]string {
	return [][2]string{
		{"status", "m365_status"}, {"assigned_to", "m365_assigned_to"}, {"classification", "m365_classification"},
		{"determination", "m365_determination"}, {"comment", "m365_comment"},
	}
}

// RowError is an invalid per-result value: it fails the targets of that result only.
type RowError struct {
	Action string
	Row    int    // 1-based result number in the results file
	ID     string // the target, when known
	Field  string // the result field, e.g. m365_status ("" when the row as a whole is wrong)
	Msg    string
}

func (e *RowError) Error() string {
	s := fmt.Sprintf("alert action %s: result %d", e.Action, e.Row)
	if e.ID != "" {
		s += fmt.Sprintf(" (%s %s)", nounOf(e.Action), e.ID)
	}
	if e.Field != "" {
		s += ": field " + e.Field
	}
	return s + ": " + e.Msg
}

// ErrorKind is config, for the logging contract.
func (e *RowError) ErrorKind() string { return string(defender.KindConfig) }

// ForRow returns the configuration for the targets of result n: c with the row's m365_* fields
// (RowFields) in place of the parameters they override, checked the way NewConfig checks the
// parameters. A field with several values, an invalid value or a determination of another
// classification gives a *RowError naming the result and the field.
func (c Config) ForRow(n int, r Row) (Config, error) {
	out := c
	rerr := func(field, format string, args ...any) error {
		return &RowError{Action: c.Action, Row: n, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	status := defender.CanonicalIncidentStatus
	if c.Action == UpdateAlert {
		status = defender.CanonicalAlertStatus
	}
	for _, pf := range RowFields() {
		vals := r.Get(pf[1])
		if len(vals) == 0 {
			continue
		}
		if len(vals) > 1 {
			return c, rerr(pf[1], "has %d values (%s): one is expected", len(vals), strings.Join(vals, ", "))
		}
		v := vals[0]
		var err error
		switch pf[0] {
		case "status":
			out.Status, err = status(v)
		case "classification":
			out.Classification, err = defender.CanonicalClassification(v)
		case "determination":
			out.Determination, err = defender.CanonicalDetermination(v)
		case "assigned_to":
			out.AssignedTo = v
		case "comment":
			out.Comment = v
		}
		if err != nil {
			var ce *defender.ConfigError
			if errors.As(err, &ce) {
				return c, rerr(pf[1], "%s", ce.Msg)
			}
			return c, rerr(pf[1], "%v", err)
		}
	}
	if err := defender.CheckClassification(out.Classification, out.Determination); err != nil {
		var ce *defender.ConfigError
		errors.As(err, &ce)
		return c, rerr("m365_determination", "%s (classification %q, determination %q after the result's fields)", ce.Msg, out.Classification, out.Determination)
	}
	if out.Status == "" && out.AssignedTo == "" && out.Classification == "" && out.Determination == "" && out.CustomTags == nil && out.Comment == "" {
		var fs []string
		for _, pf := range RowFields() {
			fs = append(fs, pf[1])
		}
		return c, rerr("", "nothing to do: no parameter asks for a change and the result has none of the fields %s", strings.Join(fs, ", "))
	}
	return out, nil
}

// diffValues describes how the per-result values of b differ from those of a ("" when equal).
func diffValues(a, b Config) string {
	var d []string
	cmp := func(field, x, y string) {
		if x != y {
			d = append(d, fmt.Sprintf("%s %q, not %q", field, clip(y), clip(x)))
		}
	}
	cmp("m365_status", a.Status, b.Status)
	cmp("m365_assigned_to", a.AssignedTo, b.AssignedTo)
	cmp("m365_classification", a.Classification, b.Classification)
	cmp("m365_determination", a.Determination, b.Determination)
	cmp("m365_comment", a.Comment, b.Comment)
	return strings.Join(d, ", ")
}

func clip(s string) string {
	if r := []rune(s); len(r) > 60 {
		return string(r[:60]) + "…"
	}
	return s
}

func nounOf(action string) string {
	if action == UpdateAlert {
		return "alert"
	}
	return "incident"
}
