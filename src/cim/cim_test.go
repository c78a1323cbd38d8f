package cim

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// repoRoot is the app's source tree, two levels up from src/cim.
const repoRoot = "../.."

const tenant = "b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c"

// dataset is a CIM data model data set: the tags its constraint searches for
// and the fields the add-on is expected to fill for it.
type dataset struct {
	tags   []string
	fields []string
}

// datasets lists the CIM data sets the add-on maps to, with the tags of their
// constraints (CIM 5.x) and the fields checked on every event in them.
var datasets = map[string]dataset{
	"Alerts": {tags: []string{"alert"}, fields: []string{
		"app", "description", "dest", "id", "mitre_technique_id", "severity", "severity_id", "signature",
		"signature_id", "src", "src_user", "type", "user", "vendor_account", "vendor", "product", "vendor_product", "url"}},
	"Ticket_Management.Incident": {tags: []string{"ticketing", "incident"}, fields: []string{
		"ticket_id", "description", "status", "priority", "severity", "severity_id", "time_submitted", "user",
		"src_user", "dest", "comments", "vendor_product"}},
	"Endpoint.Processes": {tags: []string{"process", "report"}, fields: []string{
		"action", "dest", "original_file_name", "parent_process", "parent_process_exec", "parent_process_id",
		"parent_process_name", "parent_process_path", "process", "process_exec", "process_hash", "process_id",
		"process_integrity_level", "process_name", "process_path", "user", "user_id", "vendor_product",
		"os", "process_guid", "parent_process_guid", "process_current_directory", "cpu_load_percent", "mem_used"}},
	"Endpoint.Filesystem": {tags: []string{"endpoint", "filesystem"}, fields: []string{
		"action", "dest", "file_hash", "file_name", "file_path", "file_size", "process_id", "process_name", "user",
		"vendor_product", "file_access_time", "file_acl", "file_create_time", "file_modify_time", "process_guid"}},
	"Endpoint.Registry": {tags: []string{"endpoint", "registry"}, fields: []string{
		"action", "dest", "process_id", "process_name", "registry_hive", "registry_key_name", "registry_path",
		"registry_value_data", "registry_value_name", "registry_value_type", "status", "user", "vendor_product",
		"process_guid", "registry_value_text"}},
	"Endpoint.Ports": {tags: []string{"listening", "port"}, fields: []string{
		"creation_time", "dest", "dest_port", "process_id", "process_name", "state", "transport", "transport_dest_port",
		"user", "vendor_product", "src", "src_port", "process_guid"}},
	"Network_Traffic": {tags: []string{"network", "communicate"}, fields: []string{
		"action", "dest", "dest_ip", "dest_port", "direction", "dvc", "protocol", "src", "src_ip", "src_port",
		"transport", "user", "vendor_product", "app", "bytes", "bytes_in", "bytes_out", "packets", "duration", "src_mac", "dest_mac"}},
	"Authentication": {tags: []string{"authentication"}, fields: []string{
		"action", "app", "dest", "src", "src_ip", "user", "user_id", "authentication_method", "signature",
		"signature_id", "reason", "vendor_product"}},
	"Email.Delivery": {tags: []string{"email", "delivery"}, fields: []string{
		"action", "src", "src_ip", "src_user", "src_user_domain", "return_addr", "recipient", "recipient_domain",
		"recipient_count", "subject", "message_id", "internal_message_id", "message_info", "vendor_product", "size", "dest"}},
	"Email.Content": {tags: []string{"email", "content"}, fields: []string{
		"internal_message_id", "src_user", "recipient", "file_name", "file_hash", "file_size", "url", "url_domain", "vendor_product"}},
	"Email.Filtering": {tags: []string{"email", "filter"}, fields: []string{
		"action", "filter_action", "signature", "recipient", "message_id", "internal_message_id", "vendor_product", "filter_score"}},
	"Inventory.OS": {tags: []string{"inventory", "system", "version"}, fields: []string{
		"dest", "os", "family", "version", "description", "status", "ip", "vendor_product", "serial", "hypervisor_id", "enabled"}},
	"Inventory.Network": {tags: []string{"inventory", "network"}, fields: []string{
		"dest", "interface", "mac", "ip", "status", "vendor_product", "dns", "name"}},
	"Certificates.SSL": {tags: []string{"certificate", "ssl"}, fields: []string{
		"dest", "ssl_subject", "ssl_subject_common_name", "ssl_issuer", "ssl_issuer_common_name", "ssl_serial",
		"ssl_hash", "ssl_start_time", "ssl_end_time", "ssl_validity_window", "ssl_is_valid", "vendor_product",
		"ssl_version", "ssl_signature_algorithm", "ssl_subject_organization", "ssl_issuer_organization", "ssl_engine"}},
	"Web": {tags: []string{"web"}, fields: []string{
		"action", "app", "dest", "src", "url", "url_domain", "user", "vendor_product",
		"http_method", "status", "bytes", "http_user_agent", "http_referrer", "uri_path", "category"}},
	"Network_Resolution.DNS": {tags: []string{"network", "resolution", "dns"}, fields: []string{
		"query", "answer", "answer_count", "message_type", "record_type", "src", "vendor_product",
		"dest", "reply_code", "transport", "ttl", "transaction_id"}},
}

// gaps are the fields a data set wants that the events cannot fill, by data set
// and then by the sample's table or shape. docs/cim.md must list each of them
// under its data set, and a gap that the mapping does fill fails the test.
type gapKey struct{ dataset, shape string }

