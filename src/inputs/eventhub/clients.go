package eventhub

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2/checkpoints"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"golang.org/x/net/websocket"

	"github.com/ta-m365-defender/ta-m365-defender/src/inputs"
	"github.com/ta-m365-defender/ta-m365-defender/src/inputs/azstorage"
)

// clients are the SDK clients one run uses.
type clients struct {
	consumer *azeventhubs.ConsumerClient
	store    azeventhubs.CheckpointStore
}

func (c *clients) close() {
	if c.consumer != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.consumer.Close(ctx)
	}
}

// connect resolves the secrets and builds the consumer client and the
// checkpoint store.
func (in *Input) connect(ctx context.Context) (*clients, error) {
	cfg, st := in.cfg, in.cfg.Stanza
	tlsCfg, err := inputs.TLSConfig(st)
	if err != nil {
		return nil, err
	}
	opts := &azeventhubs.ConsumerClientOptions{ApplicationID: "TA-m365-defender", TLSConfig: tlsCfg}
	var cred azcore.TokenCredential
	if cfg.Entra.TenantID != "" {
		c, err := in.newCredential(ctx)
		if err != nil {
			return nil, err
		}
		cred = c
	}
	if cfg.Transport == "websockets" {
		proxy, err := proxyFunc(cfg.ProxyURL)
		if err != nil {
			return nil, st.Errorf("proxy_url", "%v", err)
		}
		opts.NewWebSocketConn = func(ctx context.Context, p azeventhubs.WebSocketConnParams) (net.Conn, error) {
			return dialWebSocket(ctx, p.Host, proxy, tlsCfg)
		}
	}
	c := &clients{}
	if cfg.ConnectionString != "" {
		cs, err := in.rt.Secret(ctx, st, "connection_string")
		if err != nil {
			return nil, err
		}
		hub, err := cfg.hubFromConnectionString(cs)
		if err != nil {
			return nil, err
		}
		props, _ := azeventhubs.ParseConnectionString(cs)
		in.hub, in.namespace = hub, props.FullyQualifiedNamespace
		tlsCfg.ServerName = hostOf(in.namespace)
		hubArg := hub
		if props.EntityPath != nil && *props.EntityPath != "" {
			hubArg = ""
		}
		if c.consumer, err = azeventhubs.NewConsumerClientFromConnectionString(cs, hubArg, cfg.ConsumerGroup, opts); err != nil {
			return nil, st.Errorf("connection_string", "cannot be used: %v", in.rt.Secrets.Redact(err.Error()))
		}
	} else {
		in.hub, in.namespace = cfg.EventHub, cfg.Namespace
		tlsCfg.ServerName = hostOf(in.namespace)
		if c.consumer, err = azeventhubs.NewConsumerClient(cfg.Namespace, cfg.EventHub, cfg.ConsumerGroup, cred, opts); err != nil {
			return nil, st.Errorf("namespace", "cannot be used: %v", err)
		}
	}
	if c.store, err = in.checkpointStore(ctx, cred); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// hostOf strips a port from a namespace. go-amqp leaves ServerName empty
// when given a TLS config, so the namespace's certificate is verified by this
// name.
func hostOf(namespace string) string {
	if h, _, err := net.SplitHostPort(namespace); err == nil {
		return h
	}
	return namespace
}

// checkpointStore builds the local or the blob checkpoint store; the blob
// container is created if missing, tolerating a concurrent creator.
func (in *Input) checkpointStore(ctx context.Context, cred azcore.TokenCredential) (azeventhubs.CheckpointStore, error) {
	cfg, st := in.cfg, in.cfg.Stanza
	if cfg.CheckpointStore == "local" {
		if in.rt.Checkpoints == nil {
			return nil, st.Errorf("checkpoint_store", "local needs splunkd's checkpoint_dir, which is not set")
		}
		now := in.rt.Now
		if now == nil {
			now = time.Now
		}
		return newLocalStore(in.rt.Checkpoints, now), nil
	}
	cc, param, err := in.containerClient(ctx, cred)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := cc.Create(cctx, nil); err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		// Not a *ParamError: the container may be briefly unreachable, and
		// Run retries this.
		return nil, fmt.Errorf("stanza %q: parameter %q: cannot create or reach checkpoint container %q (the identity needs Storage Blob Data Contributor): %s",
			st.Name, param, cfg.StorageContainer, in.rt.Secrets.Redact(errText(err)))
	}
	store, err := checkpoints.NewBlobStore(cc, nil)
	if err != nil {
		return nil, st.Errorf(param, "blob checkpoint store: %v", err)
	}
	return store, nil
}

