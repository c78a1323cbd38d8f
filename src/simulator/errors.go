package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"crypto/rand"
)

// newGUID returns a random RFC 4122 version 4 id, as Microsoft's request,
// trace and correlation ids are.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// writeJSON writes v with status and the JSON content type Graph uses.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// apiFlavor says which error body shape an API uses.
type apiFlavor int

const (
	flavorGraph apiFlavor = iota
	flavorLegacy
)

// apiError is an error answer of Graph or a legacy API.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.code, e.message) }

func badRequest(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "BadRequest", message: fmt.Sprintf(format, args...)}
}

// writeAPIError writes e in the flavor's body shape with a fresh request id.
func writeAPIError(w http.ResponseWriter, r *http.Request, flavor apiFlavor, e *apiError, now time.Time) {
	reqID := w.Header().Get("request-id")
	if reqID == "" {
		reqID = newGUID()
	}
	if flavor == flavorLegacy {
		writeJSON(w, e.status, map[string]any{"error": map[string]any{
			"code": e.code, "message": e.message, "target": reqID,
		}})
		return
	}
	type inner struct {
		Date            string `json:"date"`
		RequestID       string `json:"request-id"`
		ClientRequestID string `json:"client-request-id"`
	}
	type body struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError inner  `json:"innerError"`
	}
	crid := r.Header.Get("client-request-id")
	if crid == "" {
		crid = reqID
	}
	writeJSON(w, e.status, map[string]body{"error": {
		Code: e.code, Message: e.message,
		InnerError: inner{Date: now.UTC().Format("2006-01-02T15:04:05"), RequestID: reqID, ClientRequestID: crid},
	}})
}

// aadError is an Entra ID token endpoint error.
type aadError struct {
	status int
	err    string // RFC 6749 error code
	code   int    // AADSTS number
	text   string // description after "AADSTSnnn: "
}

func (s *Server) writeAADError(w http.ResponseWriter, e aadError) {
	now := s.clock().UTC()
	trace, corr := newGUID(), newGUID()
	desc := fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s",
		e.code, e.text, trace, corr, now.Format("2006-01-02 15:04:05Z"))
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Header().Set("x-ms-request-id", trace)
	b, _ := marshal(struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
		ErrorCodes       []int  `json:"error_codes"`
		Timestamp        string `json:"timestamp"`
		TraceID          string `json:"trace_id"`
		CorrelationID    string `json:"correlation_id"`
		ErrorURI         string `json:"error_uri"`
	}{e.err, desc, []int{e.code}, now.Format("2006-01-02 15:04:05Z"), trace, corr,
		"https://login.microsoftonline.com/error?code=" + strconv.Itoa(e.code)})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.status)
	_, _ = w.Write(b)
}

// quoteList joins roles as Graph's "Missing application roles" message does.
func quoteList(roles []string) string { return strings.Join(roles, ",") }

// marshal is json.Marshal without HTML escaping, as Graph writes JSON.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