var gaps = map[gapKey][]string{
	{"Alerts", "graph-identity"}:                       {"dest", "mitre_technique_id"},
	{"Alerts", "legacy-incident-mdo"}:                  {"dest", "src", "signature_id", "src_user", "mitre_technique_id", "vendor_account"},
	{"Alerts", "graph-mde"}:                            {},
	{"Alerts", "legacy-incident-mde"}:                  {},
	{"Alerts", "legacy-mde"}:                           {},
	{"Alerts", "AlertInfo"}:                            {"dest", "src", "src_user", "user", "signature_id"},
	{"Alerts", "AlertEvidence"}:                        {"src", "src_user", "signature_id"},
	{"Ticket_Management.Incident", "graph"}:            {},
	{"Ticket_Management.Incident", "legacy"}:           {},
	{"Ticket_Management.Incident", "graph-unassigned"}: {"user", "src_user", "comments"},
	{"Endpoint.Processes", "DeviceProcessEvents"}:      {"os", "process_guid", "parent_process_guid", "process_current_directory", "cpu_load_percent", "mem_used"},
	{"Endpoint.Filesystem", "DeviceFileEvents"}:        {"file_access_time", "file_acl", "file_create_time", "file_modify_time", "process_guid"},
	{"Endpoint.Filesystem", "DeviceImageLoadEvents"}:   {"file_access_time", "file_acl", "file_create_time", "file_modify_time", "process_guid"},
	{"Endpoint.Registry", "DeviceRegistryEvents"}:      {"process_guid", "registry_value_text"},
	{"Endpoint.Ports", "DeviceNetworkEvents"}:          {"src", "src_port", "process_guid"},
	{"Network_Traffic", "DeviceNetworkEvents"}:         {"app", "bytes", "bytes_in", "bytes_out", "packets", "duration", "src_mac", "dest_mac"},
	{"Authentication", "DeviceLogonEvents"}:            {"signature_id"},
	{"Authentication", "IdentityLogonEvents"}:          {"signature_id", "reason"},
	{"Authentication", "AADSignInEventsBeta"}:          {"signature", "reason"},
	{"Authentication", "EntraIdSignInEvents"}:          {"signature", "reason"},
	{"Authentication", "AADSpnSignInEventsBeta"}:       {"user_id", "authentication_method", "signature", "reason"},
	{"Email.Delivery", "EmailEvents"}:                  {"size", "dest"},
	{"Email.Content", "EmailAttachmentInfo"}:           {"url", "url_domain"},
	{"Email.Content", "EmailUrlInfo"}:                  {"src_user", "recipient", "file_name", "file_hash", "file_size"},
	{"Email.Filtering", "EmailPostDeliveryEvents"}:     {"filter_score"},
	{"Inventory.OS", "DeviceInfo"}:                     {"serial", "hypervisor_id", "enabled"},
	{"Inventory.Network", "DeviceNetworkInfo"}:         {"dns", "name"},
	{"Certificates.SSL", "DeviceFileCertificateInfo"}:  {"ssl_version", "ssl_signature_algorithm", "ssl_subject_organization", "ssl_issuer_organization", "ssl_engine"},
	{"Web", "UrlClickEvents"}:                          {"http_method", "status", "bytes", "http_user_agent", "http_referrer", "uri_path"},
	{"Network_Resolution.DNS", "DeviceEvents-dns"}:     {"dest", "reply_code", "transport", "ttl", "transaction_id"},
}

// normalized lists raw field names the CIM mapping deliberately rewrites in
// place (CIM wants lower-case severities; an empty description falls back to
// the title). Every other raw JSON field keeps its value.
var normalized = []string{"severity", "description", "id"}

type sample struct {
	name       string
	file       string
	sourcetype string
	source     string
	shape      string   // key into gaps: the table or API shape
	datasets   []string // CIM data sets the event must be in, and no others
	eventtypes []string
	want       map[string][]string // expected values of CIM (and kept raw) fields
}

func v(s ...string) []string { return s }

const ehSource = "m365_defender_eventhub:defender-ah"

func ah(table string) string { return "AdvancedHunting-" + table }

