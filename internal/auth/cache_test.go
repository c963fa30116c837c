package auth

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
)

// fakeSource hands out "tok-1", "tok-2", ... each valid for ttl from clock's now.
type fakeSource struct {
	mu    sync.Mutex
	clock *clock.Fake
	ttl   time.Duration
	n     int
	err   error
}

func (s *fakeSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	s.n++
	t := &oauth2.Token{AccessToken: "tok-" + string(rune('0'+s.n)), TokenType: "bearer"}
	if s.ttl > 0 {
		t.Expiry = s.clock.Now().Add(s.ttl)
	}
	return t, nil
}

func (s *fakeSource) fetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func newTestCache(t *testing.T) (*Cache, *fakeSource, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(t0)
	src := &fakeSource{clock: clk, ttl: 12 * time.Hour}
	path := filepath.Join(t.TempDir(), "kubectl-kyma", "tokens", "default.json")
	return &Cache{Source: src, Path: path, Key: "uaa client", Clock: clk}, src, clk
}

func TestCacheMissHitExpiry(t *testing.T) {
	c, src, clk := newTestCache(t)
	steps := []struct {
		name        string
		advance     time.Duration
		fresh       bool // use a new Cache on the same file (another process)
		wantToken   string
		wantFetches int
	}{
		{"first call fetches", 0, false, "tok-1", 1},
		{"memory hit", time.Hour, false, "tok-1", 1},
		{"file hit in another process", time.Hour, true, "tok-1", 1},
		{"still valid 61s before expiry", 10*time.Hour - 61*time.Second, true, "tok-1", 1},
		{"within the margin: fetch", 2 * time.Second, true, "tok-2", 2},
		{"new token cached", time.Minute, true, "tok-2", 2},
		{"expired: fetch", 13 * time.Hour, false, "tok-3", 3},
	}
	for _, s := range steps {
		clk.Add(s.advance)
		if s.fresh {
			c = &Cache{Source: src, Path: c.Path, Key: c.Key, Clock: clk}
		}
		tok, err := c.Token()
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if diff := cmp.Diff([]any{s.wantToken, s.wantFetches}, []any{tok.AccessToken, src.fetches()}); diff != "" {
			t.Errorf("%s: (token, fetches) (-want +got):\n%s", s.name, diff)
		}
	}
}

func TestCacheFile(t *testing.T) {
	c, _, _ := newTestCache(t)
	if _, err := c.Token(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(c.Path)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"key": "uaa client", "access_token": "tok-1", "token_type": "bearer", "expiry": "2026-11-23T21:00:00Z"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cache file (-want +got):\n%s", diff)
	}
	if runtime.GOOS == "windows" {
		return // no Unix modes
	}
	for path, want := range map[string]os.FileMode{c.Path: 0o600, filepath.Dir(c.Path): 0o700, filepath.Dir(filepath.Dir(c.Path)): 0o700} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", path, got, want)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(c.Path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the cache file (no temp files left)", len(entries))
	}
}

func TestCacheMisses(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, c *Cache)
	}{
		{"other key", func(t *testing.T, c *Cache) {
			writeFile(t, c.Path, `{"key":"other client","access_token":"old","expiry":"2026-11-24T00:00:00Z"}`)
		}},
		{"corrupt file", func(t *testing.T, c *Cache) { writeFile(t, c.Path, `{"key":`) }},
		{"no expiry", func(t *testing.T, c *Cache) {
			writeFile(t, c.Path, `{"key":"uaa client","access_token":"old"}`)
		}},
		{"empty token", func(t *testing.T, c *Cache) {
			writeFile(t, c.Path, `{"key":"uaa client","access_token":"","expiry":"2026-11-24T00:00:00Z"}`)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, src, _ := newTestCache(t)
			tt.setup(t, c)
			tok, err := c.Token()
			if err != nil || tok.AccessToken != "tok-1" || src.fetches() != 1 {
				t.Errorf("Token() = %v, %v after %d fetches; want tok-1 after 1", tok, err, src.fetches())
			}
		})
	}
}

func TestCacheInvalidate(t *testing.T) {
	c, src, _ := newTestCache(t)
	if _, err := c.Token(); err != nil {
		t.Fatal(err)
	}
	if err := c.Invalidate(); err != nil {
		t.Fatalf("Invalidate: %v", err)
	}
	if _, err := os.Stat(c.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cache file still there after Invalidate: %v", err)
	}
	if err := c.Invalidate(); err != nil {
		t.Errorf("second Invalidate: %v", err)
	}
	tok, err := c.Token()
	if err != nil || tok.AccessToken != "tok-2" || src.fetches() != 2 {
		t.Errorf("after Invalidate: %v, %v, %d fetches; want tok-2 after 2", tok, err, src.fetches())
	}
}

func TestCacheNoExpiryStaysInMemory(t *testing.T) {
	c, src, _ := newTestCache(t)
	src.ttl = 0
	for range 2 {
		if tok, err := c.Token(); err != nil || tok.AccessToken != "tok-1" {
			t.Fatalf("Token() = %v, %v", tok, err)
		}
	}
	if _, err := os.Stat(c.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a token without expiry was written to disk")
	}
}

