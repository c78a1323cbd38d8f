package simulator

import (
	"slices"
	"strconv"
)

func incTime(get func(*incident) int64) func(*data, int32) int64 {
	return func(d *data, i int32) int64 { return get(&d.incidents[i]) }
}

func incStr(get func(*data, *incident) string) func(*data, int32) string {
	return func(d *data, i int32) string { return get(d, &d.incidents[i]) }
}

func alTime(get func(*alert) int64) func(*data, int32) int64 {
	return func(d *data, i int32) int64 { return get(&d.alerts[i]) }
}

func alStr(get func(*data, *alert) string) func(*data, int32) string {
	return func(d *data, i int32) string { return get(d, &d.alerts[i]) }
}

var (
	incUpdated   = field{kind: kindTime, time: incTime(func(x *incident) int64 { return x.updated })}
	incCreated   = field{kind: kindTime, time: incTime(func(x *incident) int64 { return x.created })}
	alertUpdated = field{kind: kindTime, time: alTime(func(x *alert) int64 { return x.updated })}
	alertCreated = field{kind: kindTime, time: alTime(func(x *alert) int64 { return x.created })}
)

func (s *Server) collections() map[string]*collection {
	graphIncidents := &collection{
		path: "/v1.0/security/incidents", typeName: "microsoft.graph.security.incident", context: "security/incidents",
		flavor: flavorGraph, maxTop: 50, defaultTop: 50, expand: []string{"alerts"}, nextLink: true,
		orderFields: map[string]string{"lastUpdateDateTime": "updated", "createdDateTime": "created"},
		fields: map[string]field{
			"lastUpdateDateTime": incUpdated, "createdDateTime": incCreated,
			"id":             {kind: kindString, str: incStr(func(d *data, x *incident) string { return strconv.FormatInt(x.num, 10) })},
			"status":         {kind: kindEnum, str: incStr(func(d *data, x *incident) string { return incidentStatuses[x.status] })},
			"severity":       {kind: kindEnum, str: incStr(func(d *data, x *incident) string { return severities[x.severity] })},
			"classification": {kind: kindEnum, str: incStr(func(d *data, x *incident) string { return classifications[x.class] })},
			"determination":  {kind: kindEnum, str: incStr(func(d *data, x *incident) string { return determinations[x.determ] })},
			"assignedTo":     {kind: kindString, str: incStr(func(d *data, x *incident) string { return x.assignedTo })},
			"displayName":    {kind: kindString, str: incStr(func(d *data, x *incident) string { return d.incidentName(x) })},
		},
	}
	graphAlerts := &collection{
		path: "/v1.0/security/alerts_v2", typeName: "microsoft.graph.security.alert", context: "security/alerts_v2",
		flavor: flavorGraph, alerts: true, maxTop: 1000, defaultTop: 1000, nextLink: true,
		orderFields: map[string]string{"lastUpdateDateTime": "updated", "createdDateTime": "created"},
		fields: map[string]field{
			"lastUpdateDateTime": alertUpdated, "createdDateTime": alertCreated,
			"resolvedDateTime": {kind: kindTime, time: alTime(func(x *alert) int64 { return x.resolved })},
			"id":               {kind: kindString, str: alStr(func(d *data, x *alert) string { return x.id })},
			"providerAlertId":  {kind: kindString, str: alStr(func(d *data, x *alert) string { return x.id })},
			"incidentId":       {kind: kindString, str: alStr(func(d *data, x *alert) string { return strconv.FormatInt(d.incidents[x.inc].num, 10) })},
			"status":           {kind: kindEnum, str: alStr(func(d *data, x *alert) string { return alertStatuses[x.status] })},
			"severity":         {kind: kindEnum, str: alStr(func(d *data, x *alert) string { return severities[x.severity] })},
			"classification":   {kind: kindEnum, str: alStr(func(d *data, x *alert) string { return classifications[x.class] })},
			"determination":    {kind: kindEnum, str: alStr(func(d *data, x *alert) string { return determinations[x.determ] })},
			"assignedTo":       {kind: kindString, str: alStr(func(d *data, x *alert) string { return x.assignedTo })},
			"serviceSource":    {kind: kindEnum, str: alStr(func(d *data, x *alert) string { return serviceSources[scenarios[x.scen].service] })},
			"detectionSource":  {kind: kindEnum, str: alStr(func(d *data, x *alert) string { return detectionSources[scenarios[x.scen].detection] })},
			"category":         {kind: kindString, str: alStr(func(d *data, x *alert) string { return scenarios[x.scen].category })},
			"title":            {kind: kindString, str: alStr(func(d *data, x *alert) string { return scenarios[x.scen].title })},
		},
	}
	legacyIncidents := &collection{
		path: "/api/incidents", typeName: "Microsoft.Windows.Defender.ApiGateway.Contracts.Incident", context: "Incidents",
		flavor: flavorLegacy, maxTop: 100, defaultTop: 100, nextLink: true,
		orderFields: map[string]string{"lastUpdateTime": "updated", "createdTime": "created"},
		fields: map[string]field{
			"lastUpdateTime": incUpdated, "createdTime": incCreated,
			"incidentId": {kind: kindInt, str: incStr(func(d *data, x *incident) string { return strconv.FormatInt(x.num, 10) })},
			"status":     {kind: kindEnum, str: incStr(func(d *data, x *incident) string { return pascal(incidentStatuses[x.status]) })},
			"assignedTo": {kind: kindString, str: incStr(func(d *data, x *incident) string { return x.assignedTo })},
		},
	}
	mdeAlerts := &collection{
		path: "/api/alerts", typeName: "Microsoft.WindowsDefenderATP.Api.Alert", context: "Alerts",
		flavor: flavorLegacy, alerts: true, endpoint: true, maxTop: 10000, defaultTop: 10000, nextLink: s.opts.LegacyAlertsNextLink,
		expand:      []string{"evidence"},
		orderFields: map[string]string{"lastUpdateTime": "updated", "alertCreationTime": "created"},
		fields: map[string]field{
			"lastUpdateTime": alertUpdated, "alertCreationTime": alertCreated,
			"lastEventTime":   {kind: kindTime, time: alTime(func(x *alert) int64 { return x.last })},
			"firstEventTime":  {kind: kindTime, time: alTime(func(x *alert) int64 { return x.first })},
			"id":              {kind: kindString, str: alStr(func(d *data, x *alert) string { return x.id })},
			"incidentId":      {kind: kindInt, str: alStr(func(d *data, x *alert) string { return strconv.FormatInt(d.incidents[x.inc].num, 10) })},
			"investigationId": {kind: kindInt, str: alStr(func(d *data, x *alert) string { return strconv.FormatInt(int64(x.gen)+10000, 10) })},
			"status":          {kind: kindEnum, str: alStr(func(d *data, x *alert) string { return pascal(alertStatuses[x.status]) })},
			"severity":        {kind: kindEnum, str: alStr(func(d *data, x *alert) string { return legacySeverity(x.severity) })},
			"assignedTo":      {kind: kindString, str: alStr(func(d *data, x *alert) string { return x.assignedTo })},
			"detectionSource": {kind: kindEnum, str: alStr(func(d *data, x *alert) string { return legacyDetectionSources[scenarios[x.scen].detection] })},
			"category":        {kind: kindString, str: alStr(func(d *data, x *alert) string { return scenarios[x.scen].category })},
		},
	}
	return map[string]*collection{"graphIncidents": graphIncidents, "graphAlerts": graphAlerts,
		"legacyIncidents": legacyIncidents, "mdeAlerts": mdeAlerts}
}