var samples = []sample{
	// --- Alerts: Graph alerts_v2 and legacy shapes, on both alert sourcetypes -----------------
	{name: "graph alert on incident alerts", file: "graph_alert_mde.json", sourcetype: "ms365:defender:incident:alerts",
		source: "m365_defender_incidents:" + tenant, shape: "graph-mde", datasets: v("Alerts"),
		eventtypes: v("m365_defender_incident_alert"), want: graphMDEAlert},
	{name: "graph alert on atp alerts", file: "graph_alert_mde.json", sourcetype: "ms:defender:atp:alerts",
		source: "m365_defender_alerts:" + tenant, shape: "graph-mde", datasets: v("Alerts"),
		eventtypes: v("m365_defender_atp_alert"), want: graphMDEAlert},
	{name: "graph identity alert without device", file: "graph_alert_identity.json", sourcetype: "ms365:defender:incident:alerts",
		source: "m365_defender_incidents:" + tenant, shape: "graph-identity", datasets: v("Alerts"),
		eventtypes: v("m365_defender_incident_alert"), want: map[string][]string{
			"id":             v("ad2b9c3e0f5c5a8a7d3e2c1b0a9f8e7d6c5b4a39a8b7c6d5e4f3a2b1c0d9e8f7"),
			"severity":       v("high"),
			"severity_id":    v("4"),
			"description":    v("Anonymous IP address"),
			"signature":      v("Anonymous IP address"),
			"signature_id":   v("AnonymousLogin"),
			"src":            v("185.220.101.33"),
			"user":           v("adele.vance@contoso.com"),
			"user_name":      v("adele.vance"),
			"src_user":       v("adele.vance"),
			"app":            v("entra:identity_protection"),
			"product":        v("Microsoft Entra ID Protection"),
			"vendor_product": v("Microsoft Entra ID Protection"),
			"vendor_account": v(tenant),
			"assignedTo":     v("soc-tier1@contoso.com"),
		}},
	{name: "legacy incidents API alert (MDE)", file: "legacy_incident_alert_mde.json", sourcetype: "ms365:defender:incident:alerts",
		source: "m365_defender_incidents:" + tenant, shape: "legacy-incident-mde", datasets: v("Alerts"),
		eventtypes: v("m365_defender_incident_alert"), want: map[string][]string{
			"id":                 v("da637308392288907382_-880718168"),
			"incidentId":         v("782"),
			"type":               v("alert"),
			"severity":           v("medium"),
			"severity_id":        v("3"),
			"signature":          v("Suspicious PowerShell command line"),
			"signature_id":       v("f48661a5-5e8a-4bb9-a6a3-8c29de5c9c1f"),
			"dest":               v("ws-fin-042"),
			"src":                v("198.51.100.7"),
			"user":               v("kcarter"),
			"user_name":          v("kcarter"),
			"mitre_technique_id": v("T1059.001"),
			"vendor_account":     v(tenant),
			"url":                v("https://security.microsoft.com/alerts/da637308392288907382_-880718168?tid=" + tenant),
			"app":                v("defender:endpoint"),
			"vendor_product":     v("Microsoft Defender for Endpoint"),
			"serviceSource":      v("MicrosoftDefenderATP"),
			"detectionSource":    v("WindowsDefenderAtp"),
		}},
	{name: "legacy incidents API alert (Office 365)", file: "legacy_incident_alert_mdo.json", sourcetype: "ms365:defender:incident:alerts",
		source: "m365_defender_incidents", shape: "legacy-incident-mdo", datasets: v("Alerts"),
		eventtypes: v("m365_defender_incident_alert"), want: map[string][]string{
			"id":                 v("faf8edc936-85f8-a603-b800-08d8525cf099"),
			"severity":           v("informational"),
			"severity_id":        v("1"),
			"user":               v("testUser2@contoso.com"),
			"url":                v("https://security.microsoft.com/alerts/faf8edc936-85f8-a603-b800-08d8525cf099"),
			"vendor_product":     v("Microsoft Defender for Office 365"),
			"entities{}.subject": v("null", "Invoice overdue"), // JSON null is the text "null"
		}},
	{name: "legacy MDE alert", file: "legacy_mde_alert.json", sourcetype: "ms:defender:atp:alerts",
		source: "m365_defender_alerts:" + tenant, shape: "legacy-mde", datasets: v("Alerts"),
		eventtypes: v("m365_defender_atp_alert"), want: map[string][]string{
			"id":                 v("da637472900382838869_1364969609"),
			"severity":           v("low"),
			"severity_id":        v("2"),
			"signature":          v("Low-reputation arbitrary code executed by signed executable"),
			"signature_id":       v("17e10bbc-3a68-474a-8aad-faef14d43952"),
			"dest":               v("temp123.middleeast.corp.contoso.com"),
			"src":                v("temp123.middleeast.corp.contoso.com"),
			"user":               v("temp123@contoso.com"),
			"user_name":          v("temp123"),
			"src_user":           v("temp123"),
			"mitre_technique_id": v("T1064", "T1085", "T1220"),
			"vendor_account":     v("a839b112-1253-6432-9bf6-94542403f21c"),
			"url":                v("https://security.microsoft.com/alerts/da637472900382838869_1364969609?tid=a839b112-1253-6432-9bf6-94542403f21c"),
			"service_source":     v("MicrosoftDefenderATP"),
			"product":            v("Microsoft Defender for Endpoint"),
			"body":               v("Binaries signed by Microsoft can be used to run low-reputation arbitrary code. This technique hides the execution of malicious code within a trusted process."),
			"subject":            v("Low-reputation arbitrary code executed by signed executable"),
			"evidence{}.sha1":    v("null", "ff836cfb1af40252bd2a2ea843032e99a5b262ed", "8563f95b2f8a284fc99da44500cd51a77c1ff36c"),
		}},

	// --- Incidents: Ticket Management -------------------------------------------------------
	{name: "graph incident", file: "graph_incident.json", sourcetype: "ms365:defender:incident",
		source: "m365_defender_incidents:" + tenant, shape: "graph", datasets: v("Ticket_Management.Incident"),
		eventtypes: v("m365_defender_incident"), want: map[string][]string{
			"ticket_id":      v("2972395"),
			"description":    v("Multi-stage incident involving Initial access & Command and control on multiple endpoints reported by multiple sources"),
			"status":         v("inProgress"),
			"severity":       v("high"),
			"priority":       v("high"),
			"severity_id":    v("4"),
			"time_submitted": v("2021-08-13T08:43:35.5533333Z"),
			"user":           v("KaiC@contoso.onmicrosoft.com"),
			"src_user":       v("KaiC@contoso.onmicrosoft.com"),
			"dest":           v("https://security.microsoft.com/incidents/2972395?tid=" + tenant),
			"comments":       v("Demo incident"),
			"vendor_account": v(tenant),
			"vendor_product": v("Microsoft Defender XDR"),
			"classification": v("truePositive"),
		}},
	{name: "graph incident, unassigned and new", file: "graph_incident_unassigned.json", sourcetype: "ms365:defender:incident",
		source: "m365_defender_incidents:" + tenant, shape: "graph-unassigned", datasets: v("Ticket_Management.Incident"),
		eventtypes: v("m365_defender_incident"), want: map[string][]string{
			"ticket_id":   v("2973012"),
			"description": v("Anonymous IP address involving one user"),
			"status":      v("active"),
			"severity":    v("unknown"),
			"severity_id": v("0"),
		}},
	{name: "legacy incident", file: "legacy_incident.json", sourcetype: "ms365:defender:incident",
		source: "m365_defender_incidents:" + tenant, shape: "legacy", datasets: v("Ticket_Management.Incident"),
		eventtypes: v("m365_defender_incident"), want: map[string][]string{
			"ticket_id":      v("924565"),
			"incidentId":     v("924565"),
			"description":    v("Email reported by user as malware or phish"),
			"status":         v("InProgress"),
			"severity":       v("informational"),
			"priority":       v("informational"),
			"severity_id":    v("1"),
			"time_submitted": v("2020-09-06T12:07:55.1366667Z"),
			"user":           v("secop2@contoso.com"),
			"dest":           v("https://security.microsoft.com/incidents/924565?tid=" + tenant),
			"url":            v("https://security.microsoft.com/incidents/924565?tid=" + tenant),
			"comments":       v("Looking into it"),
			"vendor_account": v(tenant),
		}},

	// --- Streaming API -------------------------------------------------------------------------
	{name: "DeviceProcessEvents", file: "ah_device_process_events.json", shape: "DeviceProcessEvents",
		datasets: v("Endpoint.Processes"), eventtypes: v("m365_defender_ah_DeviceProcessEvents", "m365_defender_ah_process"),
		want: map[string][]string{
			"ah_table": v("DeviceProcessEvents"), "action": v("allowed"), "dest": v("ws-fin-042.contoso.com"),
			"process_name": v("whoami.exe"), "process_exec": v("whoami.exe"), "process_path": v(`C:\Windows\System32\whoami.exe`),
			"process": v("whoami.exe  /all"), "process_id": v("9012"),
			"process_hash":            v("1d5491e3c468ee4b4ef6edff4bbc7d06ee83180f6f0b1576763ea2efe049493a"),
			"process_integrity_level": v("medium"), "original_file_name": v("whoami.exe"),
			"parent_process_name": v("powershell.exe"), "parent_process_id": v("7276"),
			"parent_process_path": v(`c:\windows\system32\windowspowershell\v1.0\powershell.exe`),
			"parent_process":      v(`powershell.exe -NoP -W Hidden -File c:\users\kcarter\run.ps1`),
			"user":                v("kcarter"), "user_id": v("S-1-5-21-1782978551-3472816498-2837218331-2417"),
			"vendor_product": v("Microsoft Defender for Endpoint"), "vendor": v("Microsoft"), "vendor_account": v(tenant),
			"properties.FileName": v("whoami.exe"),
		}},
	{name: "DeviceFileEvents", file: "ah_device_file_events.json", shape: "DeviceFileEvents",
		datasets: v("Endpoint.Filesystem"), eventtypes: v("m365_defender_ah_DeviceFileEvents", "m365_defender_ah_filesystem"),
		want: map[string][]string{
			"action": v("created"), "dest": v("ws-fin-042.contoso.com"), "file_name": v("stage2.dll"),
			"file_path": v(`C:\Users\kcarter\AppData\Local\Temp\stage2.dll`), "file_size": v("241152"),
			"file_hash":    v("dc0ade0c95d6db98882bc8fa6707e64353cd6f7767ff48d6a81a6c2aef21c608"),
			"process_name": v("powershell.exe"), "process_id": v("7276"), "user": v("kcarter"),
		}},
	{name: "DeviceImageLoadEvents", file: "ah_device_image_load_events.json", shape: "DeviceImageLoadEvents",
		datasets: v("Endpoint.Filesystem"), eventtypes: v("m365_defender_ah_DeviceImageLoadEvents", "m365_defender_ah_filesystem"),
		want: map[string][]string{"action": v("read"), "file_name": v("stage2.dll"), "process_name": v("powershell.exe")}},
	{name: "DeviceRegistryEvents", file: "ah_device_registry_events.json", shape: "DeviceRegistryEvents",
		datasets: v("Endpoint.Registry"), eventtypes: v("m365_defender_ah_DeviceRegistryEvents", "m365_defender_ah_registry"),
		want: map[string][]string{
			"action": v("modified"), "status": v("success"), "registry_hive": v("HKEY_CURRENT_USER"),
			"registry_key_name":   v("Run"),
			"registry_path":       v(`HKEY_CURRENT_USER\S-1-5-21-1782978551-3472816498-2837218331-2417\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\Updater`),
			"registry_value_name": v("Updater"), "registry_value_type": v("String"),
			"registry_value_data": v(`rundll32.exe C:\Users\kcarter\AppData\Local\Temp\stage2.dll,Start`),
			"process_name":        v("powershell.exe"), "user": v("kcarter"),
		}},
	{name: "DeviceNetworkEvents outbound", file: "ah_device_network_events.json", shape: "DeviceNetworkEvents",
		datasets: v("Network_Traffic"), eventtypes: v("m365_defender_ah_DeviceNetworkEvents", "m365_defender_ah_network"),
		want: map[string][]string{
			"action": v("allowed"), "direction": v("outbound"), "src": v("ws-fin-042.contoso.com"), "src_ip": v("10.1.2.3"),
			"src_port": v("50412"), "dest": v("malicious.example.net"), "dest_ip": v("203.0.113.45"), "dest_port": v("443"),
			"transport": v("tcp"), "protocol": v("ip"), "dvc": v("ws-fin-042.contoso.com"), "user": v("kcarter"),
			"process_name": v("powershell.exe"),
		}},
	{name: "DeviceNetworkEvents inbound", file: "ah_device_network_events_inbound.json", shape: "DeviceNetworkEvents",
		datasets: v("Network_Traffic"), eventtypes: v("m365_defender_ah_DeviceNetworkEvents", "m365_defender_ah_network"),
		want: map[string][]string{
			"action": v("allowed"), "direction": v("inbound"), "src": v("10.1.9.77"), "src_ip": v("10.1.9.77"),
			"src_port": v("61233"), "dest": v("ws-fin-042.contoso.com"), "dest_ip": v("10.1.2.3"), "dest_port": v("3389"),
			"transport": v("tcp"), "user": v("network service"), "process_name": v("svchost.exe"),
		}},
	{name: "DeviceNetworkEvents listening port", file: "ah_device_network_events_listening.json", shape: "DeviceNetworkEvents",
		datasets: v("Endpoint.Ports"), eventtypes: v("m365_defender_ah_DeviceNetworkEvents", "m365_defender_ah_listening_port"),
		want: map[string][]string{
			"state": v("listening"), "dest": v("ws-fin-042.contoso.com"), "dest_port": v("4444"), "transport": v("tcp"),
			"transport_dest_port": v("tcp/4444"), "creation_time": v("2024-09-10T03:58:31.2000000Z"),
			"process_name": v("rundll32.exe"), "process_id": v("9120"), "user": v("kcarter"),
		}},
	{name: "DeviceLogonEvents", file: "ah_device_logon_events.json", shape: "DeviceLogonEvents",
		datasets: v("Authentication"), eventtypes: v("m365_defender_ah_DeviceLogonEvents", "m365_defender_ah_authentication"),
		want: map[string][]string{
			"action": v("failure"), "app": v("win:remote"), "dest": v("ws-fin-042.contoso.com"), "src": v("10.1.9.77"),
			"src_ip": v("10.1.9.77"), "user": v("administrator"), "authentication_method": v("Negotiate"),
			"signature": v("LogonFailed"), "reason": v("InvalidUserNameOrPassword"),
			"user_id": v("S-1-5-21-1782978551-3472816498-2837218331-500"),
		}},
	{name: "IdentityLogonEvents", file: "ah_identity_logon_events.json", shape: "IdentityLogonEvents",
		datasets: v("Authentication"), eventtypes: v("m365_defender_ah_IdentityLogonEvents", "m365_defender_ah_authentication"),
		want: map[string][]string{
			"action": v("success"), "app": v("Active Directory"), "dest": v("dc01.contoso.com"), "dest_ip": v("10.1.0.10"),
			"dest_port": v("88"), "src": v("10.1.2.3"), "user": v("kcarter@contoso.com"), "authentication_method": v("Kerberos"),
			"vendor_product": v("Microsoft Defender for Identity"), "properties.AdditionalFields.Spns": v("krbtgt/CONTOSO.COM"),
		}},
	{name: "AADSignInEventsBeta", file: "ah_aad_signin_events.json", shape: "AADSignInEventsBeta",
		datasets: v("Authentication"), eventtypes: v("m365_defender_ah_AADSignInEventsBeta", "m365_defender_ah_authentication"),
		want: map[string][]string{
			"action": v("failure"), "app": v("Office 365 Exchange Online"), "dest": v("Office 365 Exchange Online"),
			"src": v("185.220.101.33"), "user": v("adele.vance@contoso.com"), "signature_id": v("50126"),
			"authentication_method": v("singleFactorAuthentication"), "vendor_product": v("Microsoft Entra ID"),
		}},
	{name: "AADSpnSignInEventsBeta", file: "ah_aad_spn_signin_events.json", shape: "AADSpnSignInEventsBeta",
		datasets: v("Authentication"), eventtypes: v("m365_defender_ah_AADSpnSignInEventsBeta", "m365_defender_ah_authentication"),
		want: map[string][]string{
			"action": v("success"), "user": v("Splunk TA-m365-defender"), "dest": v("Microsoft Graph"),
			"src": v("198.51.100.20"), "signature_id": v("0"),
		}},
	{name: "EntraIdSignInEvents", file: "ah_entraid_signin_events.json", shape: "EntraIdSignInEvents",
		datasets: v("Authentication"), eventtypes: v("m365_defender_ah_EntraIdSignInEvents", "m365_defender_ah_authentication"),
		want: map[string][]string{
			"action": v("success"), "app": v("Microsoft Teams"), "dest": v("Microsoft Teams Services"),
			"src": v("198.51.100.99"), "user": v("adele.vance@contoso.com"), "signature_id": v("0"),
			"authentication_method": v("multiFactorAuthentication"), "vendor_product": v("Microsoft Entra ID"),
		}},
	{name: "EmailEvents", file: "ah_email_events.json", shape: "EmailEvents",
		datasets: v("Email.Delivery"), eventtypes: v("m365_defender_ah_EmailEvents", "m365_defender_ah_email_delivery"),
		want: map[string][]string{
			"action": v("delivered"), "src_user": v("billing@fabrikam.example"), "return_addr": v("bounce@fabrikam.example"),
			"src_user_domain": v("fabrikam.example"), "recipient": v("kcarter@contoso.com"), "recipient_domain": v("contoso.com"),
			"recipient_count": v("1"), "subject": v("Invoice 4471 overdue"), "src": v("192.0.2.15"),
			"message_id":          v("<PH0PR11MB58.8f2e@PH0PR11MB5800.namprd11.prod.outlook.com>"),
			"internal_message_id": v("6f0f4b2e-51c1-4a3e-9b7f-08dcd15e4a77"), "message_info": v("Inbox/folder"),
			"vendor_product": v("Microsoft Defender for Office 365"),
		}},
	{name: "EmailAttachmentInfo", file: "ah_email_attachment_info.json", shape: "EmailAttachmentInfo",
		datasets: v("Email.Content"), eventtypes: v("m365_defender_ah_EmailAttachmentInfo", "m365_defender_ah_email_content"),
		want: map[string][]string{
			"file_name": v("Invoice_4471.html"), "file_size": v("18231"), "src_user": v("billing@fabrikam.example"),
			"file_hash": v("0f3a8c7b6e5d4c3b2a19080706f5e4d3c2b1a0f9e8d7c6b5a4938271605f4e3d"), "recipient": v("kcarter@contoso.com"),
		}},
	{name: "EmailUrlInfo", file: "ah_email_url_info.json", shape: "EmailUrlInfo",
		datasets: v("Email.Content"), eventtypes: v("m365_defender_ah_EmailUrlInfo", "m365_defender_ah_email_content"),
		want: map[string][]string{
			"url": v("https://login.fabrikam.example/owa/?user=kcarter"), "url_domain": v("login.fabrikam.example"),
			"internal_message_id": v("6f0f4b2e-51c1-4a3e-9b7f-08dcd15e4a77"),
		}},
	{name: "EmailPostDeliveryEvents", file: "ah_email_post_delivery_events.json", shape: "EmailPostDeliveryEvents",
		datasets: v("Email.Filtering"), eventtypes: v("m365_defender_ah_EmailPostDeliveryEvents", "m365_defender_ah_email_filter"),
		want: map[string][]string{
			"action": v("quarantined"), "filter_action": v("Moved to quarantine"), "signature": v("Phish ZAP"),
			"recipient": v("kcarter@contoso.com"),
		}},
	{name: "AlertInfo", file: "ah_alert_info.json", shape: "AlertInfo",
		datasets: v("Alerts"), eventtypes: v("m365_defender_ah_AlertInfo", "m365_defender_ah_alert"),
		want: map[string][]string{
			"type": v("alert"), "id": v("da638614123456789012_1234567890"), "severity": v("medium"), "severity_id": v("3"),
			"signature":          v("Suspicious PowerShell download or encoded command execution"),
			"mitre_technique_id": v("T1059.001", "T1027", "T1105"), "app": v("defender:endpoint"),
			"url":            v("https://security.microsoft.com/alerts/da638614123456789012_1234567890?tid=" + tenant),
			"vendor_account": v(tenant),
		}},
	{name: "AlertEvidence", file: "ah_alert_evidence.json", shape: "AlertEvidence",
		datasets: v("Alerts"), eventtypes: v("m365_defender_ah_AlertEvidence", "m365_defender_ah_alert"),
		want: map[string][]string{
			"id": v("da638614123456789012_1234567890"), "dest": v("ws-fin-042.contoso.com"), "user": v("kcarter@contoso.com"),
			"mitre_technique_id": v("T1059.001", "T1027"), "file_name": v("powershell.exe"),
		}},
	{name: "DeviceInfo", file: "ah_device_info.json", shape: "DeviceInfo",
		datasets: v("Inventory.OS"), eventtypes: v("m365_defender_ah_DeviceInfo", "m365_defender_ah_inventory_os"),
		want: map[string][]string{
			"dest": v("ws-fin-042.contoso.com"), "os": v("Windows 10"), "family": v("Windows"), "version": v("22H2"),
			"description": v("Workstation"), "status": v("Active"), "ip": v("198.51.100.99"),
		}},
	{name: "DeviceNetworkInfo", file: "ah_device_network_info.json", shape: "DeviceNetworkInfo",
		datasets: v("Inventory.Network"), eventtypes: v("m365_defender_ah_DeviceNetworkInfo", "m365_defender_ah_inventory_network"),
		want: map[string][]string{
			"dest": v("ws-fin-042.contoso.com"), "interface": v("Ethernet"), "mac": v("00:15:5d:3a:0b:1c"),
			"ip": v("10.1.2.3", "fe80::6d4c:1a2b:3c4d:5e6f"), "status": v("Up"),
		}},
	{name: "DeviceFileCertificateInfo", file: "ah_device_file_certificate_info.json", shape: "DeviceFileCertificateInfo",
		datasets: v("Certificates.SSL"), eventtypes: v("m365_defender_ah_DeviceFileCertificateInfo", "m365_defender_ah_certificate"),
		want: map[string][]string{
			"ssl_subject_common_name": v("Fabrikam Software Ltd"), "ssl_issuer_common_name": v("Sectigo Public Code Signing CA R36"),
			"ssl_serial": v("00d5a0f3b2c1e4d7a6b5c4d3e2f1a0b9c8"), "ssl_hash": v("d1f4a8b2c3e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9"),
			"ssl_start_time": v("1682985600"), "ssl_end_time": v("1746143999"), "ssl_validity_window": v("63158399"),
			"ssl_is_valid": v("false"), "dest": v("ws-fin-042.contoso.com"),
		}},
	{name: "UrlClickEvents", file: "ah_url_click_events.json", shape: "UrlClickEvents",
		datasets: v("Web"), eventtypes: v("m365_defender_ah_UrlClickEvents", "m365_defender_ah_web"),
		want: map[string][]string{
			"action": v("blocked"), "app": v("Email"), "url": v("https://login.fabrikam.example/owa/?user=kcarter"),
			"url_domain": v("login.fabrikam.example"), "dest": v("login.fabrikam.example"), "src": v("198.51.100.99"),
			"user": v("kcarter@contoso.com"), "vendor_product": v("Microsoft Defender for Office 365"),
		}},
	{name: "DeviceEvents DNS", file: "ah_device_events_dns.json", shape: "DeviceEvents-dns",
		datasets: v("Network_Resolution.DNS"), eventtypes: v("m365_defender_ah_DeviceEvents", "m365_defender_ah_dns"),
		want: map[string][]string{
			"query": v("malicious.example.net"), "answer": v("203.0.113.45", "203.0.113.46"), "answer_count": v("2"),
			"message_type": v("Response"), "record_type": v("A"), "src": v("ws-fin-042.contoso.com"),
			"process_name": v("powershell.exe"),
		}},
	// Tables without a CIM data model keep their raw fields and get their own event type.
	{name: "DeviceEvents other", file: "ah_device_events_antivirus.json", shape: "DeviceEvents",
		eventtypes: v("m365_defender_ah_DeviceEvents"),
		want: map[string][]string{
			"properties.ActionType": v("AntivirusDetection"), "dest": v("ws-fin-042.contoso.com"),
			"vendor_product": v("Microsoft Defender for Endpoint"),
		}},
	{name: "IdentityQueryEvents", file: "ah_identity_query_events.json", shape: "IdentityQueryEvents",
		eventtypes: v("m365_defender_ah_IdentityQueryEvents"),
		want:       map[string][]string{"properties.QueryType": v("AllGroups"), "vendor_product": v("Microsoft Defender for Identity")}},
	{name: "IdentityDirectoryEvents", file: "ah_identity_directory_events.json", shape: "IdentityDirectoryEvents",
		eventtypes: v("m365_defender_ah_IdentityDirectoryEvents"),
		want:       map[string][]string{"properties.AdditionalFields.TO.GROUP": v("Domain Admins"), "vendor_product": v("Microsoft Defender for Identity")}},
	{name: "CloudAppEvents", file: "ah_cloud_app_events.json", shape: "CloudAppEvents",
		eventtypes: v("m365_defender_ah_CloudAppEvents"),
		want:       map[string][]string{"properties.ActivityObjects{}.Type": v("Mailbox"), "vendor_product": v("Microsoft Defender for Cloud Apps")}},
	{name: "table unknown to the add-on", file: "ah_behavior_info.json", shape: "BehaviorInfo",
		eventtypes: v("m365_defender_ah_BehaviorInfo"),
		want: map[string][]string{"ah_table": v("BehaviorInfo"), "vendor_product": v("Microsoft Defender for Cloud Apps"),
			"properties.Description": v("Impossible travel activity for user kcarter")}},
}

