package simulator

import "strings"

// Enum members are stored as indexes into these tables (Graph spelling).

const (
	incActive uint8 = iota
	incResolved
	incInProgress
	incRedirected
	incUnknownFuture
	incAwaitingAction
)

var incidentStatuses = []string{"active", "resolved", "inProgress", "redirected", "unknownFutureValue", "awaitingAction"}

const (
	alertUnknown uint8 = iota
	alertNew
	alertInProgress
	alertResolved
)

var alertStatuses = []string{"unknown", "new", "inProgress", "resolved", "unknownFutureValue"}

const (
	sevUnknown uint8 = iota
	sevInformational
	sevLow
	sevMedium
	sevHigh
)

var severities = []string{"unknown", "informational", "low", "medium", "high", "unknownFutureValue"}

const (
	classUnknown uint8 = iota
	classFalsePositive
	classTruePositive
	classInformational
)

var classifications = []string{"unknown", "falsePositive", "truePositive", "informationalExpectedActivity", "unknownFutureValue"}

const (
	detUnknown uint8 = iota
	detApt
	detMalware
	detSecurityPersonnel
	detSecurityTesting
	detUnwantedSoftware
	detOther
	detMultiStagedAttack
	detCompromisedUser
	detPhishing
	detMaliciousUserActivity
	detClean
	detInsufficientData
	detConfirmedUserActivity
	detLineOfBusinessApplication
)

// determinations lists the alertDetermination members; the names after
// unknownFutureValue appear on other Graph pages and are accepted too.
var determinations = []string{"unknown", "apt", "malware", "securityPersonnel", "securityTesting", "unwantedSoftware", "other",
	"multiStagedAttack", "compromisedUser", "phishing", "maliciousUserActivity", "clean", "insufficientData",
	"confirmedUserActivity", "lineOfBusinessApplication", "unknownFutureValue",
	"notMalicious", "notEnoughDataToValidate", "compromisedAccount", "confirmedActivity"}

const (
	svcEndpoint uint8 = iota + 1
	svcIdentity
	svcCloudApps
	svcOffice
	svcXDR
	svcAADIP
	svcAppGov
	svcDLP
	svcUnknownFuture
	svcCloud
)

var serviceSources = []string{"unknown", "microsoftDefenderForEndpoint", "microsoftDefenderForIdentity",
	"microsoftDefenderForCloudApps", "microsoftDefenderForOffice365", "microsoft365Defender", "azureAdIdentityProtection",
	"microsoftAppGovernance", "dataLossPrevention", "unknownFutureValue", "microsoftDefenderForCloud"}

// legacyServiceSources are the legacy incidents API names, by serviceSources index.
var legacyServiceSources = []string{"Unknown", "MicrosoftDefenderATP", "AzureATP", "MicrosoftCloudAppSecurity", "OfficeATP",
	"Microsoft365Defender", "AADIdentityProtection", "AppGovernance", "DataLossPrevention", "Unknown", "MicrosoftDefenderForCloud"}

const (
	detsrcUnknown uint8 = iota
	detsrcEndpoint
	detsrcAntivirus
	detsrcSmartScreen
	detsrcCustomTi
	detsrcOffice
	detsrcAutomatedInvestigation
	detsrcThreatExperts
	detsrcCustomDetection
	detsrcIdentity
	detsrcCloudAppSecurity
	detsrcXDR
	detsrcAADIP
	detsrcManual
	detsrcDLP
	detsrcAppGovPolicy
	detsrcAppGovDetection
	detsrcUnknownFuture
	detsrcCloud
	detsrcIoT
	detsrcServers
	detsrcStorage
	detsrcDNS
	detsrcDatabases
	detsrcContainers
)

var detectionSources = []string{"unknown", "microsoftDefenderForEndpoint", "antivirus", "smartScreen", "customTi",
	"microsoftDefenderForOffice365", "automatedInvestigation", "microsoftThreatExperts", "customDetection",
	"microsoftDefenderForIdentity", "cloudAppSecurity", "microsoft365Defender", "azureAdIdentityProtection", "manual",
	"microsoftDataLossPrevention", "appGovernancePolicy", "appGovernanceDetection", "unknownFutureValue",
	"microsoftDefenderForCloud", "microsoftDefenderForIoT", "microsoftDefenderForServers", "microsoftDefenderForStorage",
	"microsoftDefenderForDNS", "microsoftDefenderForDatabases", "microsoftDefenderForContainers"}

// legacyDetectionSources are the legacy API names, by detectionSources index.
var legacyDetectionSources = []string{"Unknown", "WindowsDefenderAtp", "WindowsDefenderAv", "WindowsDefenderSmartScreen",
	"CustomerTI", "OfficeATP", "AutomatedInvestigation", "ThreatExperts", "CustomDetection", "AzureATP", "MCAS",
	"Microsoft365Defender", "AADIdentityProtection", "Manual", "MicrosoftDataLossPrevention", "AppGovernancePolicy",
	"AppGovernanceDetection", "Unknown", "MicrosoftDefenderForCloud", "MicrosoftDefenderForIoT",
	"MicrosoftDefenderForServers", "MicrosoftDefenderForStorage", "MicrosoftDefenderForDNS",
	"MicrosoftDefenderForDatabases", "MicrosoftDefenderForContainers"}

// evolvable renders member i of table, replacing members after
// unknownFutureValue with "unknownFutureValue" unless the client sent
// Prefer: include-unknown-enum-members.
func evolvable(table []string, i uint8, includeUnknown bool) string {
	if int(i) >= len(table) {
		return "unknownFutureValue"
	}
	if !includeUnknown {
		for j, v := range table {
			if v == "unknownFutureValue" && int(i) > j {
				return "unknownFutureValue"
			}
		}
	}
	return table[i]
}

// lookupEnum finds v (case-insensitive) in table.
func lookupEnum(table []string, v string) (uint8, bool) {
	for i, m := range table {
		if strings.EqualFold(m, v) {
			return uint8(i), true
		}
	}
	return 0, false
}

// pascal turns a Graph camelCase member into the legacy PascalCase one.
func pascal(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// legacySeverity renders a severity as the legacy APIs do.
func legacySeverity(i uint8) string {
	if i == sevUnknown {
		return "UnSpecified"
	}
	return pascal(severities[i])
}

// legacyDetermination renders a determination as the legacy APIs do.
func legacyDetermination(i uint8) string {
	if i == detUnknown {
		return "NotAvailable"
	}
	return pascal(determinations[i])
}
