package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

// Error kinds of the logging contract.
const (
	kindAuth       = "auth"
	kindPermission = "permission"
	kindThrottling = "throttling"
	kindNetwork    = "network"
	kindConfig     = "config"
	kindAPI        = "api"
	kindCheckpoint = "checkpoint"
	kindOutput     = "output"
	kindInternal   = "internal"
)

// readerRole is the Azure RBAC role the input needs.
const readerRole = "Storage Blob Data Reader"

// Error is a failed storage operation with the facts an administrator needs.
// Its message never holds a URL query string or a credential.
type Error struct {
	Op        string // what was being done, e.g. `listing blobs in container "x"`
	Kind      string // error_kind
	Status    int    // HTTP status, 0 without a response
	Code      string // x-ms-error-code or AADSTS code
	Hint      string // what to do about it
	Err       error
	retryable bool
	wait      time.Duration // server's Retry-After, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("storage: ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	if e.Status != 0 {
		b.WriteString(strconv.Itoa(e.Status))
		if e.Code != "" {
			b.WriteString(" " + e.Code)
		}
	} else {
		b.WriteString(scrub(e.Err.Error()))
	}
	if e.Hint != "" {
		b.WriteString(": " + e.Hint)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorKind is the error_kind of the logging contract (inputs.KindedError).
func (e *Error) ErrorKind() string { return e.Kind }

var (
	aadstsRE = regexp.MustCompile(`AADSTS\d+`)
	// queryRE finds URL query strings (a SAS token is one) in error text.
	queryRE = regexp.MustCompile(`\?[^\s"']*`)
	// sigRE catches a SAS signature even outside a URL.
	sigRE = regexp.MustCompile(`(?i)(sig|accountkey|sharedaccesssignature)=[^\s;&"']*`)
)

// scrub removes query strings and key material from an error message.
func scrub(s string) string {
	s = queryRE.ReplaceAllString(s, "?[query removed]")
	s = sigRE.ReplaceAllString(s, "$1=[removed]")
	if i := strings.IndexByte(s, '\n'); i >= 0 { // azcore errors are multi-line dumps
		s = s[:i]
	}
	return s
}

// classify turns an SDK error into an *Error describing op.
func classify(op string, err error) *Error {
	var se *Error
	if errors.As(err, &se) {
		return se
	}
	e := &Error{Op: op, Err: err, Kind: kindAPI}
	var re *azcore.ResponseError
	var af *azidentity.AuthenticationFailedError
	var ne net.Error
	switch {
	case errors.As(err, &af):
		e.Kind = kindAuth
		if af.RawResponse != nil {
			e.Status = af.RawResponse.StatusCode
		}
		e.Code = aadstsRE.FindString(af.Error())
		e.Hint = "Entra ID refused the app's credentials (check tenant_id, client_id and client_secret or client_certificate)"
		e.retryable = e.Status >= 500 || e.Status == http.StatusTooManyRequests
	case errors.As(err, &re):
		e.Status, e.Code = re.StatusCode, re.ErrorCode
		if re.RawResponse != nil {
			e.wait = retryAfter(re.RawResponse.Header)
		}
		switch {
		case re.StatusCode == http.StatusForbidden && (re.ErrorCode == string(bloberror.AuthenticationFailed) || re.ErrorCode == string(bloberror.InvalidAuthenticationInfo)):
			e.Kind = kindAuth
			e.Hint = "the storage account rejected the credentials (check the account key, SAS token or Entra ID app)"
		case re.StatusCode == http.StatusUnauthorized:
			e.Kind = kindAuth
			e.Hint = "the storage account rejected the credentials"
		case re.StatusCode == http.StatusForbidden:
			e.Kind = kindPermission
			e.Hint = fmt.Sprintf("the identity lacks access; assign the %q role on the storage account (role assignments take a few minutes to apply), and check the account's network rules", readerRole)
			e.retryable = true // role assignments take minutes to propagate
		case re.StatusCode == http.StatusNotFound:
			e.Kind = kindAPI
			e.Hint = "not found"
		case re.StatusCode == http.StatusTooManyRequests || re.StatusCode == http.StatusServiceUnavailable || re.ErrorCode == string(bloberror.ServerBusy):
			e.Kind = kindThrottling
			e.Hint = "the storage account is throttling requests"
			e.retryable = true
		case re.StatusCode >= 500 || re.StatusCode == http.StatusRequestTimeout:
			e.Kind = kindAPI
			e.retryable = true
		}
	case errors.Is(err, context.Canceled):
		e.Kind = kindInternal
	case errors.As(err, &ne), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), errors.Is(err, context.DeadlineExceeded), isConnError(err):
		e.Kind = kindNetwork
		e.retryable = true
	}
	return e
}

func isConnError(err error) bool {
	s := err.Error()
	return strings.Contains(s, "connection reset") || strings.Contains(s, "connection refused") || strings.Contains(s, "broken pipe")
}

// isNotFound reports whether err is a 404 with one of codes.
func isNotFound(err error, codes ...bloberror.Code) bool {
	return bloberror.HasCode(err, codes...)
}

func retryAfter(h http.Header) time.Duration {
	for _, k := range []string{"x-ms-retry-after-ms", "retry-after-ms"} {
		if v := h.Get(k); v != "" {
			if ms, err := strconv.Atoi(v); err == nil && ms > 0 {
				return time.Duration(ms) * time.Millisecond
			}
		}
	}
	if v := h.Get("Retry-After"); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s > 0 {
			return time.Duration(s) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			return time.Until(t)
		}
	}
	return 0
}

// retrier runs operations with capped exponential backoff and logs every
// retry as the logging contract asks.
type retrier struct {
	log      *slog.Logger
	attempts int                             // total tries
	backoff  func(attempt int) time.Duration // wait before try attempt+1
	maxWait  time.Duration
	redact   func(string) string
	// permHint replaces the hint of 403 permission errors; it depends on
	// the kind of credential (role, SAS permissions, key).
	permHint string
}

func defaultBackoff(attempt int) time.Duration {
	d := time.Second << (attempt - 1)
	if d > 30*time.Second {
		d = 30 * time.Second
	}
	return d
}

// do runs fn until it succeeds, fails with a non-retryable error, or the
// attempts are used up. It returns a classified *Error (or ctx's error).
func (r *retrier) do(ctx context.Context, op string, attrs []any, fn func(ctx context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		e := classify(op, err)
		if e.Kind == kindPermission && r.permHint != "" {
			e.Hint = r.permHint
		}
		if !e.retryable || attempt >= r.attempts {
			return e
		}
		wait := r.backoff(attempt)
		if e.wait > wait {
			wait = e.wait
		}
		if r.maxWait > 0 && wait > r.maxWait {
			wait = r.maxWait
		}
		args := append([]any{"operation", op, "error", r.redact(e.Error()), "error_kind", e.Kind, "attempt", attempt, "wait_ms", wait.Milliseconds()}, attrs...)
		r.log.Warn("retrying", args...)
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
