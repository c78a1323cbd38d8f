package incidents

import (
	"fmt"

	"github.com/ta-m365-defender/ta-m365-defender/src/defender"
	"github.com/ta-m365-defender/ta-m365-defender/src/inputs/internal/restpoll"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
)

// Scheme is the input's scheme name.
const Scheme = "m365_defender_incidents"

// Sourcetypes written by the input (the Splunk Add-on for Microsoft
// Security's names).
const (
	SourcetypeIncident = "ms365:defender:incident"
	SourcetypeAlert    = "ms365:defender:incident:alerts"
)

// DefaultLookback is how far back the first run starts without start_date.
const DefaultLookback = restpoll.DefaultLookback

// Config is one m365_defender_incidents stanza. Its API is "graph"
// (security/incidents) or "legacy" (api/incidents).
type Config struct {
	restpoll.Config
	// ExpandAlerts writes each incident's alerts as events of their own.
	ExpandAlerts bool
}

// NewConfig reads and validates st.
func NewConfig(st modinput.Stanza) (Config, error) {
	rc, err := restpoll.ReadConfig(st, defender.GraphIncidents, defender.LegacyIncidents)
	c := Config{Config: rc}
	if err != nil {
		return c, err
	}
	if c.ExpandAlerts, err = st.Bool("expand_alerts", true); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// Validate checks c; its errors name the stanza and the parameter.
// expand_alerts needs no check beyond being a boolean (NewConfig).
func (c Config) Validate() error { return c.Config.Validate() }

// source is the events' source.
func (c Config) source() string { return fmt.Sprintf("%s:%s", Scheme, c.Entra.TenantID) }
