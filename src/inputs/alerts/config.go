package alerts

import (
	"fmt"

	"github.com/ta-m365-defender/ta-m365-defender/src/defender"
	"github.com/ta-m365-defender/ta-m365-defender/src/inputs/internal/restpoll"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
)

// Scheme is the input's scheme name.
const Scheme = "m365_defender_alerts"

// Sourcetype is the events' sourcetype (the Splunk Add-on for Microsoft
// Security's name for Defender alerts).
const Sourcetype = "ms:defender:atp:alerts"

// DefaultLookback is how far back the first run starts without start_date.
const DefaultLookback = restpoll.DefaultLookback

// pageSize is the $top of every page: Graph alerts_v2 accepts up to 1000,
// the legacy alerts API up to 10,000; 1000 keeps a repeated page small.
const pageSize = 1000

// Config is one m365_defender_alerts stanza. Its API is "graph"
// (security/alerts_v2) or "legacy" (Defender for Endpoint api/alerts).
type Config struct {
	restpoll.Config
}

// NewConfig reads and validates st.
func NewConfig(st modinput.Stanza) (Config, error) {
	rc, err := restpoll.ReadConfig(st, defender.GraphAlerts, defender.LegacyAlerts)
	c := Config{Config: rc}
	if err != nil {
		return c, err
	}
	return c, c.Validate()
}

// Validate checks c; its errors name the stanza and the parameter. The
// input has no parameters beyond the shared ones.
func (c Config) Validate() error { return c.Config.Validate() }

// source is the events' source.
func (c Config) source() string { return fmt.Sprintf("%s:%s", Scheme, c.Entra.TenantID) }
