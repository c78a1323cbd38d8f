// Package simulator is a loopback fake of the Microsoft endpoints the add-on
// talks to: the Entra ID (Azure AD) v2.0 token endpoint, Microsoft Graph
// security incidents and alerts_v2, the legacy Defender XDR incidents API and
// the legacy Defender for Endpoint alerts API. It is modelled on
// net/http/httptest.Server: tests and the demo start it in-process, point an
// input's login_url and api_url at Server.URL, and inspect what happened with
// Server.Stats and Server.Requests. Only tests and the demo import it.
//
// # Starting
//
//	s := simulator.New(simulator.Options{Incidents: 500, AlertsPerIncident: 2, Seed: 1})
//	defer s.Close()
//	// s.URL is one base for login, Graph and legacy, e.g. http://127.0.0.1:41234
//	// s.TenantID, s.ClientID, s.ClientSecret are valid credentials with every role.
//
// NewTLS starts an https server instead; its self-signed certificate is
// trusted by s.Client() and available as s.CertPool() / s.Certificate().
// Listen starts one on a chosen loopback address (the demo's -serve mode).
// Options.Roles sets the default client's application roles.
//
// # Endpoints (all under Server.URL)
//
//	POST  /{tenant}/oauth2/v2.0/token                 client credentials (secret or certificate assertion)
//	GET   /v1.0/security/incidents                    $filter $orderby $top(≤50) $skip $count $expand=alerts $skiptoken
//	GET   /v1.0/security/incidents/{id}               $expand=alerts
//	PATCH /v1.0/security/incidents/{id}               status assignedTo classification determination customTags
//	POST  /v1.0/security/incidents/{id}/comments      {"comment":"…"} → 200 with the whole comment list
//	GET   /v1.0/security/alerts_v2                    $filter $orderby $top(≤1000) $skip $count $skiptoken
//	GET   /v1.0/security/alerts_v2/{id}
//	PATCH /v1.0/security/alerts_v2/{id}               status assignedTo classification determination
//	POST  /v1.0/security/alerts_v2/{id}/comments
//	GET   /api/incidents                              legacy Defender XDR: $filter on lastUpdateTime/createdTime/status/assignedTo, $top(≤100), $skip
//	GET   /api/incidents/{id}
//	GET   /api/alerts                                 legacy Defender for Endpoint: $filter on lastUpdateTime/alertCreationTime/incidentId/status/severity, $top(≤10000), $skip, $expand=evidence
//	GET   /api/alerts/{id}
//	PATCH /api/incidents/{id}, /api/alerts/{id}       legacy updates (PascalCase enums, tags, comment)
//
// Graph lists answer {"@odata.context":…, "@odata.nextLink":…, "value":[…]}
// (the link before the value, as Graph writes it); the legacy APIs put
// "@odata.nextLink" after "value". "@odata.count" comes with $count=true.
// The nextLink is absolute (built from the request's Host) and carries an
// opaque $skiptoken; follow it verbatim. By default the skiptoken is a keyset
// position (the sort key of the last object returned), so an object updated
// while a client pages simply reappears later and nothing unchanged is
// skipped. Options.Paging = PagingOffset makes the token an offset instead, as
// a $skip-based server would, which can skip objects that move during paging.
// The legacy incidents API returns a nextLink too; the legacy alerts API does
// not (observed Microsoft behaviour: clients page by time or $skip) unless
// Options.LegacyAlertsNextLink is set.
//
// Without $orderby, Graph and legacy lists are newest-created first.
// $orderby accepts lastUpdateDateTime and createdDateTime (legacy:
// lastUpdateTime, createdTime / alertCreationTime) with asc or desc.
// $filter accepts comparisons (eq ne gt ge lt le) combined with and, or,
// not and parentheses. Time properties take unquoted DateTimeOffset
// literals (a quoted string is refused with Graph's incompatible-types
// error); strings and enums take quoted literals (enums compare
// case-insensitively); legacy ids are numbers; "eq null" works. Filterable:
//
//	incidents   lastUpdateDateTime createdDateTime id status severity classification determination assignedTo displayName
//	alerts_v2   lastUpdateDateTime createdDateTime resolvedDateTime id providerAlertId incidentId status severity
//	            classification determination assignedTo serviceSource detectionSource category title
//	api/incidents  lastUpdateTime createdTime incidentId status assignedTo
//	api/alerts     lastUpdateTime alertCreationTime lastEventTime firstEventTime id incidentId investigationId
//	               status severity assignedTo detectionSource category
//
// Unknown properties, unknown or repeated $ options, bad literals and bad
// syntax get a 400 with an OData error body. Options without a $ are
// ignored, as Graph ignores them; $select keeps the named properties.
//
// # Errors
//
// Error bodies follow Microsoft's shapes: the token endpoint answers
// {"error","error_description":"AADSTS…: …\r\nTrace ID: …","error_codes":[…],
// "timestamp","trace_id","correlation_id","error_uri"}; Graph answers
// {"error":{"code","message","innerError":{"date","request-id","client-request-id"}}};
// the legacy APIs answer {"error":{"code","message","target"}}.
//
//	wrong client secret           401 invalid_client        AADSTS7000215
//	expired secret (ExpireSecret) 401 invalid_client        AADSTS7000222
//	no secret and no assertion    401 invalid_client        AADSTS7000218
//	unknown tenant                400 invalid_request       AADSTS90002
//	unknown client id             400 unauthorized_client   AADSTS700016
//	scope without /.default       400 invalid_scope         AADSTS1002012
//	unknown resource in scope     400 invalid_resource      AADSTS500011
//	bad client assertion          401 invalid_client        AADSTS700027 / AADSTS700024
//	missing or expired token      401 InvalidAuthenticationToken (legacy: Unauthorized)
//	token for another API         401 InvalidAuthenticationToken "Invalid audience"
//	missing role                  403 Forbidden naming the roles the API wants
//	Graph $top > 50 (incidents)   400 "The limit of '50' for Top query has been exceeded. …"
//
// Accepted scopes: any known Graph or Defender resource of every cloud
// (https://graph.microsoft.com/.default, https://api.security.microsoft.com/.default,
// https://api.securitycenter.microsoft.com/.default, the .us ones …) or
// Server.URL + "/.default". A token for a Graph resource works on /v1.0, a
// token for a Defender resource on /api; Server.URL tokens work on both.
//
// # Faults
//
// Throttle, ThrottleHTTPDate, ThrottleLegacyQuota, FailNext, DropNext and
// DelayNext arm faults for the next n API calls, in the order armed (token requests are not counted;
// FailTokens arms token endpoint faults):
//
//	s.Throttle(2, 3*time.Second)         // 429, Retry-After: 3, {"error":{"code":"TooManyRequests",…}}
//	s.ThrottleHTTPDate(1, 30*time.Second) // 429, Retry-After: <HTTP date>
//	s.ThrottleLegacyQuota(1, time.Minute) // 429, no Retry-After, {"code":"429","message":"API calls quota exceeded! maximum allowed 45 per 00:01:00"}
//	s.FailNext(1, 503)                    // 503 ServiceUnavailable body (500/502/504 likewise)
//	s.DropNext(1)                         // 200 headers, then the connection closes mid-body
//	s.DelayNext(1, 30*time.Second)        // answered normally, 30 s late (client timeouts)
//	s.FailExpand(-1)                      // every incidents request with $expand=alerts: 500, until FailExpand(0)
//	s.FailTokens(1, 503)                  // token endpoint: 503 with an AADSTS body
//	s.ExpireTokens()                      // every token issued so far: 401 "Lifetime validation failed, the token is expired."
//	s.SetTokenLifetime(time.Second)       // expires_in of the next tokens (and they do expire)
//	s.SetRoles(s.ClientID, simulator.RoleSecurityAlertRead) // next tokens lack SecurityIncident.*: 403
//	s.SetRateLimit(50, time.Minute)      // throttle on its own past 50 calls a minute (429 until the window ends)
//
// Legacy APIs answer 429 with a body saying when calls may resume
// ("… Next call available in N seconds."; the legacy docs describe such a
// body, the wording is the simulator's).
//
// # Observing
//
// Stats counts requests per "METHOD /path/{id}", token requests, statuses,
// injected faults and objects served; Requests keeps the last 4096
// requests (query and headers, Authorization removed), e.g. to check that a
// client sent Prefer: include-unknown-enum-members or $top=50. Snapshot
// lists every object's id and current lastUpdateDateTime: what a complete
// collection must hold. Totals counts them; IncidentIDs, AlertIDs,
// Incident and Alert look objects up.
//
// # Data
//
// Objects are deterministic functions of Options.Seed and their index
// (ids: incidents from 2972000 up in creation order; alerts
// "da<ticks>_<n>"-style with a per-product prefix),
// rendered on demand from a compact per-object state, so 20,000 incidents
// with their 39,000 alerts hold about 12 MiB. Shapes follow Microsoft's documented
// examples: incidents, alerts_v2 with every evidence type
// (microsoft.graph.security.*Evidence), legacy incidents with alerts and
// entities, and legacy Defender for Endpoint alerts with evidence.
// Options.SameTimeBatch makes consecutive incidents share one
// lastUpdateDateTime so that page boundaries split equal timestamps.
// Every 37th incident is redirected (merged) into the previous one and has
// no alerts. Times have Microsoft's 100 ns resolution, so a rendered time
// used in a filter matches the stored one exactly. Enum members newer than
// unknownFutureValue (incident status awaitingAction, serviceSource
// microsoftDefenderForCloud, the Defender for Cloud detectionSources) are
// rendered as "unknownFutureValue" unless the request has
// Prefer: include-unknown-enum-members, as Graph does. EvidenceTypes lists
// every evidence @odata.type emitted (the v1.0 list plus dnsEvidence, a
// type a client must keep although it does not know it).
//
// AddIncident, UpdateIncident and UpdateAlert change the data while clients
// poll; updated objects get a lastUpdateDateTime at or after every existing
// one (never equal to their previous one). UpdateIncident changes only the
// incident; UpdateAlert bumps the alert and its incident. A PATCH or comment
// bumps the object the same way.
//
// Credentials: client_secret in the form or as HTTP Basic
// (client_secret_basic), or a client_assertion signed by a certificate
// registered with AddClientCertificate or made by NewClientCertificate.
//
// Every Server method is safe for concurrent use.
package simulator
