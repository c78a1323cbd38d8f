package simulator

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

func userAccount(a *actors) obj {
	return obj{"accountName": a.user, "domainName": a.domain, "userSid": a.sid, "azureAdUserId": a.aadUser,
		"userPrincipalName": a.upn, "displayName": a.display}
}

func fileDetails(a *actors, name, path string) obj {
	return obj{"sha1": a.sha1, "sha256": a.sha256, "fileName": name, "filePath": path, "fileSize": a.fileSize,
		"filePublisher": nil, "signer": nil, "issuer": nil}
}

// Kubernetes objects shared by the container evidence types.
func k8sCluster(a *actors) obj {
	return obj{"name": "aks-prod-westeurope", "distribution": "AKS", "platform": "aks", "version": "1.29.4",
		"cloudResource": obj{"@odata.type": "#microsoft.graph.security.azureResourceEvidence",
			"resourceId":   "/subscriptions/" + a.subscription + "/resourceGroups/" + a.resourceGroup + "/providers/Microsoft.ContainerService/managedClusters/aks-prod-westeurope",
			"resourceName": "aks-prod-westeurope", "resourceType": "Microsoft.ContainerService/managedClusters"}}
}

func k8sNamespace(a *actors) obj {
	return obj{"name": "payments", "labels": obj{"team": "payments"}, "cluster": k8sCluster(a)}
}

func containerImage(a *actors) obj {
	return obj{"imageId": "contosoacr.azurecr.io/payments/api:2.4.1", "digestImage": obj{"imageId": "contosoacr.azurecr.io/payments/api@sha256:" + a.sha256},
		"containerRegistry": obj{"registry": "contosoacr.azurecr.io"}}
}

