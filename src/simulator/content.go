package simulator

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
)

// Evidence kinds (one per microsoft.graph.security.*Evidence type).
const (
	evDevice = iota
	evUser
	evFile
	evProcess
	evIP
	evURL
	evMailbox
	evAnalyzedMessage
	evMailCluster
	evCloudApplication
	evOAuthApplication
	evRegistryKey
	evRegistryValue
	evSecurityGroup
	evAzureResource
	evAmazonResource
	evGoogleCloudResource
	evBlobContainer
	evBlob
	evCloudLogonRequest
	evCloudLogonSession
	evContainer
	evContainerImage
	evContainerRegistry
	evKubernetesCluster
	evKubernetesController
	evKubernetesNamespace
	evKubernetesPod
	evKubernetesSecret
	evKubernetesServiceAccount
	evKubernetesService
	evDNS // a type newer than v1.0's list: clients must keep unknown types
	evCount
)

// EvidenceTypes lists every @odata.type the simulator emits, in kind order.
var evidenceTypeNames = [evCount]string{
	"deviceEvidence", "userEvidence", "fileEvidence", "processEvidence", "ipEvidence", "urlEvidence",
	"mailboxEvidence", "analyzedMessageEvidence", "mailClusterEvidence", "cloudApplicationEvidence",
	"oauthApplicationEvidence", "registryKeyEvidence", "registryValueEvidence", "securityGroupEvidence",
	"azureResourceEvidence", "amazonResourceEvidence", "googleCloudResourceEvidence", "blobContainerEvidence",
	"blobEvidence", "cloudLogonRequestEvidence", "cloudLogonSessionEvidence", "containerEvidence",
	"containerImageEvidence", "containerRegistryEvidence", "kubernetesClusterEvidence",
	"kubernetesControllerEvidence", "kubernetesNamespaceEvidence", "kubernetesPodEvidence",
	"kubernetesSecretEvidence", "kubernetesServiceAccountEvidence", "kubernetesServiceEvidence", "dnsEvidence",
}

// EvidenceTypes returns every evidence @odata.type the simulator emits
// ("#microsoft.graph.security.deviceEvidence", …). With at least as many
// alerts as scenarios (18), each appears at least once.
func EvidenceTypes() []string {
	out := make([]string, evCount)
	for i, n := range evidenceTypeNames {
		out[i] = "#microsoft.graph.security." + n
	}
	return out
}

// scenario is an alert template modelled on Defender's documented alerts.
type scenario struct {
	title, description, recommended string
	category                        string
	mitre                           []string
	service, detection, severity    uint8
	detectorID                      string
	threatFamily, threatName, actor string
	evidence                        []int
}

