// Package alerts is the m365_defender_alerts input: alerts on their own,
// from Microsoft Graph (GET /v1.0/security/alerts_v2) or the legacy Defender
// for Endpoint API (GET /api/alerts?$expand=evidence).
//
// Each launch polls once from the checkpoint to the end and returns (splunkd
// relaunches it every interval). Every alert, with its evidence, is one
// event, sourcetype ms:defender:atp:alerts unless the stanza sets its own
// sourcetype, holding the JSON exactly as
// Microsoft sent it; source is m365_defender_alerts:<tenant_id>; the event
// time is the alert's lastUpdateDateTime (legacy: lastUpdateTime). After
// each page the events are flushed and only then the checkpoint is saved,
// so a crash repeats at most one page and skips nothing.
package alerts
