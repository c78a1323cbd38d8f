// Package azstorage parses and checks Azure Storage connection strings and
// blob endpoints for the inputs that use Blob storage (the storage-account
// input and the Event Hub input's shared checkpoint store): https only, plain
// http and the development emulator only on loopback, and error messages that
// name keys, never values.
package azstorage

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
)

// The storage emulator's well-known account, used by UseDevelopmentStorage=true.
// Its key is published with the emulator and works nowhere else.
const (
	devStorageAccount  = "devstoreaccount1"
	devStorageKey      = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
	devStorageEndpoint = "http://127.0.0.1:10000/" + devStorageAccount
)

// ConnString is a parsed storage connection string. Only the parts the input
// needs are kept; AccountKey and SAS are secrets.
type ConnString struct {
	Endpoint    string // blob endpoint, no trailing slash, no query
	AccountName string
	AccountKey  string // base64; empty with a SAS
	SAS         string // without the leading '?'; empty with a key
}

// ParseConnString parses "Key=Value;Key=Value" as Azure Storage writes it.
// Error messages name keys, never values.
func ParseConnString(s string) (*ConnString, error) {
	kv := map[string]string{}
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, errors.New("not a storage connection string: expected Key=Value pairs separated by ';' (AccountName, AccountKey, BlobEndpoint or EndpointSuffix)")
		}
		kv[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	if strings.EqualFold(kv["usedevelopmentstorage"], "true") {
		// The local emulator's well-known account (public, emulator only).
		cs := &ConnString{Endpoint: devStorageEndpoint, AccountName: devStorageAccount, AccountKey: devStorageKey}
		if p := kv["developmentstorageproxyuri"]; p != "" {
			cs.Endpoint = strings.TrimRight(p, "/") + "/" + devStorageAccount
		}
		if u, err := url.Parse(cs.Endpoint); err != nil || !inputs.IsLoopback(u.Hostname()) {
			return nil, errors.New("UseDevelopmentStorage=true is allowed only for an emulator on a loopback address")
		}
		return cs, nil
	}
	if _, ok := kv["endpoint"]; ok {
		if _, ok := kv["entitypath"]; ok || kv["sharedaccesskeyname"] != "" {
			return nil, errors.New("this is an Event Hubs connection string (Endpoint=sb://...); expected a storage account connection string (AccountName=...;AccountKey=...)")
		}
	}
	cs := &ConnString{AccountName: kv["accountname"], AccountKey: kv["accountkey"], SAS: strings.TrimPrefix(kv["sharedaccesssignature"], "?")}
	switch {
	case cs.AccountKey != "" && cs.SAS != "":
		return nil, errors.New("has both AccountKey and SharedAccessSignature; keep one")
	case cs.AccountKey != "":
		if cs.AccountName == "" {
			return nil, errors.New("AccountKey needs AccountName")
		}
		if _, err := base64.StdEncoding.DecodeString(cs.AccountKey); err != nil {
			return nil, errors.New("AccountKey is not valid base64 (copy the key from the storage account's Access keys page)")
		}
	case cs.SAS != "":
	default:
		return nil, errors.New("needs AccountName and AccountKey, or SharedAccessSignature")
	}
	if ep := kv["blobendpoint"]; ep != "" {
		cs.Endpoint = strings.TrimRight(ep, "/")
	} else {
		if cs.AccountName == "" {
			return nil, errors.New("needs BlobEndpoint or AccountName to know the blob endpoint")
		}
		proto := strings.ToLower(kv["defaultendpointsprotocol"])
		if proto == "" {
			proto = "https"
		}
		suffix := kv["endpointsuffix"]
		if suffix == "" {
			suffix = "core.windows.net"
		}
		cs.Endpoint = proto + "://" + cs.AccountName + ".blob." + suffix
	}
	if err := CheckEndpoint(cs.Endpoint); err != nil {
		return nil, fmt.Errorf("blob endpoint: %w", err)
	}
	return cs, nil
}

// CheckEndpoint accepts https URLs, and http only for loopback hosts (Azurite).
func CheckEndpoint(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("expected a URL such as https://<account>.blob.core.windows.net")
	}
	if u.User != nil {
		return fmt.Errorf("must not carry user information")
	}
	if u.RawQuery != "" {
		return fmt.Errorf("must not carry a query string (use connection_string for a SAS token)")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if inputs.IsLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("plain http is allowed only for loopback addresses (an emulator); use https://")
	}
	return fmt.Errorf("expected an https:// URL, got scheme %q", u.Scheme)
}