var scenarios = []scenario{
	{title: "Suspicious PowerShell command line", category: "Execution", mitre: []string{"T1059.001"},
		description: "A suspicious PowerShell activity was observed on the machine. This behavior may indicate that PowerShell was used during installation, exploration, or in some cases in lateral movement activities which are used by attackers to invoke modules, download external payloads, or get more information about the system.",
		recommended: "1. Examine the PowerShell command line to understand what commands were executed.\n2. Identify the process that launched PowerShell.\n3. Contact the machine's user to verify the activity.",
		service:     svcEndpoint, detection: detsrcEndpoint, severity: sevHigh, detectorID: "7f1c3609-a3ff-40e2-995b-c01770161d68",
		evidence: []int{evDevice, evUser, evProcess, evFile, evURL, evIP}},
	{title: "Anomaly detected in ASEP registry", category: "Persistence", mitre: []string{"T1547.001", "T1112"},
		description: "A process registered a suspicious command or file in ASEP registry key, where it will be run after a reboot. An attacker may place a malicious piece of software in such a location to prevent losing access if a machine is turned off.",
		recommended: "1. Make sure the machine is completely updated and all your software has the latest patch.\n2. Remove the registry entry and scan the device.",
		service:     svcEndpoint, detection: detsrcEndpoint, severity: sevMedium, detectorID: "fb00a6fc-4a2e-4a48-9b11-4e9ea6e1d5ab",
		evidence: []int{evDevice, evProcess, evRegistryKey, evRegistryValue}},
	{title: "'Wacatac' malware was detected", category: "Malware", mitre: []string{},
		description: "Malware and unwanted software are undesirable applications that perform annoying, disruptive, or harmful actions on affected machines. Some of these undesirable applications can replicate and spread from one machine to another. Others are able to receive commands from remote attackers and perform activities associated with cyber attacks.",
		recommended: "Collect artifacts and determine scope\n1. Check the machine timeline for signs of compromise.\n2. Run a full antivirus scan.",
		service:     svcEndpoint, detection: detsrcAntivirus, severity: sevMedium, detectorID: "3f5b8b1c-6a9d-4d3e-8c7a-2e1f0b9d4c21",
		threatFamily: "Wacatac", threatName: "Trojan:Win32/Wacatac.B!ml", evidence: []int{evDevice, evFile, evUser}},
	{title: "Ransomware behavior detected in the file system", category: "Impact", mitre: []string{"T1486"},
		description: "Files with extensions associated with ransomware were created or renamed on this device. Ransomware encrypts files and demands payment for their recovery.",
		recommended: "1. Isolate the device from the network.\n2. Identify the process that encrypted the files and stop it.\n3. Restore the files from backup.",
		service:     svcEndpoint, detection: detsrcEndpoint, severity: sevHigh, detectorID: "a6b9e2c1-5d3f-4b8e-9a7c-1f2e3d4c5b6a",
		actor: "Storm-0501", evidence: []int{evDevice, evFile, evProcess, evUser}},
	{title: "Email messages containing malicious URL removed after delivery", category: "InitialAccess", mitre: []string{"T1566.002"},
		description: "Emails with malicious URL that were delivered and later removed -V1.0.0.3",
		recommended: "Review the messages, block the sender and the URL, and check whether any recipient clicked the link.",
		service:     svcOffice, detection: detsrcOffice, severity: sevInformational, detectorID: "c9b4a2d7-8e1f-4a3b-b6c5-d7e8f9a0b1c2",
		evidence: []int{evMailbox, evAnalyzedMessage, evURL, evMailCluster, evUser}},
	{title: "A potentially malicious URL click was detected", category: "InitialAccess", mitre: []string{"T1566.002", "T1204.001"},
		description: "We have detected that one of your users has recently clicked on a link that was found to be malicious. -V1.0.0.5",
		recommended: "Reset the user's password, review the user's recent sign-ins and block the URL.",
		service:     svcOffice, detection: detsrcOffice, severity: sevHigh, detectorID: "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b",
		evidence: []int{evUser, evURL, evIP, evMailbox}},
	{title: "Suspected DCSync attack (replication of directory services)", category: "CredentialAccess", mitre: []string{"T1003.006"},
		description: "A directory services replication request was sent from a device that is not a domain controller. Attackers use replication to retrieve credentials of any account, including the KRBTGT account.",
		recommended: "Validate that the source device is not a domain controller and that the account is allowed to replicate.",
		service:     svcIdentity, detection: detsrcIdentity, severity: sevHigh, detectorID: "2e7d4f3a-1b6c-4a9e-8d5f-3c2b1a0e9f8d",
		evidence: []int{evUser, evDevice, evIP, evSecurityGroup}},
	{title: "Impossible travel activity", category: "InitialAccess", mitre: []string{"T1078"},
		description: "The user signed in from two distant locations within a period shorter than the time needed to travel between them.",
		recommended: "Contact the user, review the sign-ins and revoke the sessions if needed.",
		service:     svcCloudApps, detection: detsrcCloudAppSecurity, severity: sevMedium, detectorID: "7c1b0e3f-2a4d-4f6b-9e8c-5d4a3b2c1e0f",
		evidence: []int{evUser, evIP, evCloudApplication, evCloudLogonSession, evCloudLogonRequest}},
	{title: "Unusual addition of credentials to an OAuth app", category: "Persistence", mitre: []string{"T1098.001"},
		description: "An OAuth application received new credentials and then called Microsoft Graph with unusual permissions.",
		recommended: "Review the app's credentials and permissions and disable the app if it is not expected.",
		service:     svcAppGov, detection: detsrcAppGovDetection, severity: sevMedium, detectorID: "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
		evidence: []int{evOAuthApplication, evUser, evCloudApplication}},
	{title: "Unfamiliar sign-in properties", category: "InitialAccess", mitre: []string{"T1078.004"},
		description: "The sign-in had properties that are unfamiliar for this user: location, device and network.",
		recommended: "Confirm with the user that the sign-in was theirs, or reset the password and require MFA.",
		service:     svcAADIP, detection: detsrcAADIP, severity: sevLow, detectorID: "6d5c4b3a-2f1e-4d0c-9b8a-7e6f5d4c3b2a",
		evidence: []int{evUser, evIP, evCloudLogonRequest}},
	{title: "Access from a suspicious IP address to a storage blob container", category: "Exfiltration", mitre: []string{"T1530"},
		description: "Someone has accessed your Azure Storage account from a suspicious IP address.",
		recommended: "Limit access to your storage account and revoke the shared access signatures that were used.",
		service:     svcCloud, detection: detsrcStorage, severity: sevMedium, detectorID: "4b3a2c1d-0e9f-4a8b-b7c6-d5e4f3a2b1c0",
		evidence: []int{evAzureResource, evBlobContainer, evBlob, evIP}},
	{title: "Privileged container detected", category: "PrivilegeEscalation", mitre: []string{"T1611", "T1610"},
		description: "Kubernetes audit log analysis detected a new privileged container. A privileged container has access to the node's resources and breaks the isolation between containers.",
		recommended: "Review the container's configuration and remove privileged mode if it is not required.",
		service:     svcCloud, detection: detsrcContainers, severity: sevMedium, detectorID: "1a2b3c4d-5e6f-4071-8293-a4b5c6d7e8f9",
		evidence: []int{evKubernetesCluster, evKubernetesNamespace, evKubernetesPod, evContainer, evContainerImage, evContainerRegistry, evKubernetesController}},
	{title: "Access to Kubernetes secrets by a service account", category: "CredentialAccess", mitre: []string{"T1552.007"},
		description: "A service account listed the secrets of a namespace it does not usually access.",
		recommended: "Review the service account's role bindings and rotate the secrets.",
		service:     svcCloud, detection: detsrcContainers, severity: sevMedium, detectorID: "0f1e2d3c-4b5a-4697-8879-6a5b4c3d2e1f",
		evidence: []int{evKubernetesSecret, evKubernetesServiceAccount, evKubernetesService, evKubernetesCluster, evKubernetesNamespace}},
	{title: "Suspicious API call detected in your AWS account", category: "Discovery", mitre: []string{"T1580"},
		description: "An unusual sequence of discovery API calls was made in your AWS account by an identity that does not usually make them.",
		recommended: "Review the identity's activity in CloudTrail and rotate its access keys.",
		service:     svcCloud, detection: detsrcServers, severity: sevLow, detectorID: "5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c1b",
		evidence: []int{evAmazonResource, evIP, evUser}},
	{title: "Suspicious process executed on a Google Cloud VM", category: "Execution", mitre: []string{"T1651"},
		description: "A process associated with crypto-mining was executed on a Compute Engine instance.",
		recommended: "Isolate the instance and review how the process was started.",
		service:     svcCloud, detection: detsrcServers, severity: sevHigh, detectorID: "3c2b1a0f-9e8d-4c7b-a6f5-e4d3c2b1a0f9",
		evidence: []int{evGoogleCloudResource, evIP}},
	{title: "Communication with a domain associated with command and control", category: "CommandAndControl", mitre: []string{"T1071.004", "T1568"},
		description: "A device resolved and contacted a domain that Microsoft threat intelligence associates with command-and-control infrastructure.",
		recommended: "Block the domain, isolate the device and investigate the process that made the query.",
		service:     svcXDR, detection: detsrcXDR, severity: sevMedium, detectorID: "8b7a6f5e-4d3c-4b2a-9190-8f7e6d5c4b3a",
		evidence: []int{evDevice, evDNS, evIP, evURL}},
	{title: "DLP policy (Credit card numbers) matched for document (Q3-payments.xlsx) in SharePoint", category: "Exfiltration", mitre: []string{},
		description: "A document containing sensitive information matched a data loss prevention policy.",
		recommended: "Review the document's sharing and apply the policy's remediation.",
		service:     svcDLP, detection: detsrcDLP, severity: sevLow, detectorID: "2b1a0f9e-8d7c-4b6a-9594-3e2d1c0b9a8f",
		evidence: []int{evUser, evFile, evCloudApplication}},
	{title: "Suspicious scheduled task", category: "Persistence", mitre: []string{"T1053.005"},
		description: "A custom detection rule matched: a scheduled task was created that runs a script from a user-writable folder.",
		recommended: "Review the scheduled task and delete it if it is not expected.",
		service:     svcEndpoint, detection: detsrcCustomDetection, severity: sevLow, detectorID: "0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d",
		evidence: []int{evDevice, evProcess, evUser, evFile}},
}