// pageResult is one page of a list.
type pageResult struct {
	items []int32
	next  *pageToken
	count int
}

// page runs q on c.
func (d *data) page(c *collection, q *query, mode PagingMode) pageResult {
	var key func(int32) int64
	var ix []int32
	var kf field
	if c.alerts {
		kf = alertCreated
		if q.orderBy == "updated" {
			kf, ix = alertUpdated, d.alertByUpd
		} else {
			ix = d.alertByCreated
		}
	} else {
		kf = incCreated
		if q.orderBy == "updated" {
			kf, ix = incUpdated, d.incByUpd
		} else {
			ix = d.incByCreated
		}
	}
	key = func(i int32) int64 { return kf.time(d, i) }
	desc := q.desc || q.orderBy == ""
	conj := q.filter.conjuncts(nil)
	// A filter on one incident's alerts: scan only them.
	if c.alerts {
		for _, n := range conj {
			if n.field == "incidentId" && n.op == "eq" && !n.null {
				num, err := strconv.ParseInt(n.s, 10, 64)
				idx := num - incidentIDBase
				if err != nil || idx < 0 || idx >= int64(len(d.incidents)) {
					ix = nil
				} else {
					ix = slices.Clone(d.incidents[idx].alerts)
					slices.SortFunc(ix, func(a, b int32) int {
						if c := cmpInt64(key(a), key(b)); c != 0 {
							return c
						}
						return int(a - b)
					})
				}
				break
			}
		}
	}
	// Bounds on the sort key from top-level comparisons.
	const minT, maxT = -1 << 63, 1<<63 - 1
	lo, hi := int64(minT), int64(maxT)
	orderName := ""
	for name, o := range c.orderFields {
		if o == q.orderBy || (q.orderBy == "" && o == "created") {
			orderName = name
		}
	}
	for _, n := range conj {
		if n.field != orderName || n.null {
			continue
		}
		switch n.op {
		case "ge", "eq":
			lo = max(lo, n.t)
		case "gt":
			lo = max(lo, n.t+1)
		}
		switch n.op {
		case "le", "eq":
			hi = min(hi, n.t)
		case "lt":
			hi = min(hi, n.t-1)
		}
	}
	match := func(i int32) bool {
		if c.endpoint && scenarios[d.alerts[i].scen].service != svcEndpoint {
			return false
		}
		return q.filter == nil || q.filter.eval(d, i)
	}
	// first position with key >= (t, i)
	search := func(t int64, i int32) int { return searchIndex(ix, t, i, key) }
	var start, step int
	if !desc {
		start, step = search(lo, -1<<31), 1
		if q.token != nil && !q.token.offset {
			start = max(start, search(q.token.t, q.token.i+1))
		}
	} else {
		start, step = -1, -1
		if hi != maxT {
			start = search(hi+1, -1<<31) - 1
		} else {
			start = len(ix) - 1
		}
		if q.token != nil && !q.token.offset {
			start = min(start, search(q.token.t, q.token.i)-1)
		}
	}
	skip := q.skip
	if q.token != nil && q.token.offset {
		skip = q.token.n
	}
	var res pageResult
	if q.top == 0 {
		start = -1 // $top=0: no objects (a $count may still be asked for)
	}
	for p := start; p >= 0 && p < len(ix); p += step {
		i := ix[p]
		k := key(i)
		if (!desc && k > hi) || (desc && k < lo) {
			break
		}
		if !match(i) {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		if len(res.items) == q.top {
			if mode == PagingOffset || (q.token != nil && q.token.offset) {
				n := q.skip + len(res.items)
				if q.token != nil {
					n = q.token.n + len(res.items)
				}
				res.next = &pageToken{offset: true, n: n}
			} else {
				last := res.items[len(res.items)-1]
				res.next = &pageToken{t: key(last), i: last}
			}
			break
		}
		res.items = append(res.items, i)
	}
	if q.count {
		for _, i := range ix {
			if match(i) {
				res.count++
			}
		}
	}
	return res
}
