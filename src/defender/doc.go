// Package defender is the client for the Microsoft APIs the add-on reads:
// Microsoft Graph security (incidents and alerts_v2), the legacy Defender XDR
// incidents API (api.security.microsoft.com) and the legacy Defender for
// Endpoint alerts API (api.securitycenter.microsoft.com), in every Microsoft
// cloud (commercial, GCC, GCC High, DoD).
//
// It covers:
//
//   - cloud endpoints and token scopes (cloud.go, collection.go);
//   - OAuth 2.0 client credentials (RFC 6749 section 4.4) against Entra ID, with
//     a client secret or a certificate client assertion (RFC 7523), tokens
//     cached until shortly before expiry (credentials.go, assertion.go);
//   - an authenticated request helper with retries: 429 honours Retry-After
//     (seconds or HTTP date, or the legacy APIs' throttling message) in full,
//     at the API and at the token endpoint, up to RetryPolicy.MaxRetryAfter
//     (default 1 hour; a longer wait fails the request with a
//     *RetryAfterError, so the poll stops and keeps its checkpoint), 5xx and
//     network errors back off exponentially
//     with jitter, 401 refreshes the token once, 403 becomes a
//     *PermissionError naming the permission the API wants (client.go,
//     retry.go);
//   - typed errors carrying Microsoft's facts: *AuthError (AADSTS code and
//     description), *APIError (status, code, message, request id),
//     *NetworkError (errors.go);
//   - OData pages decoded as a stream: each object of the "value" array is
//     handed over as the raw bytes Microsoft sent (page.go, object.go);
//   - a cursor poller over lastUpdateDateTime with de-duplication
//     (cursor.go, poll.go).
//
// # Paging by cursor
//
// Microsoft documents @odata.nextLink for paging, but a $skip-based nextLink
// skips objects whose position moves while a client pages (an incident updated
// mid-run moves to the end of a lastUpdateDateTime-ordered list, and the
// object behind it slides into the page already read). The Poller therefore
// builds every page request from its own cursor:
//
//	$filter=lastUpdateDateTime ge <cursor>&$orderby=lastUpdateDateTime asc&$top=N
//
// and skips the objects it already wrote at exactly the cursor time. It follows
// @odata.nextLink only where the cursor cannot advance: when a whole page
// shares the cursor's timestamp (or, where the API gives no link, it skips
// the objects of that cluster already written). Objects updated while a
// poll runs come back with a newer timestamp and are written again, once
// per change. A Graph page that is not in ascending order stops the poll
// with an *OrderError rather than letting the cursor skip what it has not
// seen.
//
// # Legacy APIs that ignore $orderby
//
// Microsoft documents only $filter, $top and $skip for the legacy
// api/incidents and api/alerts. If such an API ignores $orderby and sends
// the newest first, a cursor poll would skip everything older than the
// first object, so for the legacy collections the Poller checks the order
// before it writes anything: when the first object of a request from the
// cursor is newer than the cursor, it asks for one object in between
// ($filter=<time> ge <cursor> and <time> lt <that object's time>, $top=1);
// if there is one, or a page shows a newer object before an older one,
// the rest of the poll runs in window mode (window.go). Two distinct times
// in ascending order confirm the order and end the checks for the poll.
//
// Window mode reads the filter window in time slices, [start, start+slice)
// with "ge" and "lt" (the last slice has no upper bound). Each slice is
// paged completely by $skip, with consecutive pages overlapping by a tenth
// of a page: the last object of a page must come again in the next, or
// else an object left the slice while it was paged (an update moves it
// past the slice, and the rest slide towards the front) and the slice is
// read again (at most 3 times, then the poll fails keeping its
// checkpoint). Objects updated meanwhile reappear in the last slice or the
// next poll, once per change. A slice is held in memory, at most 5,000
// objects or 16 MB: a fuller one is halved (down to one second, else the
// poll fails), a sparse one doubles the next (from one day, up to 32
// days). The slice's objects are then handed over oldest first, and the
// cursor is committed after every $top objects, as in the normal poll, so
// a crash repeats at most one batch. The objects a page handed over
// before the order was found out move the cursor in window mode but are
// not handed again.
//
// The package imports no other package of the project; the inputs build on
// it, and so do the alert actions (Client.Do, Client.DoJSON).
package defender