// Pools for realistic values.
var (
	analysts = []string{"KaiC@contoso.onmicrosoft.com", "secAdmin@contoso.onmicrosoft.com", "PattiF@contoso.onmicrosoft.com",
		"soc-tier2@contoso.onmicrosoft.com", "NestorW@contoso.onmicrosoft.com"}
	customTagPool = []string{"Demo", "Pen test", "Red team", "VIP", "Escalated", "Customer Impact"}
	firstNames    = []string{"Alex", "Megan", "Lidia", "Joni", "Nestor", "Isaiah", "Lynne", "Diego", "Adele", "Grady",
		"Patti", "Johanna", "Miriam", "Pradeep", "Lee", "Henrietta", "Irvin", "Christie"}
	lastNames = []string{"Wilber", "Bowen", "Holloway", "Sherman", "Wilke", "Langer", "Robbins", "Siciliani", "Vance",
		"Archie", "Fernandez", "Lauer", "Graham", "Gupta", "Gu", "Mueller", "Sayers", "Cline"}
	devicePrefixes = []string{"desktop", "laptop", "ws", "srv", "vm", "dc"}
	countries      = []string{"US", "GB", "DE", "NL", "FR", "BR", "IN", "JP", "AU", "SG", "NG", "RU"}
	badDomains     = []string{"contoso-payroll.com", "m1crosoft-login.net", "fabrikam-share.org", "tailspin-docs.info",
		"wingtip-update.biz", "northwind-cdn.net"}
	fileNames = []string{"invoice_2026.docm", "payload.ps1", "update.exe", "svchosts.exe", "report.xlsm", "setup_x64.msi",
		"mimikatz.exe", "loader.dll", "run.bat", "agent.js"}
	resolutions = []struct {
		class, determ uint8
		comment       string
	}{
		{classTruePositive, detMalware, "Confirmed malware, device remediated and user password reset."},
		{classTruePositive, detMultiStagedAttack, "Multi-stage attack contained; see the post-incident report."},
		{classTruePositive, detPhishing, "Phishing campaign; messages purged from all mailboxes."},
		{classTruePositive, detCompromisedUser, "Account compromised; sessions revoked and MFA re-registered."},
		{classFalsePositive, detClean, "Benign admin script, added to allow list."},
		{classInformational, detSecurityTesting, "Red team exercise, approved in change CHG0042."},
		{classInformational, detLineOfBusinessApplication, "Line-of-business installer behaviour."},
		{classFalsePositive, detInsufficientData, "Not enough data to validate; closing."},
	}
)

