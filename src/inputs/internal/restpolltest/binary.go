package restpolltest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
)

// Gate is a proxy in front of a simulator that holds API request number
// HoldAt (token requests are not counted) until the client goes away, and
// closes Held when it does: with Mode "between", before answering (the
// previous page is flushed and checkpointed by then); with "midpage",
// after sending 90% of the page (more events than the event writer
// buffers, so part of the page reaches stdout before a kill).
type Gate struct {
	proxy *httputil.ReverseProxy
	mu    sync.Mutex
	n     int
	hold  int
	mode  string
	Held  chan struct{}
}

// NewGate returns a gate in front of the simulator at simURL.
func NewGate(simURL string, holdAt int, mode string) *Gate {
	target, _ := url.Parse(simURL)
	return &Gate{proxy: httputil.NewSingleHostReverseProxy(target), hold: holdAt, mode: mode, Held: make(chan struct{})}
}

// Open lets every later request through.
func (g *Gate) Open() {
	g.mu.Lock()
	g.hold = 0
	g.mu.Unlock()
}

func (g *Gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/token") {
		g.proxy.ServeHTTP(w, r)
		return
	}
	g.mu.Lock()
	g.n++
	hold := g.hold > 0 && g.n == g.hold
	g.mu.Unlock()
	if !hold {
		g.proxy.ServeHTTP(w, r)
		return
	}
	if g.mode == "midpage" {
		rec := httptest.NewRecorder()
		g.proxy.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		w.Write(body[:len(body)*9/10])
		w.(http.Flusher).Flush()
	}
	close(g.Held)
	<-r.Context().Done() // until the client dies
}

// InputXML is splunkd's <input> document for one stanza scheme://name
// with params, checkpoints in dir.
func InputXML(dir, scheme, name string, params map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<input><server_host>test</server_host><server_uri></server_uri><session_key></session_key><checkpoint_dir>%s</checkpoint_dir><configuration>", XMLEscape(dir))
	fmt.Fprintf(&b, `<stanza name="%s://%s" app="TA-m365-defender">`, scheme, XMLEscape(name))
	for k, v := range params {
		fmt.Fprintf(&b, `<param name="%s">%s</param>`, k, XMLEscape(v))
	}
	b.WriteString("</stanza></configuration></input>")
	return b.String()
}

// XMLEscape escapes s for XML text and attributes.
func XMLEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace(s)
}
