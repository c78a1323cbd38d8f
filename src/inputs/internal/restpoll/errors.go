package restpoll

import (
	"fmt"

	"github.com/ta-m365-defender/ta-m365-defender/src/defender"
	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
)

// paramError names the stanza and the parameter an error points at, and
// keeps the error (and so its error_kind) underneath.
type paramError struct {
	stanza, param string
	err           error
}

func (e *paramError) Error() string {
	if e.param == "" {
		return fmt.Sprintf("stanza %q: %v", e.stanza, e.err)
	}
	return fmt.Sprintf("stanza %q: parameter %q: %v", e.stanza, e.param, e.err)
}

func (e *paramError) Unwrap() error { return e.err }

// WithParam wraps an error of package defender with the parameter it
// points at (tenant_id for an unknown tenant, client_secret for a bad
// secret, api_url for an unreachable API, …). A nil err stays nil.
func WithParam(st modinput.Stanza, err error) error {
	if err == nil {
		return nil
	}
	return &paramError{stanza: st.Name, param: defender.ParamOf(err), err: err}
}
