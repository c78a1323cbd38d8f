// Package restpoll is what the polling REST inputs (m365_defender_incidents
// and m365_defender_alerts) share: the stanza parameters both read and
// their validation (Config), the list endpoint each value of api reads
// (Config.Collection), the scheme arguments (SchemeArgs), the command
// wiring (Kind), the API client built from the stanza (Connect), the live
// check of --validate-arguments (Check), and the cursor checkpoint that
// moves only after the events it covers were flushed (Resume, Commit).
//
// Errors of package defender are wrapped by WithParam, so that they name the
// stanza and the parameter at fault and keep their error_kind underneath.
// The package holds no state of its own; each input keeps its Config, Run,
// event shapes and checkpoint record (which embeds State).
package restpoll
