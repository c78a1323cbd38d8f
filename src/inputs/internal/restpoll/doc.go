// Package restpoll is what the polling REST inputs (m365_defender_incidents
// and m365_defender_alerts) share: the stanza parameters both read (Config),
// the API client built from them (Connect), the live check of
// --validate-arguments (Check), and the cursor checkpoint that moves only
// after the events it covers were flushed (Resume, Commit).
//
// Errors of package defender are wrapped by WithParam, so that they name the
// stanza and the parameter at fault and keep their error_kind underneath.
// The package holds no state of its own; each input keeps its Config, Run
// and checkpoint record.
package restpoll
