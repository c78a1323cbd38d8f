package splunkd

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
)

// fakeSplunkd answers like splunkd's management port for the endpoints this package uses. It keeps its own
// implementation of credential-name escaping, so a client that escapes wrongly gets 404s.
type fakeSplunkd struct {
	t          *testing.T
	app        string
	sessionKey string
	srv        *httptest.Server

	mu             sync.Mutex
	passwords      map[[2]string]string                              // (realm, user) -> password
	inputs         map[string]map[string]string                      // "scheme/name" -> params
	requiredOnEdit map[string][]string                               // scheme -> required_on_edit args
	requests       []string                                          // "METHOD escaped-path" in order
	nonJSON        []string                                          // requests that did not ask for output_mode=json
	hook           func(w http.ResponseWriter, r *http.Request) bool // handles a request itself when it returns true
}

// newFake starts a fake splunkd on loopback for app with the given session key.
func newFake(t *testing.T, app, sessionKey string) *fakeSplunkd {
	f := &fakeSplunkd{
		t: t, app: app, sessionKey: sessionKey,
		passwords:      map[[2]string]string{},
		inputs:         map[string]map[string]string{},
		requiredOnEdit: map[string][]string{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		f.srv.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, r := range f.nonJSON {
			t.Errorf("request without output_mode=json: %s", r)
		}
	})
	return f
}

func (f *fakeSplunkd) client() *Client { return New(f.srv.URL, f.sessionKey, f.srv.Client()) }

func (f *fakeSplunkd) addInput(scheme, name string, params map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inputs[scheme+"/"+name] = params
}

func (f *fakeSplunkd) input(scheme, name string) map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inputs[scheme+"/"+name]
}

func (f *fakeSplunkd) password(realm, user string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.passwords[[2]string{realm, user}]
	return p, ok
}

func (f *fakeSplunkd) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

// fakeEscape and fakeParseName are the fake's own reading of splunkd's credential names.
func fakeEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `:`, `\:`)
}

func fakeParseName(name string) (realm, user string, ok bool) {
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c == '\\' && i+1 < len(name):
			i++
			cur.WriteByte(name[i])
		case c == ':':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	if cur.Len() != 0 || len(parts) != 2 {
		return "", "", false
	}
	return parts[0], parts[1], true
}

func (f *fakeSplunkd) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.EscapedPath())
	jsonMode := r.URL.Query().Get("output_mode") == "json"
	if !jsonMode {
		f.nonJSON = append(f.nonJSON, r.Method+" "+r.URL.String())
	}
	hook := f.hook
	f.mu.Unlock()
	if hook != nil && hook(w, r) {
		return
	}
	if r.Header.Get("Authorization") != "Splunk "+f.sessionKey {
		f.fail(w, jsonMode, http.StatusUnauthorized, "WARN", "call not properly authenticated")
		return
	}
	segs := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil {
			f.fail(w, jsonMode, http.StatusBadRequest, "ERROR", "bad path")
			return
		}
		segs[i] = u
	}
	if len(segs) < 4 || segs[0] != "servicesNS" || segs[1] != "nobody" || segs[2] != f.app {
		f.fail(w, jsonMode, http.StatusNotFound, "ERROR", "Not Found")
		return
	}
	if err := r.ParseForm(); err != nil {
		f.fail(w, jsonMode, http.StatusBadRequest, "ERROR", "bad form")
		return
	}
	rest := segs[3:]
	switch {
	case len(rest) == 2 && rest[0] == "storage" && rest[1] == "passwords" && r.Method == http.MethodPost:
		f.createPassword(w, r, jsonMode)
	case len(rest) == 3 && rest[0] == "storage" && rest[1] == "passwords":
		f.passwordEntity(w, r, jsonMode, rest[2])
	case len(rest) == 4 && rest[0] == "data" && rest[1] == "inputs":
		f.inputEntity(w, r, jsonMode, rest[2], rest[3])
	default:
		f.fail(w, jsonMode, http.StatusNotFound, "ERROR", "Not Found")
	}
}

func (f *fakeSplunkd) createPassword(w http.ResponseWriter, r *http.Request, jsonMode bool) {
	user, realm, pw := r.PostForm.Get("name"), r.PostForm.Get("realm"), r.PostForm.Get("password")
	if user == "" || !r.PostForm.Has("password") {
		f.fail(w, jsonMode, http.StatusBadRequest, "ERROR", "Missing argument: name and password are required")
		return
	}
	name := fakeEscape(realm) + ":" + fakeEscape(user) + ":"
	f.mu.Lock()
	_, exists := f.passwords[[2]string{realm, user}]
	if !exists {
		f.passwords[[2]string{realm, user}] = pw
	}
	f.mu.Unlock()
	if exists {
		f.fail(w, jsonMode, http.StatusConflict, "ERROR", "\n In handler 'passwords': An object with name="+name+" already exists\n")
		return
	}
	// Recent splunkd versions mask clear_password in POST answers.
	f.entry(w, jsonMode, http.StatusCreated, name, map[string]any{"realm": realm, "username": user, "password": "********", "clear_password": "********", "encr_password": "$7$abc"})
}

