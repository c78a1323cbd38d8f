package defender

import "fmt"

// Collection is one list endpoint: where it lives, which permission it
// needs, and how its objects are keyed and timed.
type Collection int

// The list endpoints the inputs read.
const (
	GraphIncidents  Collection = iota // GET /v1.0/security/incidents
	GraphAlerts                       // GET /v1.0/security/alerts_v2
	LegacyIncidents                   // GET /api/incidents (Defender XDR)
	LegacyAlerts                      // GET /api/alerts (Defender for Endpoint)
)

// String returns the endpoint's path, for logs and errors.
func (c Collection) String() string { return c.Path() }

// Path is the endpoint's path under the service's base URL.
func (c Collection) Path() string {
	switch c {
	case GraphIncidents:
		return "/v1.0/security/incidents"
	case GraphAlerts:
		return "/v1.0/security/alerts_v2"
	case LegacyIncidents:
		return "/api/incidents"
	case LegacyAlerts:
		return "/api/alerts"
	}
	return fmt.Sprintf("collection(%d)", int(c))
}

// Service is the API the endpoint belongs to.
func (c Collection) Service() Service {
	switch c {
	case LegacyIncidents:
		return XDR
	case LegacyAlerts:
		return MDE
	}
	return Graph
}

// Permission is the application permission a read needs.
func (c Collection) Permission() string {
	switch c {
	case GraphIncidents:
		return "SecurityIncident.Read.All"
	case GraphAlerts:
		return "SecurityAlert.Read.All"
	case LegacyIncidents:
		return "Incident.Read.All"
	case LegacyAlerts:
		return "Alert.Read.All"
	}
	return ""
}

// TimeField is the last-update property the cursor follows.
func (c Collection) TimeField() string {
	switch c {
	case LegacyIncidents, LegacyAlerts:
		return "lastUpdateTime"
	}
	return "lastUpdateDateTime"
}

// IDField is the property that identifies an object.
func (c Collection) IDField() string {
	if c == LegacyIncidents {
		return "incidentId"
	}
	return "id"
}

// MaxTop is the largest $top the endpoint accepts.
func (c Collection) MaxTop() int {
	switch c {
	case GraphIncidents:
		return 50
	case GraphAlerts:
		return 1000
	case LegacyIncidents:
		return 100
	case LegacyAlerts:
		return 10000
	}
	return 50
}
