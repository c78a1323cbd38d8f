package storage

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
	"github.com/ta-m365-defender/ta-m365-defender/src/inputs/azstorage"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
)

// userAgent is sent as the SDK's application id.
const userAgent = "TA-m365-defender"

// connect builds the service client from the configuration, once.
func (in *Input) connect() error {
	if in.svc != nil {
		return nil
	}
	hc, err := in.httpClient()
	if err != nil {
		return err
	}
	opts := &service.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: hc,
		// Retries are ours (logged per the logging contract, Retry-After honoured).
		Retry:     policy.RetryOptions{MaxRetries: -1},
		Telemetry: policy.TelemetryOptions{ApplicationID: userAgent},
	}}
	var c *service.Client
	if in.cfg.ConnectionString != "" {
		cs, err := azstorage.ParseConnString(in.cfg.ConnectionString)
		if err != nil {
			return modinputParamError(in.cfg.Stanza, ParamConnectionString, err)
		}
		if in.rt.Secrets != nil {
			in.rt.Secrets.Add(cs.AccountKey)
			in.rt.Secrets.Add(cs.SAS)
		}
		if cs.AccountKey != "" {
			in.retry.permHint = "the storage account refused the request: check the account key (keys may have been rotated) and the account's network rules (firewall) for this host"
			cred, err := service.NewSharedKeyCredential(cs.AccountName, cs.AccountKey)
			if err != nil {
				return modinputParamError(in.cfg.Stanza, ParamConnectionString, fmt.Errorf("AccountKey is not usable"))
			}
			c, err = service.NewClientWithSharedKeyCredential(cs.Endpoint+"/", cred, opts)
			if err != nil {
				return modinputParamError(in.cfg.Stanza, ParamConnectionString, fmt.Errorf("cannot build a client for the blob endpoint %s", cs.Endpoint))
			}
		} else {
			in.retry.permHint = "the SAS token does not allow this: it needs the service, container and object resource types with read and list permissions, an unexpired end time, and an allowed IP range"
			c, err = service.NewClientWithNoCredential(cs.Endpoint+"/?"+cs.SAS, opts)
			if err != nil {
				return modinputParamError(in.cfg.Stanza, ParamConnectionString, fmt.Errorf("cannot build a client for the blob endpoint %s with the SAS token", cs.Endpoint))
			}
		}
	} else {
		in.retry.permHint = fmt.Sprintf("the Entra ID app lacks access; assign it the %q role on the storage account (role assignments take a few minutes to apply), and check the account's network rules", readerRole)
		cred, err := in.credential(hc)
		if err != nil {
			return err
		}
		u, _ := url.Parse(in.cfg.AccountURL)
		opts.InsecureAllowCredentialWithHTTP = u != nil && u.Scheme == "http" && inputs.IsLoopback(u.Hostname())
		c, err = service.NewClient(strings.TrimRight(in.cfg.AccountURL, "/")+"/", cred, opts)
		if err != nil {
			return modinputParamError(in.cfg.Stanza, ParamAccountURL, fmt.Errorf("cannot build a client: %v", scrub(err.Error())))
		}
	}
	in.svc = azService{c: c}
	return nil
}

// credential builds the Entra ID credential for account_url.
func (in *Input) credential(hc *http.Client) (azcore.TokenCredential, error) {
	e := in.cfg.Entra
	cl, err := cloudFor(e.Environment)
	if err != nil {
		return nil, modinputParamError(in.cfg.Stanza, ParamEnvironment, err)
	}
	discovery := false
	if in.authority != "" {
		cl.ActiveDirectoryAuthorityHost = in.authority
		discovery = true // a private authority has no instance metadata
	}
	co := azcore.ClientOptions{Cloud: cl, Transport: hc}
	if e.ClientSecret != "" {
		if in.rt.Secrets != nil {
			in.rt.Secrets.Add(e.ClientSecret)
		}
		c, err := azidentity.NewClientSecretCredential(e.TenantID, e.ClientID, e.ClientSecret, &azidentity.ClientSecretCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: discovery})
		if err != nil {
			return nil, modinputParamError(in.cfg.Stanza, ParamTenantID, fmt.Errorf("cannot build the client secret credential: %v", in.redact(err.Error())))
		}
		return c, nil
	}
	data, err := os.ReadFile(e.CertificateFile)
	if err != nil {
		return nil, modinputParamError(in.cfg.Stanza, ParamClientCert, fmt.Errorf("cannot read the certificate file: %v", err))
	}
	certs, key, err := azidentity.ParseCertificates(data, nil)
	if err != nil {
		return nil, modinputParamError(in.cfg.Stanza, ParamClientCert, fmt.Errorf("expected a PEM (or unencrypted PKCS#12) file holding the certificate and its private key: %v", err))
	}
	c, err := azidentity.NewClientCertificateCredential(e.TenantID, e.ClientID, certs, key, &azidentity.ClientCertificateCredentialOptions{ClientOptions: co, SendCertificateChain: true, DisableInstanceDiscovery: discovery})
	if err != nil {
		return nil, modinputParamError(in.cfg.Stanza, ParamClientCert, fmt.Errorf("cannot build the certificate credential: %v", err))
	}
	return c, nil
}

// cloudFor maps the environment parameter (inputs.Environments) to the
// SDK's cloud configuration, which picks the Entra ID authority host: GCC
// signs in through the commercial cloud, GCC High and DoD through the US
// Government cloud.
func cloudFor(env string) (cloud.Configuration, error) {
	switch strings.ToLower(strings.TrimSpace(env)) {
	case "", "commercial", "gcc":
		return cloud.AzurePublic, nil
	case "gcc_high", "dod":
		return cloud.AzureGovernment, nil
	}
	return cloud.Configuration{}, fmt.Errorf("expected one of %s, got %q", strings.Join(inputs.Environments, ", "), env)
}

// httpClient returns the runtime's client, or one honouring proxy_url and ca_file.
func (in *Input) httpClient() (*http.Client, error) {
	if in.rt.HTTPClient != nil {
		return in.rt.HTTPClient, nil
	}
	params := map[string]string{}
	if in.cfg.ProxyURL != "" {
		params[ParamProxyURL] = in.cfg.ProxyURL
		if u, err := url.Parse(in.cfg.ProxyURL); err == nil && u.User != nil && in.rt.Secrets != nil {
			if p, ok := u.User.Password(); ok {
				in.rt.Secrets.Add(p)
			}
		}
	}
	if in.cfg.CAFile != "" {
		params[ParamCAFile] = in.cfg.CAFile
	}
	hc, err := inputs.HTTPClient(modinput.Stanza{Name: in.cfg.Stanza, Params: params})
	if err != nil {
		return nil, err
	}
	// Downloads of large blobs stream for minutes: no whole-request timeout;
	// the transport's header timeout still catches a silent server.
	hc.Timeout = 0
	return hc, nil
}
