package simulator

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

const portal = "https://security.microsoft.com"

// fmtTime renders unix ns as Graph's DateTimeOffset (7 fractional digits, Z).
func fmtTime(ns int64) string {
	return time.Unix(0, ns).UTC().Format("2006-01-02T15:04:05.0000000Z")
}

func nullTime(ns int64) any {
	if ns == 0 {
		return nil
	}
	return fmtTime(ns)
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

type graphComment struct {
	Comment              string `json:"comment"`
	CreatedByDisplayName string `json:"createdByDisplayName"`
	CreatedDateTime      string `json:"createdDateTime"`
}

func graphComments(cs []comment) []graphComment {
	out := make([]graphComment, 0, len(cs))
	for _, c := range cs {
		out = append(out, graphComment{c.text, c.by, fmtTime(c.at)})
	}
	return out
}

type graphIncident struct {
	ODataType          string          `json:"@odata.type"`
	ID                 string          `json:"id"`
	TenantID           string          `json:"tenantId"`
	Status             string          `json:"status"`
	IncidentWebURL     string          `json:"incidentWebUrl"`
	RedirectIncidentID any             `json:"redirectIncidentId"`
	DisplayName        string          `json:"displayName"`
	CreatedDateTime    string          `json:"createdDateTime"`
	LastUpdateDateTime string          `json:"lastUpdateDateTime"`
	AssignedTo         any             `json:"assignedTo"`
	Classification     string          `json:"classification"`
	Determination      string          `json:"determination"`
	Severity           string          `json:"severity"`
	CustomTags         []string        `json:"customTags"`
	Comments           []graphComment  `json:"comments"`
	SystemTags         []string        `json:"systemTags"`
	Description        any             `json:"description"`
	LastModifiedBy     any             `json:"lastModifiedBy"`
	ResolvingComment   any             `json:"resolvingComment"`
	Summary            any             `json:"summary"`
	PriorityScore      int             `json:"priorityScore"`
	Alerts             json.RawMessage `json:"alerts,omitempty"`
}

// categoryWords turns "DefenseEvasion" into "Defense evasion".
func categoryWords(c string) string {
	var b strings.Builder
	for i, r := range c {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte(' ')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (d *data) incidentName(inc *incident) string {
	if len(inc.alerts) == 0 {
		return "Incident merged into incident " + strconv.FormatInt(inc.redirect, 10)
	}
	if len(inc.alerts) == 1 {
		return scenarios[d.alerts[inc.alerts[0]].scen].title + " on one endpoint"
	}
	var cats []string
	sources := map[uint8]bool{}
	for _, ai := range inc.alerts {
		sc := &scenarios[d.alerts[ai].scen]
		sources[sc.service] = true
		c := categoryWords(sc.category)
		dup := false
		for _, x := range cats {
			dup = dup || x == c
		}
		if !dup && len(cats) < 2 {
			cats = append(cats, c)
		}
	}
	name := "Multi-stage incident involving " + strings.Join(cats, " & ")
	if len(inc.alerts) > 2 {
		name += " on multiple endpoints"
	} else {
		name += " on one endpoint"
	}
	if len(sources) > 1 {
		name += " reported by multiple sources"
	}
	return name
}

// renderIncident renders incident i as Graph does; alerts is the
// pre-rendered $expand=alerts array or nil.
func (d *data) renderIncident(i int32, includeUnknown bool, alerts json.RawMessage) graphIncident {
	inc := &d.incidents[i]
	id := strconv.FormatInt(inc.num, 10)
	var redirect any
	if inc.redirect != 0 {
		redirect = strconv.FormatInt(inc.redirect, 10)
	}
	tags := inc.customTags
	if tags == nil {
		tags = []string{}
	}
	sys := []string{}
	if inc.status == incAwaitingAction {
		sys = []string{"Defender Experts"}
	}
	var desc any
	if len(inc.alerts) > 1 {
		desc = "Microsoft observed " + strconv.Itoa(len(inc.alerts)) + " related alerts. Review the alerts and their evidence to scope the attack."
	}
	return graphIncident{
		ODataType: "#microsoft.graph.security.incident", ID: id, TenantID: d.tenant,
		Status:         evolvable(incidentStatuses, inc.status, includeUnknown),
		IncidentWebURL: portal + "/incidents/" + id + "?tid=" + d.tenant, RedirectIncidentID: redirect,
		DisplayName: d.incidentName(inc), CreatedDateTime: fmtTime(inc.created), LastUpdateDateTime: fmtTime(inc.updated),
		AssignedTo: nullStr(inc.assignedTo), Classification: classifications[inc.class], Determination: determinations[inc.determ],
		Severity: severities[inc.severity], CustomTags: tags, Comments: graphComments(inc.comments), SystemTags: sys,
		Description: desc, LastModifiedBy: nullStr(inc.lastModifiedBy), ResolvingComment: nullStr(inc.resolvingComment),
		PriorityScore: int(inc.severity)*20 + int(inc.num%17), Alerts: alerts,
	}
}

type graphAlert struct {
	ODataType             string         `json:"@odata.type"`
	ID                    string         `json:"id"`
	ProviderAlertID       string         `json:"providerAlertId"`
	IncidentID            string         `json:"incidentId"`
	Status                string         `json:"status"`
	Severity              string         `json:"severity"`
	Classification        any            `json:"classification"`
	Determination         any            `json:"determination"`
	ServiceSource         string         `json:"serviceSource"`
	DetectionSource       string         `json:"detectionSource"`
	ProductName           string         `json:"productName"`
	DetectorID            string         `json:"detectorId"`
	TenantID              string         `json:"tenantId"`
	Title                 string         `json:"title"`
	Description           string         `json:"description"`
	RecommendedActions    string         `json:"recommendedActions"`
	Category              string         `json:"category"`
	AssignedTo            any            `json:"assignedTo"`
	AlertWebURL           string         `json:"alertWebUrl"`
	IncidentWebURL        string         `json:"incidentWebUrl"`
	ActorDisplayName      any            `json:"actorDisplayName"`
	ThreatDisplayName     any            `json:"threatDisplayName"`
	ThreatFamilyName      any            `json:"threatFamilyName"`
	MitreTechniques       []string       `json:"mitreTechniques"`
	CreatedDateTime       string         `json:"createdDateTime"`
	LastUpdateDateTime    string         `json:"lastUpdateDateTime"`
	ResolvedDateTime      any            `json:"resolvedDateTime"`
	FirstActivityDateTime string         `json:"firstActivityDateTime"`
	LastActivityDateTime  string         `json:"lastActivityDateTime"`
	Comments              []graphComment `json:"comments"`
	Evidence              []obj          `json:"evidence"`
	SystemTags            []string       `json:"systemTags"`
	AlertPolicyID         any            `json:"alertPolicyId"`
	AdditionalData        obj            `json:"additionalData"`
}

var productNames = map[uint8]string{
	svcEndpoint: "Microsoft Defender for Endpoint", svcIdentity: "Microsoft Defender for Identity",
	svcCloudApps: "Microsoft Defender for Cloud Apps", svcOffice: "Microsoft Defender for Office 365",
	svcXDR: "Microsoft Defender XDR", svcAADIP: "Microsoft Entra ID Protection", svcAppGov: "App Governance",
	svcDLP: "Microsoft Data Loss Prevention", svcCloud: "Microsoft Defender for Cloud",
}

// alertActors returns the entities shared by the alerts of incident inc.
func (d *data) alertActors(inc int32) actors {
	return newActors(d.rng(4, uint64(inc)))
}

func (d *data) renderAlert(i int32, includeUnknown bool) graphAlert {
	a := &d.alerts[i]
	sc := &scenarios[a.scen]
	inc := &d.incidents[a.inc]
	incID := strconv.FormatInt(inc.num, 10)
	act := d.alertActors(a.inc)
	r := d.rng(3, uint64(a.gen))
	created := fmtTime(a.created)
	ev := make([]obj, 0, len(sc.evidence))
	for _, k := range sc.evidence {
		ev = append(ev, graphEvidence(k, &act, r, created, sc.severity >= sevHigh))
	}
	var class, determ any
	if a.class != classUnknown || a.status == alertResolved {
		class = classifications[a.class]
	}
	if a.determ != detUnknown || a.status == alertResolved {
		determ = determinations[a.determ]
	}
	mitre := sc.mitre
	if mitre == nil {
		mitre = []string{}
	}
	return graphAlert{
		ODataType: "#microsoft.graph.security.alert", ID: a.id, ProviderAlertID: a.id, IncidentID: incID,
		Status: alertStatuses[a.status], Severity: severities[a.severity], Classification: class, Determination: determ,
		ServiceSource:   evolvable(serviceSources, sc.service, includeUnknown),
		DetectionSource: evolvable(detectionSources, sc.detection, includeUnknown),
		ProductName:     productNames[sc.service], DetectorID: sc.detectorID, TenantID: d.tenant,
		Title: sc.title, Description: sc.description, RecommendedActions: sc.recommended, Category: sc.category,
		AssignedTo:  nullStr(a.assignedTo),
		AlertWebURL: portal + "/alerts/" + a.id + "?tid=" + d.tenant, IncidentWebURL: portal + "/incidents/" + incID + "?tid=" + d.tenant,
		ActorDisplayName: nullStr(sc.actor), ThreatDisplayName: nullStr(sc.threatName), ThreatFamilyName: nullStr(sc.threatFamily),
		MitreTechniques: mitre, CreatedDateTime: created, LastUpdateDateTime: fmtTime(a.updated),
		ResolvedDateTime: nullTime(a.resolved), FirstActivityDateTime: fmtTime(a.first), LastActivityDateTime: fmtTime(a.last),
		Comments: graphComments(a.comments), Evidence: ev, SystemTags: []string{}, AlertPolicyID: nil,
		AdditionalData: obj{},
	}
}

// Legacy Defender XDR incidents API shapes.

type legacyComment struct {
	Comment     string `json:"comment"`
	CreatedBy   string `json:"createdBy"`
	CreatedTime string `json:"createdTime"`
}

type legacyIncident struct {
	IncidentID         int64           `json:"incidentId"`
	IncidentURI        string          `json:"incidentUri"`
	RedirectIncidentID any             `json:"redirectIncidentId"`
	IncidentName       string          `json:"incidentName"`
	CreatedTime        string          `json:"createdTime"`
	LastUpdateTime     string          `json:"lastUpdateTime"`
	AssignedTo         any             `json:"assignedTo"`
	Classification     string          `json:"classification"`
	Determination      string          `json:"determination"`
	Status             string          `json:"status"`
	Severity           string          `json:"severity"`
	Tags               []string        `json:"tags"`
	Comments           []legacyComment `json:"comments"`
	Alerts             []legacyAlert   `json:"alerts"`
}

type legacyDevice struct {
	MdatpDeviceID string   `json:"mdatpDeviceId"`
	AadDeviceID   string   `json:"aadDeviceId"`
	DeviceDNSName string   `json:"deviceDnsName"`
	OsPlatform    string   `json:"osPlatform"`
	Version       string   `json:"version"`
	OsProcessor   string   `json:"osProcessor"`
	OsBuild       int64    `json:"osBuild"`
	HealthStatus  string   `json:"healthStatus"`
	RiskScore     string   `json:"riskScore"`
	RbacGroupName string   `json:"rbacGroupName"`
	RbacGroupID   int64    `json:"rbacGroupId"`
	FirstSeen     string   `json:"firstSeen"`
	Tags          []string `json:"tags"`
}

type legacyAlert struct {
	AlertID            string         `json:"alertId"`
	IncidentID         int64          `json:"incidentId"`
	ServiceSource      string         `json:"serviceSource"`
	CreationTime       string         `json:"creationTime"`
	LastUpdatedTime    string         `json:"lastUpdatedTime"`
	ResolvedTime       any            `json:"resolvedTime"`
	FirstActivity      string         `json:"firstActivity"`
	LastActivity       string         `json:"lastActivity"`
	Title              string         `json:"title"`
	Description        string         `json:"description"`
	Category           string         `json:"category"`
	Status             string         `json:"status"`
	Severity           string         `json:"severity"`
	InvestigationID    any            `json:"investigationId"`
	InvestigationState string         `json:"investigationState"`
	Classification     any            `json:"classification"`
	Determination      any            `json:"determination"`
	DetectionSource    string         `json:"detectionSource"`
	DetectorID         string         `json:"detectorId"`
	AssignedTo         any            `json:"assignedTo"`
	ActorName          any            `json:"actorName"`
	ThreatFamilyName   any            `json:"threatFamilyName"`
	MitreTechniques    []string       `json:"mitreTechniques"`
	Devices            []legacyDevice `json:"devices"`
	Entities           []obj          `json:"entities"`
}

func hasKind(sc *scenario, k int) bool {
	for _, x := range sc.evidence {
		if x == k {
			return true
		}
	}
	return false
}

func (d *data) renderLegacyAlert(i int32) legacyAlert {
	a := &d.alerts[i]
	sc := &scenarios[a.scen]
	inc := &d.incidents[a.inc]
	act := d.alertActors(a.inc)
	created := fmtTime(a.created)
	devices := []legacyDevice{}
	if hasKind(sc, evDevice) {
		devices = append(devices, legacyDevice{MdatpDeviceID: act.mdeDevice, AadDeviceID: act.aadDevice, DeviceDNSName: act.device,
			OsPlatform: act.osPlatform, Version: "22H2", OsProcessor: "x64", OsBuild: act.osBuild, HealthStatus: "Active",
			RiskScore: "Medium", RbacGroupName: act.rbacGroup, RbacGroupID: act.rbacGroupID, FirstSeen: created, Tags: []string{}})
	}
	ents := []obj{}
	for _, k := range sc.evidence {
		if e := legacyEntity(k, &act, created); e != nil {
			ents = append(ents, e)
		}
	}
	var class, determ any
	if a.class != classUnknown || a.status == alertResolved {
		class = pascal(classifications[a.class])
		determ = legacyDetermination(a.determ)
	}
	var inv any
	state := "UnsupportedAlertType"
	if sc.service == svcEndpoint {
		inv = int64(a.gen) + 10000
		state = "PendingApproval"
		if a.status == alertResolved {
			state = "SuccessfullyRemediated"
		}
	}
	mitre := sc.mitre
	if mitre == nil {
		mitre = []string{}
	}
	return legacyAlert{
		AlertID: a.id, IncidentID: inc.num, ServiceSource: legacyServiceSources[sc.service], CreationTime: created,
		LastUpdatedTime: fmtTime(a.updated), ResolvedTime: nullTime(a.resolved), FirstActivity: fmtTime(a.first),
		LastActivity: fmtTime(a.last), Title: sc.title, Description: sc.description, Category: sc.category,
		Status: pascal(alertStatuses[a.status]), Severity: legacySeverity(a.severity), InvestigationID: inv,
		InvestigationState: state, Classification: class, Determination: determ,
		DetectionSource: legacyDetectionSources[sc.detection], DetectorID: sc.detectorID, AssignedTo: nullStr(a.assignedTo),
		ActorName: nullStr(sc.actor), ThreatFamilyName: nullStr(sc.threatFamily), MitreTechniques: mitre,
		Devices: devices, Entities: ents,
	}
}

func (d *data) renderLegacyIncident(i int32) legacyIncident {
	inc := &d.incidents[i]
	var redirect any
	if inc.redirect != 0 {
		redirect = inc.redirect
	}
	tags := inc.customTags
	if tags == nil {
		tags = []string{}
	}
	cs := make([]legacyComment, 0, len(inc.comments))
	for _, c := range inc.comments {
		cs = append(cs, legacyComment{c.text, c.by, fmtTime(c.at)})
	}
	alerts := make([]legacyAlert, 0, len(inc.alerts))
	for _, ai := range inc.alerts {
		alerts = append(alerts, d.renderLegacyAlert(ai))
	}
	id := strconv.FormatInt(inc.num, 10)
	return legacyIncident{
		IncidentID: inc.num, IncidentURI: portal + "/incidents/" + id + "?tid=" + d.tenant, RedirectIncidentID: redirect,
		IncidentName: d.incidentName(inc), CreatedTime: fmtTime(inc.created), LastUpdateTime: fmtTime(inc.updated),
		AssignedTo: nullStr(inc.assignedTo), Classification: pascal(classifications[inc.class]),
		Determination: legacyDetermination(inc.determ), Status: pascal(incidentStatuses[inc.status]),
		Severity: legacySeverity(inc.severity), Tags: tags, Comments: cs, Alerts: alerts,
	}
}

// Legacy Defender for Endpoint alerts API shape.

type mdeAlert struct {
	ID                 string          `json:"id"`
	IncidentID         int64           `json:"incidentId"`
	InvestigationID    any             `json:"investigationId"`
	AssignedTo         any             `json:"assignedTo"`
	Severity           string          `json:"severity"`
	Status             string          `json:"status"`
	Classification     any             `json:"classification"`
	Determination      any             `json:"determination"`
	InvestigationState string          `json:"investigationState"`
	DetectionSource    string          `json:"detectionSource"`
	DetectorID         string          `json:"detectorId"`
	Category           string          `json:"category"`
	ThreatFamilyName   any             `json:"threatFamilyName"`
	ThreatName         any             `json:"threatName"`
	Title              string          `json:"title"`
	Description        string          `json:"description"`
	AlertCreationTime  string          `json:"alertCreationTime"`
	FirstEventTime     string          `json:"firstEventTime"`
	LastEventTime      string          `json:"lastEventTime"`
	LastUpdateTime     string          `json:"lastUpdateTime"`
	ResolvedTime       any             `json:"resolvedTime"`
	MachineID          string          `json:"machineId"`
	ComputerDNSName    string          `json:"computerDnsName"`
	RbacGroupName      string          `json:"rbacGroupName"`
	AadTenantID        string          `json:"aadTenantId"`
	MitreTechniques    []string        `json:"mitreTechniques"`
	RelatedUser        obj             `json:"relatedUser"`
	LoggedOnUsers      []obj           `json:"loggedOnUsers"`
	Comments           []legacyComment `json:"comments"`
	Evidence           []obj           `json:"evidence"`
}

func (d *data) renderMDEAlert(i int32, withEvidence bool) mdeAlert {
	la := d.renderLegacyAlert(i)
	a := &d.alerts[i]
	sc := &scenarios[a.scen]
	act := d.alertActors(a.inc)
	created := fmtTime(a.created)
	ev := []obj{}
	if withEvidence {
		for _, k := range sc.evidence {
			if e := mdeEvidence(k, &act, created); e != nil {
				ev = append(ev, e)
			}
		}
	}
	cs := make([]legacyComment, 0, len(a.comments))
	for _, c := range a.comments {
		cs = append(cs, legacyComment{c.text, c.by, fmtTime(c.at)})
	}
	status := la.Status
	if status == "New" && a.assignedTo != "" {
		status = "InProgress"
	}
	return mdeAlert{
		ID: a.id, IncidentID: la.IncidentID, InvestigationID: la.InvestigationID, AssignedTo: la.AssignedTo,
		Severity: la.Severity, Status: status, Classification: la.Classification, Determination: la.Determination,
		InvestigationState: la.InvestigationState, DetectionSource: la.DetectionSource, DetectorID: la.DetectorID,
		Category: la.Category, ThreatFamilyName: la.ThreatFamilyName, ThreatName: nullStr(sc.threatName), Title: la.Title,
		Description: la.Description, AlertCreationTime: created, FirstEventTime: la.FirstActivity,
		LastEventTime: la.LastActivity, LastUpdateTime: la.LastUpdatedTime, ResolvedTime: la.ResolvedTime,
		MachineID: act.mdeDevice, ComputerDNSName: act.device, RbacGroupName: act.rbacGroup, AadTenantID: d.tenant,
		MitreTechniques: la.MitreTechniques, RelatedUser: obj{"userName": act.user, "domainName": act.domain},
		LoggedOnUsers: []obj{{"accountName": act.user, "domainName": act.domain}}, Comments: cs, Evidence: ev,
	}
}