func (f *fakeSplunkd) passwordEntity(w http.ResponseWriter, r *http.Request, jsonMode bool, name string) {
	realm, user, ok := fakeParseName(name)
	if !ok {
		f.fail(w, jsonMode, http.StatusNotFound, "ERROR", "\n In handler 'passwords': Could not find object id="+name)
		return
	}
	key := [2]string{realm, user}
	f.mu.Lock()
	pw, exists := f.passwords[key]
	f.mu.Unlock()
	if !exists {
		f.fail(w, jsonMode, http.StatusNotFound, "ERROR", "\n In handler 'passwords': Could not find object id="+name)
		return
	}
	switch r.Method {
	case http.MethodGet:
		f.entry(w, jsonMode, http.StatusOK, name, map[string]any{"realm": realm, "username": user, "password": "********", "clear_password": pw, "encr_password": "$7$abc",
			"eai:acl": map[string]any{"app": f.app, "owner": "nobody", "sharing": "app"}})
	case http.MethodPost:
		if !r.PostForm.Has("password") {
			f.fail(w, jsonMode, http.StatusBadRequest, "ERROR", "Missing argument: password")
			return
		}
		f.mu.Lock()
		f.passwords[key] = r.PostForm.Get("password")
		f.mu.Unlock()
		f.entry(w, jsonMode, http.StatusOK, name, map[string]any{"realm": realm, "username": user, "password": "********"})
	case http.MethodDelete:
		f.mu.Lock()
		delete(f.passwords, key)
		f.mu.Unlock()
		f.feed(w, http.StatusOK, nil, nil)
	default:
		f.fail(w, jsonMode, http.StatusMethodNotAllowed, "ERROR", "Method not allowed")
	}
}

func (f *fakeSplunkd) inputEntity(w http.ResponseWriter, r *http.Request, jsonMode bool, scheme, name string) {
	f.mu.Lock()
	params, ok := f.inputs[scheme+"/"+name]
	required := f.requiredOnEdit[scheme]
	f.mu.Unlock()
	if !ok {
		f.fail(w, jsonMode, http.StatusNotFound, "ERROR", "\n In handler '"+scheme+"': Could not find object id="+name)
		return
	}
	switch r.Method {
	case http.MethodGet:
	case http.MethodPost:
		for _, a := range required {
			if !r.PostForm.Has(a) {
				f.fail(w, jsonMode, http.StatusBadRequest, "ERROR", fmt.Sprintf("Argument %q is required to edit this input", a))
				return
			}
		}
		f.mu.Lock()
		for k := range r.PostForm {
			params[k] = r.PostForm.Get(k)
		}
		f.mu.Unlock()
	default:
		f.fail(w, jsonMode, http.StatusMethodNotAllowed, "ERROR", "Method not allowed")
		return
	}
	content := map[string]any{"disabled": false, "interval": json.Number("300"), "host": "splunk-1",
		"eai:acl": map[string]any{"app": f.app}, "eai:appName": f.app, "start_by_shell": nil}
	f.mu.Lock()
	for k, v := range params {
		content[k] = v
	}
	f.mu.Unlock()
	f.entry(w, jsonMode, http.StatusOK, name, content)
}

// entry answers a feed with one entry (JSON) or, without output_mode=json, an Atom feed.
func (f *fakeSplunkd) entry(w http.ResponseWriter, jsonMode bool, status int, name string, content map[string]any) {
	if !jsonMode {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(status)
		b, err := os.ReadFile("../../../shared/fixtures/splunk-sdk/csharp/StoragePassword.GetAsync.xml")
		if err != nil {
			b = []byte(`<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom"/>`)
		}
		w.Write(b)
		return
	}
	f.feed(w, status, []map[string]any{{"name": name, "author": "nobody", "acl": map[string]any{"app": f.app}, "content": content}}, nil)
}

func (f *fakeSplunkd) feed(w http.ResponseWriter, status int, entries []map[string]any, messages []map[string]string) {
	if entries == nil {
		entries = []map[string]any{}
	}
	if messages == nil {
		messages = []map[string]string{}
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"links": map[string]any{}, "origin": f.srv.URL, "generator": map[string]string{"build": "fake", "version": "9.2.0"},
		"entry": entries, "paging": map[string]int{"total": len(entries), "perPage": 30, "offset": 0}, "messages": messages,
	})
}

// fail answers an error the way splunkd does: JSON messages, or <response><messages> in XML mode.
func (f *fakeSplunkd) fail(w http.ResponseWriter, jsonMode bool, status int, typ, text string) {
	if jsonMode {
		f.feed(w, status, nil, []map[string]string{{"type": typ, "text": text}})
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(status)
	var esc strings.Builder
	xml.EscapeText(&esc, []byte(text))
	fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<response>\n  <messages>\n    <msg type=%q>%s</msg>\n  </messages>\n</response>\n", typ, esc.String())
}

// sortedKeys returns m's keys in order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
