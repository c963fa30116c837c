// Package retry makes kubectl-kyma's HTTP calls survive passing faults: bounded retries
// with exponential backoff and jitter, honouring Retry-After and the Provisioning
// Service's X-Ratelimit-Reset, on top of github.com/hashicorp/go-retryablehttp.
//
// What is retried depends on whether a repeat can do harm:
//   - idempotent calls (GET, HEAD, DELETE, PUT of a named resource such as KEB's
//     service_bindings/{id}, and the UAA token request) on connection errors, 429 and
//     5xx;
//   - calls that create something the service names (POST of an environment, the
//     Provisioning Service's PUT .../bindings, which makes a new binding each time) only
//     when the service surely did not act: the connection was never made, or it answered
//     429.
//
// After the last attempt the service's last answer is returned as it is, so the
// clients turn it into their usual one-sentence error.
package retry

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/kubectl-kyma/kubectl-kyma/internal/redirect"
)

// Options bound the retries.
type Options struct {
	// Max is how many times a call is repeated after the first attempt.
	Max int
	// WaitMin and WaitMax bound the backoff between attempts (and a server's
	// Retry-After).
	WaitMin, WaitMax time.Duration
}

// Defaults: four retries, 0.5 s to 10 s apart: a service that is back within about 20
// seconds is not noticed.
var Defaults = Options{Max: 4, WaitMin: 500 * time.Millisecond, WaitMax: 10 * time.Second}

// New wraps base in the retry policy above.
func New(base http.RoundTripper, o Options) http.RoundTripper {
	client := func(policy retryablehttp.CheckRetry) *retryablehttp.RoundTripper {
		c := retryablehttp.NewClient()
		// A redirect goes back to the caller as it is (see package redirect).
		c.HTTPClient = &http.Client{Transport: base, CheckRedirect: redirect.Refuse}
		c.Logger = nil // requests are logged by package httplog, at -v
		c.RetryMax, c.RetryWaitMin, c.RetryWaitMax = o.Max, o.WaitMin, o.WaitMax
		c.CheckRetry = patient(policy, o.WaitMax)
		c.Backoff = backoff
		c.ErrorHandler = retryablehttp.PassthroughErrorHandler
		return &retryablehttp.RoundTripper{Client: c}
	}
	return &transport{idempotent: client(retryablehttp.DefaultRetryPolicy), creating: client(unsentOnly)}
}

type transport struct {
	idempotent, creating http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if Idempotent(req) {
		return t.idempotent.RoundTrip(req)
	}
	return t.creating.RoundTrip(req)
}

// Idempotent reports whether sending req twice has the effect of sending it once.
func Idempotent(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodDelete:
		return true
	case http.MethodPut:
		// PUT .../environments/{id}/bindings makes a new binding each time; a PUT
		// that names its resource (KEB's service_bindings/{id}) does not.
		return !strings.HasSuffix(strings.TrimRight(req.URL.Path, "/"), "/bindings")
	case http.MethodPost:
		// A new access token does no harm; a new environment does.
		return strings.HasSuffix(req.URL.Path, "/oauth/token")
	}
	return false
}

// patient keeps a retry within the wait the client is ready for: a server that asks
// for a longer pause (Retry-After: 600) gets its answer passed on, not a retry that is
// bound to fail again.
func patient(policy retryablehttp.CheckRetry, limit time.Duration) retryablehttp.CheckRetry {
	return func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		if resp != nil {
			if d, ok := ServerWait(resp.Header, time.Now()); ok && d > limit {
				return false, nil
			}
		}
		return policy(ctx, resp, err)
	}
}

// unsentOnly retries a creating call only when the service cannot have acted on it.
func unsentOnly(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		var op *net.OpError
		return errors.As(err, &op) && op.Op == "dial", nil
	}
	return resp.StatusCode == http.StatusTooManyRequests, nil
}

// backoff waits as the server asks (Retry-After, or X-Ratelimit-Reset in epoch
// milliseconds), else exponentially with full jitter, so a herd of clients that failed
// together does not come back together.
func backoff(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if d, ok := ServerWait(resp.Header, time.Now()); ok {
			return max(lo, min(d, hi))
		}
	}
	ceiling := lo << min(attempt, 20)
	if ceiling <= 0 || ceiling > hi {
		ceiling = hi
	}
	return lo/2 + rand.N(ceiling-lo/2+1)
}

// ServerWait is how long the server asked the client to wait, and whether it said:
// Retry-After (seconds, or an HTTP date), else the Provisioning Service's
// X-Ratelimit-Reset (epoch milliseconds; seconds when the number is that small). A
// time is on the server's clock, so it is measured from the answer's Date header, on
// the same clock: this machine's may be hours off, which would turn a pause of seconds
// into hours, or into none. Only an answer without a Date is measured from now, this
// machine's time. A time already past is a wait of zero.
func ServerWait(h http.Header, now time.Time) (time.Duration, bool) {
	if t, err := http.ParseTime(h.Get("Date")); err == nil {
		now = t
	}
	var d time.Duration
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s >= 0 {
			d = time.Duration(min(s, math.MaxInt32)) * time.Second
		} else if t, err := http.ParseTime(v); err == nil {
			d = t.Sub(now)
		} else {
			return 0, false
		}
	} else if v := strings.TrimSpace(h.Get("X-Ratelimit-Reset")); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return 0, false
		}
		reset := time.UnixMilli(n)
		if n < 1e11 {
			reset = time.Unix(n, 0)
		}
		d = reset.Sub(now)
	} else {
		return 0, false
	}
	return max(d, 0), true
}