// actors are the entities one incident's alerts share (same device, user, IP…).
type actors struct {
	user, domain, upn, display, sid, aadUser string
	device, mdeDevice, aadDevice, osPlatform string
	osBuild                                  int64
	rbacGroup                                string
	rbacGroupID                              int64
	ip, country                              string
	innerIP                                  string
	domainBad                                string
	url                                      string
	file, filePath, sha1, sha256             string
	fileSize                                 int64
	pid, ppid                                int64
	mailSubject, sender, networkMessageID    string
	subscription, resourceGroup              string
}

func hexN(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return hex.EncodeToString(b)
}

func guid(r *rand.Rand) string {
	h := hexN(r, 16)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

func newActors(r *rand.Rand) actors {
	fn, ln := pick(r, firstNames), pick(r, lastNames)
	a := actors{
		user: strings.ToLower(fn[:1] + ln), domain: "CONTOSO", display: fn + " " + ln,
		sid:     fmt.Sprintf("S-1-5-21-1782978722-3188264473-2231428742-%d", 1100+r.IntN(9000)),
		aadUser: guid(r), device: fmt.Sprintf("%s-%s", pick(r, devicePrefixes), hexN(r, 3)),
		mdeDevice: hexN(r, 20), aadDevice: guid(r), osPlatform: pick(r, []string{"Windows10", "Windows11", "WindowsServer2022"}),
		osBuild: int64(19045 + r.IntN(3)*3586), rbacGroup: pick(r, []string{"Tier0", "Workstations", "Servers", "UnassignedGroup"}),
		ip:      fmt.Sprintf("%d.%d.%d.%d", pick(r, []int{20, 40, 52, 104, 185, 45, 91}), r.IntN(256), r.IntN(256), 1+r.IntN(254)),
		country: pick(r, countries), innerIP: fmt.Sprintf("10.%d.%d.%d", r.IntN(256), r.IntN(256), 1+r.IntN(254)),
		domainBad: pick(r, badDomains), file: pick(r, fileNames),
		sha1: hexN(r, 20), sha256: hexN(r, 32), fileSize: int64(2048 + r.IntN(4<<20)),
		pid: int64(1000 + r.IntN(30000)), ppid: int64(400 + r.IntN(8000)),
		subscription: guid(r), resourceGroup: pick(r, []string{"rg-prod", "rg-data", "rg-aks", "rg-web"}),
	}
	a.rbacGroupID = int64(10 + r.IntN(90))
	a.upn = a.user + "@contoso.onmicrosoft.com"
	a.device += ".contoso.com"
	a.url = "https://" + a.domainBad + "/" + pick(r, []string{"login", "invoice", "dl", "c2/beacon", "share/doc"}) + "?id=" + hexN(r, 4)
	a.filePath = pick(r, []string{`C:\Users\` + a.user + `\Downloads`, `C:\Users\` + a.user + `\AppData\Local\Temp`, `C:\ProgramData`, `C:\Windows\Temp`})
	a.mailSubject = pick(r, []string{"Your invoice is ready", "Action required: password expiry", "Shared document: Q3 results", "Voicemail received"})
	a.sender = "no-reply@" + a.domainBad
	a.networkMessageID = guid(r)
	return a
}
