// Package incidents is the m365_defender_incidents input: Microsoft Defender
// XDR incidents with their alerts and evidence, from Microsoft Graph
// (GET /v1.0/security/incidents?$expand=alerts) or the legacy Defender XDR
// API (GET /api/incidents).
//
// Each launch polls once from the checkpoint to the end and returns (splunkd
// relaunches it every interval). Every incident is written as one event,
// sourcetype ms365:defender:incident, holding the incident JSON exactly as
// Microsoft sent it minus its "alerts" array; every alert follows as its own
// event, sourcetype ms365:defender:incident:alerts, with its evidence. Source
// is m365_defender_incidents:<tenant_id>; the event time is the object's
// lastUpdateDateTime (legacy: lastUpdateTime, lastUpdatedTime for alerts).
//
// An incident or alert that changes later (a new lastUpdateDateTime) is
// written again, once per change. When a poll resumes from a checkpoint, an
// alert that comes with a changed incident is written only if its own
// lastUpdateDateTime (legacy lastUpdatedTime or lastUpdateTime) is not
// covered by the cursor the poll started from: an older alert was written
// when it changed, because an alert change moves its incident's update
// time. A first run (no checkpoint) writes every alert it reads; an alert
// without a time of its own is always written. The same holds for alerts
// read per incident (the $expand fallback below).
//
// After each page the events are flushed to splunkd and only then the
// checkpoint (highest lastUpdateDateTime written plus the ids written at that
// time) is saved, so a crash repeats at most one page and skips nothing.
// When $expand=alerts keeps failing with 5xx (it does on large tenants), the
// input pages incidents without $expand and reads each incident's alerts
// from alerts_v2?$filter=incidentId eq '<id>' instead of stalling.
package incidents