var graphMDEAlert = map[string][]string{
	"id":                 v("da637551227677560813_-961444813"),
	"type":               v("alert"),
	"app":                v("defender:endpoint"),
	"vendor":             v("Microsoft"),
	"product":            v("Microsoft Defender for Endpoint"),
	"vendor_product":     v("Microsoft Defender for Endpoint"),
	"vendor_account":     v(tenant),
	"severity":           v("medium"),
	"severity_id":        v("3"),
	"signature":          v("Suspicious execution of hidden file"),
	"signature_id":       v("e0da400f-affd-43ef-b1d5-afc2eb6f2756"),
	"subject":            v("Suspicious execution of hidden file"),
	"description":        v("A hidden file has been launched. This activity could indicate a compromised host. Attackers often hide files associated with malicious tools to evade file system inspection and defenses."),
	"dest":               v("tempdev.contoso.com"),
	"src":                v("203.0.113.45"),
	"user":               v("jdoe@contoso.com"),
	"user_name":          v("jdoe"),
	"src_user":           v("jdoe"),
	"mitre_technique_id": v("T1564.001"),
	"url":                v("https://security.microsoft.com/alerts/da637551227677560813_-961444813?tid=" + tenant),
	// raw names Splunk's security detections search for
	"incidentId":                    v("28282"),
	"serviceSource":                 v("microsoftDefenderForEndpoint"),
	"detectionSource":               v("antivirus"),
	"mitreTechniques{}":             v("T1564.001"),
	"evidence{}.deviceDnsName":      v("tempdev.contoso.com"),
	"evidence{}.fileDetails.sha256": v("8963a19fb992ad9a76576c5638fd68292cffb9aaac29eb8285f9abf6196a7dec"),
	"evidence{}.imageFile.fileName": v("svchost.exe"),
}

