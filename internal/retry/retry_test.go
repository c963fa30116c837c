package retry

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var fast = Options{Max: 3, WaitMin: time.Millisecond, WaitMax: 5 * time.Millisecond}

// flaky answers the first n requests with status, then 200.
func flaky(t *testing.T, n int32, status int, header map[string]string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if calls.Add(1) <= n {
			for k, v := range header {
				w.Header().Set(k, v)
			}
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"error":{"message":"try later"}}`))
			return
		}
		_, _ = w.Write(append([]byte("ok:"), body...))
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func do(t *testing.T, method, url, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := (&http.Client{Transport: New(http.DefaultTransport, fast)}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

func TestIdempotentCallsAreRetried(t *testing.T) {
	for _, status := range []int{500, 502, 503, 429} {
		srv, calls := flaky(t, 2, status, map[string]string{"Retry-After": "0"})
		resp, body := do(t, http.MethodPut, srv.URL+"/oauth/v2/service_instances/i/service_bindings/b", `{"plan_id":"p"}`)
		if resp.StatusCode != 200 || body != `ok:{"plan_id":"p"}` || calls.Load() != 3 {
			t.Errorf("after two %d: status %d, body %q, %d calls; want 200, the body sent again, 3 calls", status, resp.StatusCode, body, calls.Load())
		}
	}
}

func TestCreatingCallIsNotRepeatedAfterTheServiceMayHaveActed(t *testing.T) {
	srv, calls := flaky(t, 1, 502, nil)
	resp, _ := do(t, http.MethodPut, srv.URL+"/provisioning/v1/environments/e/bindings", `{}`)
	if resp.StatusCode != 502 || calls.Load() != 1 {
		t.Errorf("CIS bind after a 502: status %d after %d calls; want the 502 after 1 call", resp.StatusCode, calls.Load())
	}
	srv, calls = flaky(t, 1, 429, map[string]string{"X-Ratelimit-Reset": "0"})
	if resp, _ := do(t, http.MethodPost, srv.URL+"/provisioning/v1/environments", `{}`); resp.StatusCode != 200 || calls.Load() != 2 {
		t.Errorf("provision after a 429: status %d after %d calls; want 200 after 2", resp.StatusCode, calls.Load())
	}
}

func TestLastAnswerIsPassedThrough(t *testing.T) {
	srv, calls := flaky(t, 100, 503, nil)
	resp, body := do(t, http.MethodGet, srv.URL+"/provisioning/v1/environments", "")
	if resp.StatusCode != 503 || !strings.Contains(body, "try later") || calls.Load() != 4 {
		t.Errorf("status %d body %q after %d calls; want the service's 503 after 4", resp.StatusCode, body, calls.Load())
	}
}

func TestConnectionRefusedIsRetriedEvenWhenCreating(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var calls atomic.Int32
	rt := New(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	}), fast)
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/provisioning/v1/environments", strings.NewReader("{}"))
	if _, err := rt.RoundTrip(req); err == nil || calls.Load() != 4 {
		t.Errorf("err %v after %d attempts; want a dial error after 4", err, calls.Load())
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestServerWait(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		h    http.Header
		want time.Duration
		ok   bool
	}{
		{http.Header{"Retry-After": {"7"}}, 7 * time.Second, true},
		{http.Header{"Retry-After": {now.Add(time.Minute).Format(http.TimeFormat)}}, time.Minute, true},
		{http.Header{"X-Ratelimit-Reset": {"1795428003000"}}, 3 * time.Second, true},
		{http.Header{"X-Ratelimit-Reset": {"1795428003"}}, 3 * time.Second, true},
		{http.Header{"X-Ratelimit-Reset": {"1795420000000"}}, 0, true}, // already past
		{http.Header{}, 0, false},
		{http.Header{"Retry-After": {"soon"}}, 0, false},
		// The server's clock two hours ahead of this machine's, told by its Date:
		// the waits are what it meant, not two hours more.
		{http.Header{"Date": {now.Add(2 * time.Hour).Format(http.TimeFormat)}, "X-Ratelimit-Reset": {"1795435203000"}}, 3 * time.Second, true},
		{http.Header{"Date": {now.Add(2 * time.Hour).Format(http.TimeFormat)}, "Retry-After": {now.Add(2*time.Hour + time.Minute).Format(http.TimeFormat)}}, time.Minute, true},
		// Two hours behind: not a wait of zero either.
		{http.Header{"Date": {now.Add(-2 * time.Hour).Format(http.TimeFormat)}, "X-Ratelimit-Reset": {"1795420803000"}}, 3 * time.Second, true},
	} {
		if got, ok := ServerWait(tc.h, now); got != tc.want || ok != tc.ok {
			t.Errorf("%v: got %s %v, want %s %v", tc.h, got, ok, tc.want, tc.ok)
		}
	}
}

func TestALongRetryAfterIsPassedOn(t *testing.T) {
	srv, calls := flaky(t, 1, 429, map[string]string{"Retry-After": "600"})
	resp, _ := do(t, http.MethodGet, srv.URL+"/provisioning/v1/environments", "")
	if resp.StatusCode != 429 || calls.Load() != 1 {
		t.Errorf("Retry-After 600: status %d after %d calls; want the 429 after 1", resp.StatusCode, calls.Load())
	}
}
