package defender

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Clock is the time source of a Client and a TokenSource. Tests substitute a
// fake one so that backoff and token expiry need no real waiting.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx ends, whichever comes first, and
	// returns ctx.Err() in the latter case.
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemClock returns the real clock.
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// RetryPolicy bounds retries. The zero value means the defaults listed on
// each field.
type RetryPolicy struct {
	// MaxAttempts bounds attempts per request for 5xx and network errors
	// (default 6: one try and five retries).
	MaxAttempts int
	// MaxThrottled bounds how many 429 answers one request accepts before
	// giving up (default 12).
	MaxThrottled int
	// BaseDelay is the first backoff (default 1 s); each retry doubles it.
	BaseDelay time.Duration
	// MaxDelay caps one backoff (default 60 s).
	MaxDelay time.Duration
	// MaxRetryAfter bounds a server-requested wait (Retry-After, or the
	// legacy APIs' throttling message); default 1 hour. A wait up to it is
	// honoured in full (a context-aware sleep, logged as WARN
	// msg="retrying" with its wait_ms); a longer one fails the request
	// with a *RetryAfterError, so that a poll stops, keeps its checkpoint
	// and tries again at its next interval instead of holding splunkd's
	// input for hours.
	MaxRetryAfter time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 6
	}
	if p.MaxThrottled <= 0 {
		p.MaxThrottled = 12
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = time.Second
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 60 * time.Second
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = DefaultMaxRetryAfter
	}
	return p
}

// DefaultMaxRetryAfter is RetryPolicy.MaxRetryAfter's default: the longest
// server-requested wait a request sits out before it fails instead.
const DefaultMaxRetryAfter = time.Hour

// RetryAfterError is a 429 answer that asked for a longer wait than
// RetryPolicy.MaxRetryAfter. Err is the answer (*APIError or *AuthError).
type RetryAfterError struct {
	Wait time.Duration // what the server asked for
	Max  time.Duration // RetryPolicy.MaxRetryAfter
	Err  error
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("defender: throttled, and the server asked to wait %s, longer than the %s a request waits for: %v",
		e.Wait.Round(time.Second), e.Max, e.Err)
}

func (e *RetryAfterError) Unwrap() error { return e.Err }

// ErrorKind classifies the error for the logging contract.
func (e *RetryAfterError) ErrorKind() string { return string(KindThrottling) }

// throttleWait is the wait before retrying the n-th 429 of a request whose
// answer asked for asked (ok: it asked): what it asked, at least 1 s
// ("Retry-After: 0" or a date already past must not turn into a burst of
// immediate retries), else Backoff(n). It fails with *RetryAfterError when
// the server asked for more than MaxRetryAfter.
func (p RetryPolicy) throttleWait(asked time.Duration, ok bool, n int, answer error) (time.Duration, error) {
	if !ok {
		return max(p.Backoff(n), time.Second), nil
	}
	if asked > p.MaxRetryAfter {
		return 0, &RetryAfterError{Wait: asked, Max: p.MaxRetryAfter, Err: answer}
	}
	return max(asked, time.Second), nil
}

// Backoff returns the wait before retry number n (1-based): exponential
// from BaseDelay, capped at MaxDelay, with "equal jitter" (a random value in
// [d/2, d]) so that clients do not retry in lockstep.
func (p RetryPolicy) Backoff(n int) time.Duration {
	p = p.withDefaults()
	d := p.BaseDelay
	for i := 1; i < n && d < p.MaxDelay; i++ {
		d *= 2
	}
	if d > p.MaxDelay {
		d = p.MaxDelay
	}
	half := d / 2
	return half + rand.N(half+1)
}

// ParseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date
// (RFC 9110 section 10.2.3). ok is false when h is empty or malformed.
func ParseRetryAfter(h string, now time.Time) (d time.Duration, ok bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(h, 64); err == nil {
		if secs < 0 {
			return 0, true
		}
		return time.Duration(secs * float64(time.Second)), true
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := t.Sub(now); d > 0 {
			return d, true
		}
		return 0, true
	}
	return 0, false
}

// tryAgainRE matches the legacy APIs' throttling messages that name the
// wait, e.g. "API calls quota exceeded! Maximum admitted 50 per Minute. Try
// again in 5 seconds." or "... Next call available in 5 seconds.".
var tryAgainRE = regexp.MustCompile(`(?i)(?:try again|next call available) in (\d+) (second|minute)`)

// quotaWindowRE matches the quota window of Microsoft's documented legacy
// throttling message, "API calls quota exceeded! maximum allowed 45 per
// 00:01:00" (hh:mm:ss).
var quotaWindowRE = regexp.MustCompile(`(?i)quota exceeded.*\bper (\d{1,2}):([0-5]\d):([0-5]\d)\b`)

// retryAfterFromBody reads the wait out of a legacy 429 message: the wait
// it names, else its quota window (waiting one whole window is enough for
// the quota to be available again).
func retryAfterFromBody(msg string) (time.Duration, bool) {
	if m := tryAgainRE.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		unit := time.Second
		if strings.EqualFold(m[2], "minute") {
			unit = time.Minute
		}
		return time.Duration(n) * unit, true
	}
	if m := quotaWindowRE.FindStringSubmatch(msg); m != nil {
		h, _ := strconv.Atoi(m[1])
		mi, _ := strconv.Atoi(m[2])
		sec, _ := strconv.Atoi(m[3])
		if d := time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute + time.Duration(sec)*time.Second; d > 0 {
			return d, true
		}
	}
	return 0, false
}
