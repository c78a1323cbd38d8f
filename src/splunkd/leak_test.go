package splunkd

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestErrorsNeverHoldSecrets drives every failure path with a splunkd that misbehaves by echoing what it got
// (the password, the form body, the Authorization header) and checks that no error text holds the secret or
// the session key, in any spelling.
func TestErrorsNeverHoldSecrets(t *testing.T) {
	const secret = "p@ss word/with:Special&chars=1"
	const sessionKey = "Ses+sion/Key==abc123"
	echo := func(r *http.Request) string {
		r.ParseForm()
		return fmt.Sprintf("got password=%s body=%s auth=%s key=%s", r.PostForm.Get("password"), r.PostForm.Encode(), r.Header.Get("Authorization"), url.QueryEscape(sessionKey))
	}
	ref := SecretRef{App: testApp, Scheme: "m365_defender_incidents", Input: "prod", Param: "client_secret", Keep: url.Values{"tenant_id": {"t"}}}
	tests := []struct {
		name  string
		value string // value given to ResolveSecret
		hook  func(f *fakeSplunkd) func(w http.ResponseWriter, r *http.Request) bool
		uri   string // overrides the fake's URL
	}{
		{name: "CreateFailsJSONEcho", value: secret, hook: func(f *fakeSplunkd) func(http.ResponseWriter, *http.Request) bool {
			return func(w http.ResponseWriter, r *http.Request) bool {
				f.fail(w, true, http.StatusInternalServerError, "ERROR", echo(r))
				return true
			}
		}},
		{name: "CreateFailsXMLEcho", value: secret, hook: func(f *fakeSplunkd) func(http.ResponseWriter, *http.Request) bool {
			return func(w http.ResponseWriter, r *http.Request) bool {
				f.fail(w, false, http.StatusBadRequest, "ERROR", echo(r))
				return true
			}
		}},
		{name: "UpdateAfterConflictEchoes", value: secret, hook: func(f *fakeSplunkd) func(http.ResponseWriter, *http.Request) bool {
			return func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.EscapedPath() == "/servicesNS/nobody/TA-m365-defender/storage/passwords" {
					f.fail(w, true, http.StatusConflict, "ERROR", "An object with name=x already exists; "+echo(r))
				} else {
					f.fail(w, true, http.StatusForbidden, "ERROR", echo(r))
				}
				return true
			}
		}},
		{name: "MaskingFailsEchoes", value: secret, hook: func(f *fakeSplunkd) func(http.ResponseWriter, *http.Request) bool {
			return func(w http.ResponseWriter, r *http.Request) bool {
				if strings.Contains(r.URL.Path, "/data/inputs/") {
					f.fail(w, true, http.StatusBadRequest, "ERROR", echo(r)+" previous value was "+secret)
					return true
				}
				return false
			}
		}},
		{name: "PlainTextErrorBody", value: secret, hook: func(f *fakeSplunkd) func(http.ResponseWriter, *http.Request) bool {
			return func(w http.ResponseWriter, r *http.Request) bool {
				w.WriteHeader(http.StatusBadGateway)
				io.WriteString(w, echo(r))
				return true
			}
		}},
		{name: "ReadBackNotJSON", value: Mask, hook: func(f *fakeSplunkd) func(http.ResponseWriter, *http.Request) bool {
			return func(w http.ResponseWriter, r *http.Request) bool {
				io.WriteString(w, "<html>"+secret+" "+sessionKey+"</html>")
				return true
			}
		}},
		{name: "ReadBackNotFoundEcho", value: Mask, hook: func(f *fakeSplunkd) func(http.ResponseWriter, *http.Request) bool {
			return func(w http.ResponseWriter, r *http.Request) bool {
				f.fail(w, true, http.StatusNotFound, "ERROR", "Could not find object; "+echo(r))
				return true
			}
		}},
		{name: "Unauthorized", value: secret, hook: func(f *fakeSplunkd) func(http.ResponseWriter, *http.Request) bool {
			return func(w http.ResponseWriter, r *http.Request) bool {
				f.fail(w, true, http.StatusUnauthorized, "WARN", "call not properly authenticated: "+r.Header.Get("Authorization"))
				return true
			}
		}},
		{name: "ConnectionDropped", value: secret, hook: func(f *fakeSplunkd) func(http.ResponseWriter, *http.Request) bool {
			return func(w http.ResponseWriter, r *http.Request) bool {
				if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
					conn.Close()
				}
				return true
			}
		}},
		{name: "Refused", value: secret, uri: "refused"},
		{name: "RefusedMasked", value: Mask, uri: "refused"},
		{name: "URIWithCredentials", value: secret, uri: "https://admin:" + secret + "@[::1"},
		{name: "PlainHTTPWithCredentials", value: secret, uri: "http://admin:" + sessionKey + "@splunk.example.com:8089"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, testApp, sessionKey)
			f.addInput(ref.Scheme, ref.Input, map[string]string{"tenant_id": "t", "client_secret": secret})
			if tt.hook != nil {
				f.hook = tt.hook(f)
			}
			uri := f.srv.URL
			switch tt.uri {
			case "":
			case "refused":
				uri = closedURL(t, "http")
			default:
				uri = tt.uri
			}
			c := New(uri, sessionKey, nil)
			_, err := c.ResolveSecret(context.Background(), ref, tt.value)
			if err == nil {
				t.Fatal("ResolveSecret succeeded; the case must fail")
			}
			f.mu.Lock()
			f.nonJSON = nil // the XML case answers XML on purpose
			f.mu.Unlock()
			for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
				for _, leak := range []string{secret, sessionKey} {
					for _, spelling := range []string{leak, url.QueryEscape(leak), url.PathEscape(leak), pathEscape(leak)} {
						if strings.Contains(text, spelling) {
							t.Errorf("error holds %q:\n%s", spelling, text)
						}
					}
				}
			}
			t.Logf("%v", err)
		})
	}
}
