// Package actions implements the add-on's modular alert actions, m365_defender_update_incident and
// m365_defender_update_alert, which write back to Microsoft Defender XDR through Microsoft Graph.
//
// splunkd runs an action as "<launcher> --execute" with a JSON payload on stdin (alert_actions.conf:
// payload_format = json):
//
//	{"app":"search","owner":"admin","server_uri":"https://127.0.0.1:8089","session_key":"…",
//	 "sid":"scheduler__…","search_name":"…","results_file":"…/results.csv.gz",
//	 "configuration":{"input":"prod","status":"resolved","comment":"…"},
//	 "result":{"incidentId":"2972395", …}}
//
// configuration holds the action's param.* settings (without the "param." prefix), result the first
// search result, and results_file a gzip-compressed CSV of every result; Execute reads every row of it.
//
// For each result the action takes the target id from the row (incident action: incidentId,
// m365_incident_id, incident_id, then id; alert action: alertId, m365_alert_id, alert_id, then id;
// multivalue fields give several ids), or uses the ids of the
// incident_id / alert_id parameter instead of the rows. Every id is updated once: PATCH
// security/incidents/{id} or security/alerts_v2/{id} with the parameters that are set, then, when the
// comment parameter is set, POST …/comments. Values are validated and canonicalised before any call
// (defender.Canonical*), so a typo in a parameter fails the whole action with a message naming it.
// When the ids come from the rows, a row's m365_status, m365_assigned_to, m365_classification,
// m365_determination and m365_comment fields replace those parameters for its own target
// (Config.ForRow); they are checked per row, and a bad one fails only that row's target with a
// *RowError naming the row, the id and the field.
//
// Credentials come from the m365_defender_incidents (or m365_defender_alerts) input named by the input
// parameter: its tenant_id, client_id, environment, login_url, api_url, proxy_url, ca_file and
// client_certificate from splunkd's data/inputs endpoint, and its client secret from storage/passwords,
// with the session key of the payload.
//
// One failed id does not stop the others. Every outcome is logged on stderr (splunkd files it in
// splunkd.log under component sendmodalert) with action=, target=, id= and outcome=updated|failed; the
// run fails (Execute returns a *RunError, the process exits non-zero) when any id failed.
//
// For Enterprise Security's Incident Review, every outcome is also an adaptive response event
// (index cim_modactions, sourcetype modular_alerts:<action>), spooled as cim_actions does it; see
// cam.go. Not being able to spool them is one WARN line, never a failure of the run.
package actions