func TestCacheSourceErrorAndUnwritableFile(t *testing.T) {
	c, src, _ := newTestCache(t)
	src.err = &Error{msg: "the UAA refused the client credentials (invalid_client: Bad credentials); check the service key"}
	if _, err := c.Token(); !errors.Is(err, src.err) {
		t.Errorf("Token() error %v, want the source's", err)
	}
	if _, err := os.Stat(c.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed fetch wrote the cache file")
	}

	// A cache path below a regular file cannot be written; the token still comes.
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "file"), "x")
	c2 := &Cache{Source: &fakeSource{clock: clock.NewFake(t0), ttl: time.Hour}, Path: filepath.Join(dir, "file", "token.json"), Clock: clock.NewFake(t0)}
	if tok, err := c2.Token(); err != nil || tok.AccessToken != "tok-1" {
		t.Errorf("Token() with an unwritable cache = %v, %v", tok, err)
	}
}

func TestCacheConcurrentCallsFetchOnce(t *testing.T) {
	c, src, _ := newTestCache(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Token(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if src.fetches() != 1 {
		t.Errorf("%d fetches, want 1", src.fetches())
	}
}

func TestNewTokenSource(t *testing.T) {
	srv := fakeUAA(t, func(w http.ResponseWriter) {
		writeJSON(w, 200, `{"access_token":"at-1","token_type":"bearer","expires_in":43199}`)
	})
	path := filepath.Join(t.TempDir(), "p.json")
	ts := NewTokenSource(Config{UAAURL: srv.URL, ClientID: testClientID, ClientSecret: testClientSecret}, path, srv.Client())
	tok, err := ts.TokenContext(context.Background())
	if err != nil || tok.AccessToken != "at-1" {
		t.Fatalf("Token() = %v, %v", tok, err)
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), testClientSecret) {
		t.Errorf("cache file holds the client secret")
	}
	if !strings.Contains(string(b), `"key":"`+srv.URL+`/oauth/token sb-ut-1234!b5678|cis-local!b4"`) {
		t.Errorf("cache file key: %s", b)
	}
}

// tokenAPI is a service that accepts only the bearer token in *good.
type tokenAPI struct {
	mu     sync.Mutex
	good   string
	bodies []string
	auths  []string
}

func (a *tokenAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.bodies = append(a.bodies, string(b))
	a.auths = append(a.auths, r.Header.Get("Authorization"))
	if r.Header.Get("Authorization") != "Bearer "+a.good {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func TestTransport(t *testing.T) {
	tests := []struct {
		name       string
		good       string // the token the API accepts
		invalidate bool   // Source is an Invalidator
		wantStatus int
		wantAuths  []string
	}{
		{"accepted", "tok-1", true, 200, []string{"Bearer tok-1"}},
		{"refused, refetched, accepted", "tok-2", true, 200, []string{"Bearer tok-1", "Bearer tok-2"}},
		{"refused twice: one retry only", "never", true, 401, []string{"Bearer tok-1", "Bearer tok-2"}},
		{"no Invalidator: no retry", "tok-2", false, 401, []string{"Bearer tok-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &tokenAPI{good: tt.good}
			srv := httptest.NewServer(api)
			defer srv.Close()
			c, _, _ := newTestCache(t)
			var src oauth2.TokenSource = c
			if !tt.invalidate {
				src = oauth2.ReuseTokenSource(nil, c.Source)
			}
			hc := NewHTTPClient(src, srv.Client())
			req, _ := http.NewRequest(http.MethodPut, srv.URL+"/bindings", strings.NewReader(`{"parameters":{"expiration_seconds":600}}`))
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if diff := cmp.Diff(tt.wantAuths, api.auths); diff != "" {
				t.Errorf("Authorization headers (-want +got):\n%s", diff)
			}
			for i, b := range api.bodies {
				if b != `{"parameters":{"expiration_seconds":600}}` {
					t.Errorf("request %d body %q: not replayed", i, b)
				}
			}
		})
	}
}

// sameToken always hands out one token, like a UAA that caches per client.
type sameToken struct{ fetches int }

func (s *sameToken) Token() (*oauth2.Token, error) {
	s.fetches++
	return &oauth2.Token{AccessToken: "tok-same", Expiry: t0.Add(time.Hour)}, nil
}

func TestTransportNoRetryWithTheSameToken(t *testing.T) {
	api := &tokenAPI{good: "never"}
	srv := httptest.NewServer(api)
	defer srv.Close()
	src := &sameToken{}
	c := &Cache{Source: src, Clock: clock.NewFake(t0)}
	resp, err := NewHTTPClient(c, srv.Client()).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if diff := cmp.Diff([]any{401, []string{"Bearer tok-same"}, 2}, []any{resp.StatusCode, api.auths, src.fetches}); diff != "" {
		t.Errorf("(status, requests, fetches) (-want +got):\n%s", diff)
	}
}

func TestTransportTokenError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the API was called without a token")
	}))
	defer srv.Close()
	c, src, _ := newTestCache(t)
	src.err = &Error{msg: "cannot reach the UAA at https://uaa.example: dial tcp: lookup uaa.example: no such host"}
	_, err := NewHTTPClient(c, nil).Get(srv.URL)
	var ae *Error
	if !errors.As(err, &ae) || ae.Error() != src.err.Error() {
		t.Errorf("error %v, want the token source's *Error inside", err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
