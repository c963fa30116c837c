package credential

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/actionstoken"
)

// failingService is a token service that answers every request 503, counting them.
func failingService(t *testing.T) (url string, requests *atomic.Int32) {
	requests = new(atomic.Int32)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		time.Sleep(20 * time.Millisecond) // a slow failure: the herd queues on the lock
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/idtoken?api-version=2.0", requests
}

// A herd of 20 callers behind a failing token service asks it once (one fetch, its
// tries), and every caller gets the fetch's sentence; after oidcFailedFor the next
// call asks again.
func TestOIDCHerdUnderAFailingServiceFetchesOnce(t *testing.T) {
	url, requests := failingService(t)
	fetcher := actionstoken.Fetcher{Backoff: func(int) time.Duration { return 0 }}
	c := OIDCCache{Dir: t.TempDir()}
	in := githubInput(nil)
	in.Clock, in.RequestURL = nil, url
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.Do(context.Background(), in, fetcher.Fetch, &bytes.Buffer{})
		}()
	}
	wg.Wait()
	tries := requests.Load()
	if tries == 0 || tries > 3 {
		t.Errorf("a herd of 20 made %d requests to a failing service, want one fetch (at most 3 tries)", tries)
	}
	for i, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "503") {
			t.Errorf("caller %d: error = %v, want the service's 503", i, err)
		}
		if err != nil && (strings.Contains(err.Error(), "request-token") || strings.Contains(err.Error(), url)) {
			t.Errorf("caller %d: the error shows the request token or URL: %v", i, err)
		}
	}

	// The stamp is forgotten after oidcFailedFor: a call then asks the service again.
	later := time.Now().Add(oidcFailedFor + time.Second)
	in.Clock = ptrClock{&later}
	if err := c.Do(context.Background(), in, fetcher.Fetch, &bytes.Buffer{}); err == nil {
		t.Fatal("a failing service answered")
	}
	if requests.Load() == tries {
		t.Error("a call made after the failure was forgotten did not ask the service")
	}
}

// A fetch that succeeds after a failure clears the failure's stamp.
func TestOIDCSuccessClearsTheFailure(t *testing.T) {
	now := time.Now()
	c := OIDCCache{Dir: t.TempDir()}
	in := githubInput(&now)
	fail := func(context.Context, string, string, string) (string, error) {
		return "", context.DeadlineExceeded
	}
	if err := c.Do(context.Background(), in, fail, &bytes.Buffer{}); err == nil {
		t.Fatal("no error from a failing fetch")
	}
	now = time.Now() // the stamp's mtime is on the system clock
	var calls atomic.Int32
	if err := c.Do(context.Background(), in, countingFetcher(t, &now, &calls), &bytes.Buffer{}); err == nil || calls.Load() != 0 {
		t.Fatalf("within the stamp's life: error %v after %d fetches, want the failure again and none", err, calls.Load())
	}
	now = now.Add(oidcFailedFor)
	if err := c.Do(context.Background(), in, countingFetcher(t, &now, &calls), &bytes.Buffer{}); err != nil || calls.Load() != 1 {
		t.Fatalf("after the stamp's life: error %v after %d fetches", err, calls.Load())
	}
	if _, err := os.Lstat(c.failedPath(in)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the failure's stamp is still there after a success: %v", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A fetch refused on this machine before any request (here a token-service host that
// is not allowed) is no failure of the service: it is not stamped, so the next call,
// with the cause fixed (the host allowed), asks at once instead of repeating the
// refusal for oidcFailedFor.
func TestOIDCLocalRefusalIsNotStampedAsAFailedFetch(t *testing.T) {
	now := time.Now() // the stamp's age is its file's mtime on this clock
	in := githubInput(&now)
	in.RequestURL = "https://ghes.example.com/_services/pipelines/idtoken?api-version=2.0"
	var requests atomic.Int32
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		requests.Add(1)
		body := `{"value":"` + testJWT(t, map[string]any{"aud": "https://api.example", "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}) + `"}`
		return &http.Response{StatusCode: 200, Status: "200 OK", Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	})}
	c := OIDCCache{Dir: t.TempDir()}
	err := c.Do(context.Background(), in, actionstoken.Fetcher{Client: client}.Fetch, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), actionstoken.EnvAllowHost) || requests.Load() != 0 {
		t.Fatalf("a host not allowed: %v, %d requests; want the refusal and none", err, requests.Load())
	}
	if strings.Contains(err.Error(), "GitHub's token service: ") {
		t.Errorf("a local refusal reads as the service's failure: %v", err)
	}
	now = now.Add(time.Second)
	var out bytes.Buffer
	if err := c.Do(context.Background(), in, actionstoken.Fetcher{Client: client, AllowHost: "ghes.example.com"}.Fetch, &out); err != nil {
		t.Fatalf("the host allowed a second later: %v", err)
	}
	if requests.Load() != 1 || !strings.Contains(out.String(), `"token"`) {
		t.Errorf("the host allowed: %d requests, output %q; want one and a token", requests.Load(), out.String())
	}
}