// containerClient builds the checkpoint container's client without any
// request, and names the parameter it came from.
func (in *Input) containerClient(ctx context.Context, cred azcore.TokenCredential) (*container.Client, string, error) {
	cfg, st := in.cfg, in.cfg.Stanza
	httpClient, err := inputs.HTTPClient(st)
	if err != nil {
		return nil, "", err
	}
	copts := &container.ClientOptions{ClientOptions: policy.ClientOptions{Transport: httpClient}}
	var cc *container.Client
	param := "storage_connection_string"
	if cfg.StorageConnectionString != "" {
		scs, err := in.rt.Secret(ctx, st, "storage_connection_string")
		if err != nil {
			return nil, param, err
		}
		// Build the client from what azstorage parsed and checked (https,
		// or http only on loopback), not from the raw string: the SDK reads
		// the keys differently and would take a duplicate http endpoint.
		parsed, err := azstorage.ParseConnString(scs)
		if err != nil {
			return nil, param, st.Errorf(param, "%v", err)
		}
		in.rt.Secrets.Add(parsed.AccountKey)
		in.rt.Secrets.Add(parsed.SAS)
		u := parsed.Endpoint + "/" + cfg.StorageContainer
		if parsed.AccountKey != "" {
			cred, err := container.NewSharedKeyCredential(parsed.AccountName, parsed.AccountKey)
			if err != nil {
				return nil, param, st.Errorf(param, "AccountKey is not usable")
			}
			cc, err = container.NewClientWithSharedKeyCredential(u, cred, copts)
			if err != nil {
				return nil, param, st.Errorf(param, "cannot build a client for %s", parsed.Endpoint)
			}
		} else if cc, err = container.NewClientWithNoCredential(u+"?"+parsed.SAS, copts); err != nil {
			return nil, param, st.Errorf(param, "cannot build a client for %s with the SAS token", parsed.Endpoint)
		}
	} else {
		param = "storage_account_url"
		u := strings.TrimSuffix(cfg.StorageAccountURL, "/") + "/" + cfg.StorageContainer
		if pu, err := url.Parse(u); err == nil && pu.Scheme == "http" && inputs.IsLoopback(pu.Hostname()) {
			copts.InsecureAllowCredentialWithHTTP = true // validated: loopback only
		}
		if cc, err = container.NewClient(u, cred, copts); err != nil {
			return nil, param, st.Errorf(param, "cannot be used: %v", err)
		}
	}
	return cc, param, nil
}

// errText is the first line of an SDK error: the response dump that follows
// it adds nothing a Splunk administrator needs.
func errText(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i > 0 {
		s = s[:i]
	}
	return s
}

// credential builds the Entra ID credential for the chosen cloud.
func (in *Input) credential(ctx context.Context) (azcore.TokenCredential, error) {
	cfg, st := in.cfg, in.cfg.Stanza
	httpClient, err := inputs.HTTPClient(st)
	if err != nil {
		return nil, err
	}
	copts := azcore.ClientOptions{Cloud: cloudFor(cfg.Entra.Environment), Transport: httpClient}
	if cfg.Entra.CertificateFile != "" {
		pem, err := os.ReadFile(cfg.Entra.CertificateFile)
		if err != nil {
			return nil, st.Errorf("client_certificate", "cannot read: %v", err)
		}
		certs, key, err := azidentity.ParseCertificates(pem, nil)
		if err != nil {
			return nil, st.Errorf("client_certificate", "expected a PEM file with the certificate and its unencrypted private key: %v", err)
		}
		c, err := azidentity.NewClientCertificateCredential(cfg.Entra.TenantID, cfg.Entra.ClientID, certs, key, &azidentity.ClientCertificateCredentialOptions{ClientOptions: copts, SendCertificateChain: true})
		if err != nil {
			return nil, st.Errorf("client_certificate", "%v", err)
		}
		return c, nil
	}
	secret, err := in.rt.Secret(ctx, st, "client_secret")
	if err != nil {
		return nil, err
	}
	c, err := azidentity.NewClientSecretCredential(cfg.Entra.TenantID, cfg.Entra.ClientID, secret, &azidentity.ClientSecretCredentialOptions{ClientOptions: copts})
	if err != nil {
		return nil, st.Errorf("tenant_id", "%v", err)
	}
	return c, nil
}