// graphEvidence renders evidence kind k of an alert (Graph v1.0 shapes).
func graphEvidence(k int, a *actors, r *rand.Rand, created string, malicious bool) obj {
	verdict := "suspicious"
	if malicious {
		verdict = "malicious"
	}
	e := obj{
		"@odata.type":              "#microsoft.graph.security." + evidenceTypeNames[k],
		"createdDateTime":          created,
		"verdict":                  verdict,
		"remediationStatus":        "none",
		"remediationStatusDetails": nil,
		"roles":                    []string{},
		"detailedRoles":            []string{},
		"tags":                     []string{},
	}
	set := func(kv ...any) {
		for i := 0; i+1 < len(kv); i += 2 {
			e[kv[i].(string)] = kv[i+1]
		}
	}
	switch k {
	case evDevice:
		set("roles", []string{"compromised"}, "detailedRoles", []string{"PrimaryDevice"},
			"firstSeenDateTime", created, "mdeDeviceId", a.mdeDevice, "azureAdDeviceId", a.aadDevice,
			"deviceDnsName", a.device, "hostName", strings.Split(a.device, ".")[0], "ntDomain", a.domain, "dnsDomain", "contoso.com",
			"osPlatform", a.osPlatform, "osBuild", a.osBuild, "version", "22H2", "healthStatus", "active",
			"riskScore", pick(r, []string{"medium", "high", "low"}), "rbacGroupId", a.rbacGroupID, "rbacGroupName", a.rbacGroup,
			"onboardingStatus", "onboarded", "defenderAvStatus", pick(r, []string{"updated", "notUpdated"}),
			"ipInterfaces", []string{a.innerIP, "fe80::" + hexN(r, 2) + ":" + hexN(r, 2)},
			"loggedOnUsers", []obj{{"accountName": a.user, "domainName": a.domain}}, "vmMetadata", nil)
	case evUser:
		set("roles", []string{"compromised"}, "userAccount", userAccount(a))
	case evFile:
		set("detectionStatus", pick(r, []string{"detected", "blocked", "prevented"}), "mdeDeviceId", a.mdeDevice,
			"fileDetails", fileDetails(a, a.file, a.filePath))
	case evProcess:
		set("processId", a.pid, "parentProcessId", a.ppid,
			"processCommandLine", `powershell.exe -NoP -W Hidden -Enc `+strings.ToUpper(hexN(r, 12)),
			"processCreationDateTime", created, "parentProcessCreationDateTime", created, "detectionStatus", "detected",
			"mdeDeviceId", a.mdeDevice,
			"imageFile", fileDetails(a, "powershell.exe", `C:\Windows\System32\WindowsPowerShell\v1.0`),
			"parentProcessImageFile", obj{"sha1": nil, "sha256": nil, "fileName": "explorer.exe", "filePath": `C:\Windows`,
				"fileSize": 4845568, "filePublisher": "Microsoft Corporation", "signer": nil, "issuer": nil},
			"userAccount", userAccount(a))
	case evIP:
		set("roles", []string{"source"}, "ipAddress", a.ip, "countryLetterCode", a.country,
			"location", obj{"countryName": a.country, "city": nil, "latitude": nil, "longitude": nil})
	case evURL:
		set("url", a.url)
	case evMailbox:
		set("displayName", a.display, "primaryAddress", a.upn, "upn", a.upn, "userAccount", userAccount(a))
	case evAnalyzedMessage:
		set("antiSpamDirection", "inbound", "attachmentsCount", int64(r.IntN(3)), "deliveryAction", "delivered",
			"deliveryLocation", pick(r, []string{"inbox", "junkFolder", "quarantine"}),
			"internetMessageId", "<"+strings.ToUpper(hexN(r, 8))+"@"+a.domainBad+">", "language", "en",
			"networkMessageId", a.networkMessageID,
			"p1Sender", obj{"displayName": "Billing", "domainName": a.domainBad, "emailAddress": a.sender},
			"p2Sender", obj{"displayName": "Billing", "domainName": a.domainBad, "emailAddress": a.sender},
			"receivedDateTime", created, "recipientEmailAddress", a.upn, "senderIp", a.ip, "subject", a.mailSubject,
			"threatDetectionMethods", []string{"urlDetonationReputation", "fingerprintMatching"}, "threats", []string{"Phish"},
			"urlCount", int64(1), "urls", []string{a.url},
			"urn", "urn:MailEntity:"+hexN(r, 16))
	case evMailCluster:
		set("clusterBy", "Subject;SenderIp;ContentHash", "clusterByValue", a.mailSubject+";"+a.ip+";"+hexN(r, 8),
			"emailCount", int64(2+r.IntN(40)), "networkMessageIds", []string{a.networkMessageID, guid(r)},
			"query", fmt.Sprintf("(Subject:\"%s\") AND (SenderIp:%s)", a.mailSubject, a.ip), "urn", "urn:MailClusterEntity:"+hexN(r, 16))
	case evCloudApplication:
		set("appId", int64(11161+r.IntN(9)), "displayName", pick(r, []string{"Microsoft Exchange Online", "Microsoft SharePoint Online", "Microsoft Teams"}),
			"instanceId", int64(0), "instanceName", "Contoso", "saasAppId", int64(20893+r.IntN(9)), "stream", obj{"name": "Administrative API"})
	case evOAuthApplication:
		set("appId", guid(r), "displayName", pick(r, []string{"Invoice Sync", "Mail Helper Pro", "PDF Converter Online"}),
			"objectId", guid(r), "publisher", "Unverified")
	case evRegistryKey:
		set("registryHive", "HKEY_LOCAL_MACHINE", "registryKey", `SOFTWARE\Microsoft\Windows\CurrentVersion\Run`)
	case evRegistryValue:
		set("mdeDeviceId", a.mdeDevice, "registryHive", "HKEY_LOCAL_MACHINE", "registryKey", `SOFTWARE\Microsoft\Windows\CurrentVersion\Run`,
			"registryValue", `C:\ProgramData\`+a.file, "registryValueName", "Updater", "registryValueType", "String")
	case evSecurityGroup:
		set("displayName", pick(r, []string{"Domain Admins", "Enterprise Admins", "Backup Operators"}), "securityGroupId", guid(r),
			"sid", "S-1-5-21-1782978722-3188264473-2231428742-512")
	case evAzureResource:
		set("resourceId", "/subscriptions/"+a.subscription+"/resourceGroups/"+a.resourceGroup+"/providers/Microsoft.Storage/storageAccounts/contosodata",
			"resourceName", "contosodata", "resourceType", "Microsoft.Storage/storageAccounts")
	case evAmazonResource:
		set("amazonAccountId", fmt.Sprintf("%012d", r.Int64N(1e12)), "amazonResourceId", "arn:aws:ec2:us-east-1:"+fmt.Sprintf("%012d", r.Int64N(1e12))+":instance/i-"+hexN(r, 8),
			"resourceName", "i-"+hexN(r, 8), "resourceType", "AWS::EC2::Instance")
	case evGoogleCloudResource:
		set("location", "europe-west1-b", "locationType", "zonal", "projectId", "contoso-analytics", "projectNumber", int64(100000000000+r.Int64N(9e11)),
			"resourceName", "analytics-worker-"+hexN(r, 2), "resourceType", "compute.googleapis.com/Instance")
	case evBlobContainer:
		set("name", "backups", "url", "https://contosodata.blob.core.windows.net/backups",
			"storageResource", obj{"@odata.type": "#microsoft.graph.security.azureResourceEvidence", "resourceName": "contosodata",
				"resourceType": "Microsoft.Storage/storageAccounts",
				"resourceId":   "/subscriptions/" + a.subscription + "/resourceGroups/" + a.resourceGroup + "/providers/Microsoft.Storage/storageAccounts/contosodata"})
	case evBlob:
		set("name", "db-export-2026.bak", "url", "https://contosodata.blob.core.windows.net/backups/db-export-2026.bak", "etag", "0x8DC"+strings.ToUpper(hexN(r, 6)),
			"blobContainer", obj{"@odata.type": "#microsoft.graph.security.blobContainerEvidence", "name": "backups"})
		e["fileHashes"] = []obj{{"algorithm": "sha256", "value": a.sha256}}
	case evCloudLogonRequest:
		set("requestId", guid(r))
	case evCloudLogonSession:
		set("account", obj{"@odata.type": "#microsoft.graph.security.userEvidence", "userAccount": userAccount(a)},
			"browser", "Edge 128.0.0", "deviceName", strings.Split(a.device, ".")[0], "operatingSystem", "Windows 11",
			"previousLogonDateTime", created, "protocol", "OAuth2", "sessionId", guid(r), "startUtcDateTime", created,
			"userAgent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36 Edg/128.0.0.0")
	case evContainer:
		set("name", "api", "containerId", hexN(r, 32), "args", []string{"--privileged"}, "command", []string{"/bin/sh", "-c"},
			"isPrivileged", true, "image", containerImage(a), "pod", obj{"name": "payments-api-" + hexN(r, 3), "namespace": k8sNamespace(a)})
	case evContainerImage:
		image := containerImage(a)
		set("imageId", image["imageId"], "digestImage", image["digestImage"], "registry", image["containerRegistry"])
	case evContainerRegistry:
		set("registry", "contosoacr.azurecr.io")
	case evKubernetesCluster:
		for k, v := range k8sCluster(a) {
			e[k] = v
		}
	case evKubernetesController:
		set("name", "payments-api", "type", "Deployment", "labels", obj{"app": "payments-api"}, "namespace", k8sNamespace(a))
	case evKubernetesNamespace:
		for k, v := range k8sNamespace(a) {
			e[k] = v
		}
	case evKubernetesPod:
		set("name", "payments-api-"+hexN(r, 3), "labels", obj{"app": "payments-api"}, "namespace", k8sNamespace(a),
			"podIp", obj{"ipAddress": a.innerIP}, "serviceAccount", obj{"name": "payments-sa", "namespace": k8sNamespace(a)},
			"containers", []obj{{"name": "api", "isPrivileged": true, "image": containerImage(a)}}, "initContainers", []obj{}, "ephemeralContainers", []obj{},
			"controller", obj{"name": "payments-api", "type": "Deployment"})
	case evKubernetesSecret:
		set("name", "payments-db-credentials", "namespace", k8sNamespace(a), "secretType", "Opaque")
	case evKubernetesServiceAccount:
		set("name", "payments-sa", "namespace", k8sNamespace(a))
	case evKubernetesService:
		set("name", "payments-api", "namespace", k8sNamespace(a), "clusterIP", a.innerIP, "externalIPs", []string{}, "labels", obj{"app": "payments-api"},
			"selector", obj{"app": "payments-api"}, "serviceType", "clusterIP",
			"servicePorts", []obj{{"name": "https", "port": 443, "targetPort": "8443", "protocol": "tcp", "nodePort": 0, "appProtocol": "https"}})
	case evDNS:
		set("domainName", a.domainBad, "dnsServerIp", obj{"ipAddress": "10.0.0.4"}, "hostIpAddress", obj{"ipAddress": a.ip})
	}
	return e
}

// legacyEntity renders evidence kind k as a legacy incidents API entity,
// or nil when the legacy API has no entity for it (devices are listed apart).
func legacyEntity(k int, a *actors, created string) obj {
	switch k {
	case evUser, evCloudLogonSession:
		return obj{"entityType": "User", "evidenceCreationTime": created, "accountName": a.user, "domainName": a.domain,
			"userSid": a.sid, "aadUserId": a.aadUser, "userPrincipalName": a.upn, "verdict": "Suspicious", "remediationStatus": "None"}
	case evIP:
		return obj{"entityType": "Ip", "evidenceCreationTime": created, "ipAddress": a.ip, "verdict": "Suspicious", "remediationStatus": "None"}
	case evURL:
		return obj{"entityType": "Url", "evidenceCreationTime": created, "url": a.url, "verdict": "Malicious", "remediationStatus": "None"}
	case evFile:
		return obj{"entityType": "File", "evidenceCreationTime": created, "sha1": a.sha1, "sha256": a.sha256, "fileName": a.file,
			"filePath": a.filePath, "deviceId": a.mdeDevice, "verdict": "Malicious", "remediationStatus": "Prevented"}
	case evProcess:
		return obj{"entityType": "Process", "evidenceCreationTime": created, "sha1": a.sha1, "sha256": a.sha256,
			"fileName": "powershell.exe", "filePath": `C:\Windows\System32\WindowsPowerShell\v1.0`, "processId": a.pid,
			"processCommandLine": "powershell.exe -NoP -W Hidden -Enc ...", "processCreationTime": created,
			"parentProcessId": a.ppid, "parentProcessCreationTime": created, "deviceId": a.mdeDevice,
			"accountName": a.user, "domainName": a.domain, "userSid": a.sid, "verdict": "Suspicious", "remediationStatus": "None"}
	case evMailbox:
		return obj{"entityType": "MailBox", "evidenceCreationTime": created, "mailboxDisplayName": a.display,
			"mailboxAddress": a.upn, "verdict": "Suspicious", "remediationStatus": "None"}
	case evAnalyzedMessage:
		return obj{"entityType": "MailMessage", "evidenceCreationTime": created, "sender": a.sender, "recipient": a.upn,
			"subject": a.mailSubject, "deliveryAction": "Delivered", "networkMessageId": a.networkMessageID,
			"verdict": "Malicious", "remediationStatus": "Remediated"}
	case evMailCluster:
		return obj{"entityType": "MailCluster", "evidenceCreationTime": created, "clusterBy": "Subject;SenderIp;ContentHash",
			"clusterByValue": a.mailSubject, "verdict": "Malicious", "remediationStatus": "Remediated"}
	case evRegistryKey, evRegistryValue:
		return obj{"entityType": "Registry", "evidenceCreationTime": created, "registryHive": "HKEY_LOCAL_MACHINE",
			"registryKey": `SOFTWARE\Microsoft\Windows\CurrentVersion\Run`, "registryValueType": "String",
			"registryValue": `C:\ProgramData\` + a.file, "deviceId": a.mdeDevice, "verdict": "Suspicious", "remediationStatus": "None"}
	case evSecurityGroup:
		return obj{"entityType": "SecurityGroup", "evidenceCreationTime": created, "securityGroupId": "S-1-5-21-1782978722-3188264473-2231428742-512",
			"securityGroupName": "Domain Admins", "verdict": "Suspicious", "remediationStatus": "None"}
	case evCloudApplication, evOAuthApplication:
		return obj{"entityType": "CloudApplication", "evidenceCreationTime": created, "applicationName": "Microsoft Exchange Online",
			"verdict": "Suspicious", "remediationStatus": "None"}
	case evAzureResource, evBlob, evBlobContainer:
		return obj{"entityType": "AzureResource", "evidenceCreationTime": created,
			"resourceId": "/subscriptions/" + a.subscription + "/resourceGroups/" + a.resourceGroup + "/providers/Microsoft.Storage/storageAccounts/contosodata",
			"verdict":    "Suspicious", "remediationStatus": "None"}
	}
	return nil
}

// mdeEvidenceKeys are the fields of a legacy Defender for Endpoint alert
// evidence entry; all are present, null when they do not apply.
var mdeEvidenceKeys = []string{"entityType", "evidenceCreationTime", "sha1", "sha256", "fileName", "filePath", "processId",
	"processCommandLine", "processCreationTime", "parentProcessId", "parentProcessCreationTime", "parentProcessFileName",
	"parentProcessFilePath", "ipAddress", "url", "registryKey", "registryHive", "registryValueType", "registryValue",
	"registryValueName", "accountName", "domainName", "userSid", "aadUserId", "userPrincipalName", "detectionStatus"}

// mdeEvidence renders kind k as a legacy alerts API evidence entry, or nil.
func mdeEvidence(k int, a *actors, created string) obj {
	ent := legacyEntity(k, a, created)
	if ent == nil {
		return nil
	}
	e := make(obj, len(mdeEvidenceKeys))
	for _, key := range mdeEvidenceKeys {
		e[key] = ent[key]
	}
	switch k {
	case evProcess:
		e["parentProcessFileName"] = "explorer.exe"
		e["parentProcessFilePath"] = `C:\Windows`
		e["detectionStatus"] = "Detected"
	case evFile:
		e["detectionStatus"] = "Prevented"
	case evRegistryValue:
		e["registryValueName"] = "Updater"
	}
	return e
}