func loadApp(t testing.TB) *App {
	t.Helper()
	a, err := Load(repoRoot)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return a
}

func readSample(t testing.TB, s sample) Event {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", s.file))
	if err != nil {
		t.Fatal(err)
	}
	// The inputs write compact JSON, one object per event.
	var raw bytes.Buffer
	if err := json.Compact(&raw, b); err != nil {
		t.Fatalf("%s: %v", s.file, err)
	}
	st, src := s.sourcetype, s.source
	if st == "" {
		st, src = "ms:defender:eventhub", ehSource
	}
	return Event{Sourcetype: st, Source: src, Host: "splunk-hf-01", Raw: raw.String()}
}

func inDatasets(tags []string) []string {
	var out []string
	for name, d := range datasets {
		if len(d.tags) > 0 && !slices.ContainsFunc(d.tags, func(t string) bool { return !slices.Contains(tags, t) }) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func TestCIMMapping(t *testing.T) {
	a := loadApp(t)
	for _, s := range samples {
		t.Run(s.name, func(t *testing.T) {
			res, err := a.Apply(readSample(t, s))
			if err != nil {
				t.Fatal(err)
			}
			f := res.Fields
			if got := slices.Sorted(slices.Values(res.Eventtypes)); !slices.Equal(got, slices.Sorted(slices.Values(s.eventtypes))) {
				t.Errorf("eventtypes = %q, want %q", got, s.eventtypes)
			}
			if got, want := inDatasets(res.Tags), slices.Sorted(slices.Values(s.datasets)); !slices.Equal(got, want) {
				t.Errorf("tags %q put the event in data sets %q, want %q", res.Tags, got, want)
			}
			for _, ds := range s.datasets {
				gap, ok := gaps[gapKey{ds, s.shape}]
				if !ok {
					t.Errorf("no gaps entry for {%q, %q}; add one (empty when the data fills every field)", ds, s.shape)
				}
				for _, field := range datasets[ds].fields {
					switch {
					case slices.Contains(gap, field) && f.Has(field):
						t.Errorf("%s: %s is listed as a gap but is filled (%q); drop it from gaps and docs/cim.md", ds, field, f[field])
					case !slices.Contains(gap, field) && !f.Has(field):
						t.Errorf("%s: %s is not filled", ds, field)
					}
				}
			}
			for field, want := range s.want {
				if got := f[field]; !slices.Equal(got, want) {
					t.Errorf("%s = %q, want %q", field, got, want)
				}
			}
			// CIM fields never carry JSON null or an empty string as a value.
			for name, vals := range f {
				if _, raw := res.FieldsBefore[name]; raw && slices.Equal(res.FieldsBefore[name], vals) {
					continue
				}
				for _, val := range vals {
					if val == "null" || val == "" {
						t.Errorf("CIM field %s has value %q (%q)", name, val, vals)
					}
				}
			}
			// Raw JSON fields keep their names and values, except the few that
			// CIM normalizes in place.
			for name, vals := range res.FieldsBefore {
				if name == "_raw" || slices.Contains(normalized, name) {
					continue
				}
				if !slices.Equal(f[name], vals) {
					t.Errorf("raw field %s changed from %q to %q", name, vals, f[name])
				}
			}
		})
	}
}

// TestEverySettingIsExercised fails when a search-time setting produces a value
// on no sample of its sourcetype: a typo in a field name, or a sample missing.
func TestEverySettingIsExercised(t *testing.T) {
	a := loadApp(t)
	applied := map[string]map[string]bool{}
	for _, s := range samples {
		ev := readSample(t, s)
		res, err := a.Apply(ev)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if applied[ev.Sourcetype] == nil {
			applied[ev.Sourcetype] = map[string]bool{}
		}
		for k := range res.Applied {
			applied[ev.Sourcetype][k] = true
		}
	}
	for _, st := range a.Sourcetypes() {
		for _, key := range a.SettingKeys(st) {
			if !applied[st][key] {
				t.Errorf("[%s] %s never produced a value on the samples", st, key)
			}
		}
	}
}

// TestSamplesCoverTheIssue checks that every table and API shape the CIM
// mapping promises has a sample.
func TestSamplesCoverTheIssue(t *testing.T) {
	tables := []string{
		"DeviceProcessEvents", "DeviceFileEvents", "DeviceRegistryEvents", "DeviceImageLoadEvents",
		"DeviceNetworkEvents", "DeviceLogonEvents", "IdentityLogonEvents", "AADSignInEventsBeta",
		"AADSpnSignInEventsBeta", "EmailEvents", "EmailAttachmentInfo", "EmailUrlInfo", "EmailPostDeliveryEvents",
		"AlertInfo", "AlertEvidence", "DeviceInfo", "DeviceNetworkInfo", "DeviceFileCertificateInfo",
		"UrlClickEvents", "DeviceEvents", "IdentityQueryEvents", "IdentityDirectoryEvents", "CloudAppEvents",
		"EntraIdSignInEvents",
	}
	have := map[string]bool{}
	shapes := map[string]map[string]bool{}
	for _, s := range samples {
		ev := readSample(t, s)
		if ev.Sourcetype == "ms:defender:eventhub" {
			var rec struct {
				Time, TenantID, OperationName, Category string
				Properties                              map[string]any
			}
			if err := json.Unmarshal([]byte(ev.Raw), &rec); err != nil {
				t.Fatalf("%s: %v", s.file, err)
			}
			if rec.OperationName != "Publish" || rec.TenantID == "" || rec.Time == "" || rec.Properties["Timestamp"] == nil {
				t.Errorf("%s: not a Streaming API record envelope", s.file)
			}
			have[strings.TrimPrefix(rec.Category, "AdvancedHunting-")] = true
			continue
		}
		if shapes[ev.Sourcetype] == nil {
			shapes[ev.Sourcetype] = map[string]bool{}
		}
		if strings.Contains(ev.Raw, `"@odata.type":"#microsoft.graph.security.`) {
			shapes[ev.Sourcetype]["graph"] = true
		} else {
			shapes[ev.Sourcetype]["legacy"] = true
		}
	}
	for _, tb := range tables {
		if !have[tb] {
			t.Errorf("no Streaming API sample for %s", tb)
		}
	}
	for _, st := range []string{"ms365:defender:incident", "ms365:defender:incident:alerts", "ms:defender:atp:alerts"} {
		for _, shape := range []string{"graph", "legacy"} {
			if !shapes[st][shape] {
				t.Errorf("no %s sample for %s", shape, st)
			}
		}
	}
}

// TestAlertSourcetypesAgree: both alert sourcetypes receive the same shapes, so
// their search-time settings must not drift apart.
func TestAlertSourcetypesAgree(t *testing.T) {
	a := loadApp(t)
	searchTime := func(name string) []string {
		st := a.Props.Stanza(name)
		if st == nil {
			t.Fatalf("props.conf has no [%s]", name)
		}
		var out []string
		for _, kv := range st.Settings {
			if k := kv.Key; k != "description" {
				out = append(out, k+" = "+kv.Value)
			}
		}
		sort.Strings(out)
		return out
	}
	x, y := searchTime("ms365:defender:incident:alerts"), searchTime("ms:defender:atp:alerts")
	for _, s := range x {
		if !slices.Contains(y, s) {
			t.Errorf("only in [ms365:defender:incident:alerts]: %s", s)
		}
	}
	for _, s := range y {
		if !slices.Contains(x, s) {
			t.Errorf("only in [ms:defender:atp:alerts]: %s", s)
		}
	}
}

// TestEvaluatorImplementsExactlyWhatPropsUses keeps the evaluator honest: every
// function it implements is used by props.conf (unknown ones already fail Load).
func TestEvaluatorImplementsExactlyWhatPropsUses(t *testing.T) {
	a := loadApp(t)
	used, usedOps := map[string]bool{}, map[string]bool{}
	for _, st := range a.Sourcetypes() {
		for _, e := range a.EvalFields(st) {
			for _, fn := range FuncNames(e) {
				used[fn] = true
			}
			for _, op := range OperatorNames(e) {
				usedOps[op] = true
			}
		}
	}
	for _, fn := range Functions() {
		if !used[fn] {
			t.Errorf("the evaluator implements %s() but props.conf does not use it; remove it", fn)
		}
	}
	for _, op := range Operators() {
		if !usedOps[op] {
			t.Errorf("the evaluator implements operator %s but props.conf does not use it; remove it", op)
		}
	}
}

// TestDocsListEveryGap: docs/cim.md names every field a data set needs and the
// data cannot fill, under that data set's heading.
func TestDocsListEveryGap(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "docs", "cim.md"))
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]string{}
	heading := regexp.MustCompile(`(?m)^## (.+)$`)
	locs := heading.FindAllStringSubmatchIndex(string(b), -1)
	for i, l := range locs {
		end := len(b)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		sections[string(b[l[2]:l[3]])] = string(b[l[1]:end])
	}
	for k, fields := range gaps {
		var body string
		for h, s := range sections {
			if strings.Contains(h, k.dataset) {
				body = s
			}
		}
		if body == "" {
			t.Errorf("docs/cim.md has no \"## ... %s ...\" section", k.dataset)
			continue
		}
		for _, f := range fields {
			if !strings.Contains(body, "`"+f+"`") {
				t.Errorf("docs/cim.md section %s does not mention `%s` (a gap for %s)", k.dataset, f, k.shape)
			}
		}
	}
}

// TestReadmeListsEveryGap: the README's table of fields the data cannot fill
// names every gap, with its data set and records, so none is silently missing.
func TestReadmeListsEveryGap(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) == 5 {
			rows[strings.TrimSpace(cells[1])+"/"+strings.TrimSpace(cells[2])] = cells[3]
		}
	}
	for k, fields := range gaps {
		if len(fields) == 0 {
			continue
		}
		row, ok := rows[k.dataset+"/"+k.shape]
		if !ok {
			t.Errorf("README.md has no row | %s | %s | for its CIM gaps", k.dataset, k.shape)
			continue
		}
		for _, f := range fields {
			if !strings.Contains(row, "`"+f+"`") {
				t.Errorf("README.md row %s/%s does not list `%s`", k.dataset, k.shape, f)
			}
		}
	}
}