// cloudFor maps the environment parameter to the Azure cloud: GCC runs on
// Azure commercial, GCC High and DoD on Azure Government.
func cloudFor(env string) cloud.Configuration {
	switch env {
	case "gcc_high", "dod":
		return cloud.AzureGovernment
	}
	return cloud.AzurePublic
}

func proxyFunc(proxyURL string) (func(*http.Request) (*url.URL, error), error) {
	if proxyURL == "" {
		return http.ProxyFromEnvironment, nil
	}
	u, err := url.Parse(proxyURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("expected a proxy URL such as http://proxy.example.com:3128")
	}
	return http.ProxyURL(u), nil
}

// dialWebSocket opens AMQP over a WebSocket (wss://<namespace>/$servicebus/websocket)
// through the proxy, if any, with TLS verified.
func dialWebSocket(ctx context.Context, target string, proxy func(*http.Request) (*url.URL, error), tlsCfg *tls.Config) (net.Conn, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("eventhub: websocket URL: %w", err)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "443")
	}
	var d net.Dialer
	var conn net.Conn
	pu, err := proxy(&http.Request{URL: &url.URL{Scheme: "https", Host: host}})
	if err != nil {
		return nil, fmt.Errorf("eventhub: proxy: %w", err)
	}
	if pu != nil {
		if conn, err = d.DialContext(ctx, "tcp", pu.Host); err != nil {
			return nil, fmt.Errorf("eventhub: dialing proxy %s: %w", pu.Host, err)
		}
		if pu.Scheme == "https" {
			// An https:// proxy is spoken to over TLS, verified like any host.
			pc := tlsCfg.Clone()
			pc.ServerName = pu.Hostname()
			tc := tls.Client(conn, pc)
			if err := tc.HandshakeContext(ctx); err != nil {
				conn.Close()
				return nil, fmt.Errorf("eventhub: TLS with proxy %s: %w", pu.Host, err)
			}
			conn = tc
		}
		if err := connectThrough(conn, pu, host); err != nil {
			conn.Close()
			return nil, err
		}
	} else if conn, err = d.DialContext(ctx, "tcp", host); err != nil {
		return nil, fmt.Errorf("eventhub: dialing %s: %w", host, err)
	}
	tc := tlsCfg.Clone()
	tc.ServerName = u.Hostname()
	tconn := tls.Client(conn, tc)
	if err := tconn.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("eventhub: TLS with %s: %w", u.Hostname(), err)
	}
	wcfg, err := websocket.NewConfig(target, "https://"+u.Hostname())
	if err != nil {
		tconn.Close()
		return nil, err
	}
	wcfg.Protocol = []string{"amqp"}
	ws, err := websocket.NewClient(wcfg, tconn)
	if err != nil {
		tconn.Close()
		return nil, fmt.Errorf("eventhub: websocket handshake with %s: %w", u.Hostname(), err)
	}
	ws.PayloadType = websocket.BinaryFrame
	return ws, nil
}

// connectThrough asks an HTTP proxy for a tunnel to host.
func connectThrough(conn net.Conn, proxy *url.URL, host string) error {
	req := "CONNECT " + host + " HTTP/1.1\r\nHost: " + host + "\r\n"
	if proxy.User != nil {
		pw, _ := proxy.User.Password()
		req += "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(proxy.User.Username()+":"+pw)) + "\r\n"
	}
	if _, err := conn.Write([]byte(req + "\r\n")); err != nil {
		return fmt.Errorf("eventhub: proxy CONNECT: %w", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: http.MethodConnect})
	if err != nil {
		return fmt.Errorf("eventhub: proxy CONNECT: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("eventhub: proxy %s refused CONNECT to %s: %s", proxy.Host, host, resp.Status)
	}
	return nil
}
