package credential

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testJWT makes an unsigned JWT with the given claims: the plugin never checks the
// signature, the cluster does.
func testJWT(t *testing.T, claims map[string]any) string {
	t.Helper()
	p, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc(p) + ".c2ln"
}

// printed decodes the ExecCredential written to out.
func printed(t *testing.T, out *bytes.Buffer) (token string, until time.Time) {
	t.Helper()
	var ec execCredential
	if err := json.Unmarshal(out.Bytes(), &ec); err != nil || ec.Status == nil {
		t.Fatalf("not an ExecCredential: %q (%v)", out.String(), err)
	}
	until, err := time.Parse(time.RFC3339, ec.Status.ExpirationTimestamp)
	if err != nil {
		t.Fatal(err)
	}
	return ec.Status.Token, until
}

var oidcT0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// ptrClock reads the time from a variable the test moves.
type ptrClock struct{ now *time.Time }

func (c ptrClock) Now() time.Time                         { return *c.now }
func (c ptrClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

func githubInput(now *time.Time) OIDCInput {
	in := ReadOIDCEnv(OIDC{Source: OIDCGitHub, Audience: "HTTPS://API.example:443/"}, func(k string) (string, bool) {
		switch k {
		case EnvActionsRequestURL:
			return "https://runner.example/idtoken?api-version=2.0", true
		case EnvActionsRequestToken:
			return "request-token", true
		}
		return "", false
	})
	in.ExecInfo = ExecInfo{APIVersion: apiV1, Server: "https://api.example"}
	in.Clock = ptrClock{now}
	return in
}

// countingFetcher hands out five-minute tokens for the audience asked, counting calls.
func countingFetcher(t *testing.T, now *time.Time, calls *atomic.Int32) OIDCFetcher {
	return func(ctx context.Context, u, tok, aud string) (string, error) {
		n := calls.Add(1)
		if u != "https://runner.example/idtoken?api-version=2.0" || tok != "request-token" || aud != "https://api.example" {
			t.Errorf("fetch(%q, %q, %q), want the cluster's server as the audience", u, tok, aud)
		}
		return testJWT(t, map[string]any{"aud": aud, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "n": n}), nil
	}
}

func TestOIDCGitHubFetchesOnceThenHitsUntilTheMargin(t *testing.T) {
	now := oidcT0
	var calls atomic.Int32
	c := OIDCCache{Dir: t.TempDir()}
	in := githubInput(&now)
	fetch := countingFetcher(t, &now, &calls)

	var out bytes.Buffer
	if ok, err := c.Hit(in, &out); ok || err != nil {
		t.Fatalf("empty cache: Hit = %v, %v; want a miss", ok, err)
	}
	if err := c.Do(context.Background(), in, fetch, &out); err != nil {
		t.Fatal(err)
	}
	first, until := printed(t, &out)
	// A five-minute token: a margin of a minute (the bindings' rule), so four minutes.
	if want := oidcT0.Add(4 * time.Minute); !until.Equal(want) {
		t.Errorf("expirationTimestamp = %s, want %s", until, want)
	}

	now = oidcT0.Add(3*time.Minute + 59*time.Second)
	out.Reset()
	if ok, err := c.Hit(in, &out); !ok || err != nil {
		t.Fatalf("warm cache: Hit = %v, %v; want a hit", ok, err)
	}
	if tok, _ := printed(t, &out); tok != first {
		t.Error("the hit handed out another token than the cached one")
	}

	now = oidcT0.Add(4 * time.Minute)
	out.Reset()
	if ok, _ := c.Hit(in, &out); ok {
		t.Fatal("a token within its margin was handed out")
	}
	if err := c.Do(context.Background(), in, fetch, &out); err != nil {
		t.Fatal(err)
	}
	if tok, _ := printed(t, &out); tok == first {
		t.Error("no new token was fetched once the old one reached its margin")
	}
	if got := calls.Load(); got != 2 {
		t.Errorf("%d fetches, want 2", got)
	}
}

func TestOIDCCacheIsPrivateAndKeyedByAudienceServerAndJob(t *testing.T) {
	now := oidcT0
	var calls atomic.Int32
	dir := t.TempDir()
	c := OIDCCache{Dir: dir}
	fetch := countingFetcher(t, &now, &calls)
	base := githubInput(&now)
	var out bytes.Buffer
	if err := c.Do(context.Background(), base, fetch, &out); err != nil {
		t.Fatal(err)
	}
	otherServer, otherJob := base, base
	otherServer.ExecInfo.Server, otherServer.Audience = "https://api.other", ""
	otherJob.RequestToken = "request-token-of-another-job"
	for name, in := range map[string]OIDCInput{"server": otherServer, "job": otherJob} {
		if ok, _ := c.Hit(in, &out); ok {
			t.Errorf("another %s was handed the cached token", name)
		}
	}
	if runtime.GOOS == "windows" {
		return
	}
	files, _ := filepath.Glob(filepath.Join(dir, "oidc", "*.json"))
	if len(files) != 1 {
		t.Fatalf("entries %v, want one", files)
	}
	for _, p := range []string{files[0], filepath.Dir(files[0])} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]os.FileMode{true: 0o700, false: 0o600}[fi.IsDir()]; fi.Mode().Perm() != want {
			t.Errorf("%s has mode %04o, want %04o", p, fi.Mode().Perm(), want)
		}
	}
	if data, _ := os.ReadFile(files[0]); bytes.Contains(data, []byte("request-token")) || strings.Contains(files[0], "request-token") {
		t.Error("the request token is stored in the cache")
	}
}

// TestOIDCHerdFetchesOneToken is the lock's concurrency test: many callers on one
// empty entry, as a herd of kubectl processes is, and one token is fetched.
func TestOIDCHerdFetchesOneToken(t *testing.T) {
	now := oidcT0
	var calls atomic.Int32
	c := OIDCCache{Dir: t.TempDir()}
	in := githubInput(&now)
	inner := countingFetcher(t, &now, &calls)
	slow := func(ctx context.Context, u, tok, aud string) (string, error) {
		time.Sleep(100 * time.Millisecond) // a slow service: the others wait for the lock
		return inner(ctx, u, tok, aud)
	}
	var wg sync.WaitGroup
	tokens := make([]string, 20)
	for i := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out bytes.Buffer
			ok, err := c.Hit(in, &out)
			if !ok && err == nil {
				var lock *os.File
				if ok, lock, err = c.Miss(context.Background(), in, &out); !ok && err == nil {
					if lock != nil {
						err = c.DoHolding(context.Background(), in, slow, lock, &out)
					} else {
						err = c.Do(context.Background(), in, slow, &out)
					}
				}
			}
			if err != nil {
				t.Error(err)
				return
			}
			tokens[i], _ = printed(t, &out)
		}()
	}
	wg.Wait()
	if got := calls.Load(); got != 1 {
		t.Errorf("%d fetches for a herd of 20, want 1", got)
	}
	for _, tok := range tokens {
		if tok != tokens[0] {
			t.Fatal("the herd was handed different tokens")
		}
	}
}

func TestOIDCGitHubWithoutPermissionSaysSo(t *testing.T) {
	in := ReadOIDCEnv(OIDC{Source: OIDCGitHub}, func(string) (string, bool) { return "", false })
	in.ExecInfo = ExecInfo{APIVersion: apiV1, Server: "https://api.example"}
	err := OIDCCache{Dir: t.TempDir()}.Do(context.Background(), in, func(context.Context, string, string, string) (string, error) {
		t.Fatal("fetched without a request token")
		return "", nil
	}, &bytes.Buffer{})
	if !errors.Is(err, ErrNoIDTokenPermission) || !strings.Contains(err.Error(), "permissions: id-token: write") {
		t.Fatalf("error = %v, want the id-token permission named", err)
	}
}

func TestOIDCFetchErrorsAndBadTokensAreNotCached(t *testing.T) {
	now := oidcT0
	c := OIDCCache{Dir: t.TempDir()}
	in := githubInput(&now)
	for name, tc := range map[string]struct {
		fetch OIDCFetcher
		want  string
	}{
		"service fails": {func(context.Context, string, string, string) (string, error) {
			return "", errors.New("the token service answered 503")
		}, "GitHub's token service: the token service answered 503"},
		"another audience": {func(context.Context, string, string, string) (string, error) {
			return testJWT(t, map[string]any{"aud": "https://api.other", "exp": now.Add(time.Hour).Unix()}), nil
		}, `is for audience "https://api.other", not for the server kubectl calls, https://api.example`},
		"an audience with workflow commands": {func(context.Context, string, string, string) (string, error) {
			return testJWT(t, map[string]any{"aud": []string{"https://x\n::error title=kubectl-kyma::forged annotation\n", "b\u2028c"}, "exp": now.Add(time.Hour).Unix()}), nil
		}, `is for audience "https://x\n::error title=kubectl-kyma::forged annotation\n", "b\u2028c", not for`},
		"expires before it was issued": {func(context.Context, string, string, string) (string, error) {
			return testJWT(t, map[string]any{"aud": "https://api.example", "iat": now.Unix(), "exp": now.Add(-time.Second).Unix()}), nil
		}, "no later than it was issued"},
		"issued a day after this clock": {func(context.Context, string, string, string) (string, error) {
			return testJWT(t, map[string]any{"aud": "https://api.example", "iat": now.Add(25 * time.Hour).Unix(), "exp": now.Add(25*time.Hour + 5*time.Minute).Unix()}), nil
		}, "off by more than a day"},
		"not a JWT": {func(context.Context, string, string, string) (string, error) {
			return "opaque", nil
		}, "not a JWT"},
	} {
		t.Run(name, func(t *testing.T) {
			err := c.Do(context.Background(), in, tc.fetch, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
			if msg := err.Error(); strings.Contains(msg, "eyJ") || strings.Contains(msg, "request-token") || strings.ContainsAny(msg, "\n\r\u2028") {
				t.Errorf("the error shows a token or is more than a line: %q", msg)
			}
			if ok, _ := c.Hit(in, &bytes.Buffer{}); ok {
				t.Error("a refused token was cached")
			}
		})
	}
}

func TestOIDCGitLabReadsTheNamedVariable(t *testing.T) {
	now := oidcT0
	tok := testJWT(t, map[string]any{"aud": "https://api.example", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	env := map[string]string{"MY_TOKEN": tok, DefaultGitLabTokenEnv: "wrong"}
	getenv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	in := ReadOIDCEnv(OIDC{Source: OIDCGitLab, TokenEnv: "MY_TOKEN"}, getenv)
	in.Clock, in.ExecInfo = ptrClock{&now}, ExecInfo{APIVersion: apiV1, Server: "https://api.example"}
	var out bytes.Buffer
	if ok, err := (OIDCCache{Dir: t.TempDir()}).Hit(in, &out); !ok || err != nil {
		t.Fatalf("Hit = %v, %v", ok, err)
	}
	got, until := printed(t, &out)
	if got != tok {
		t.Error("not the variable's token")
	}
	if want := now.Add(54 * time.Minute); !until.Equal(want) { // an hour's token: a tenth as margin
		t.Errorf("expirationTimestamp = %s, want %s", until, want)
	}

	missing := ReadOIDCEnv(OIDC{Source: OIDCGitLab}, func(string) (string, bool) { return "", false })
	missing.ExecInfo = in.ExecInfo
	_, err := (OIDCCache{Dir: t.TempDir()}).Hit(missing, &out)
	if err == nil || !strings.Contains(err.Error(), "KYMA_ID_TOKEN") || !strings.Contains(err.Error(), "id_tokens:") {
		t.Fatalf("error = %v, want the variable and id_tokens: named", err)
	}
}

func TestOIDCFileIsReadAgainWhenItChanges(t *testing.T) {
	now := oidcT0
	path := filepath.Join(t.TempDir(), "token")
	in := OIDCInput{OIDC: OIDC{Source: OIDCFile, TokenFile: path}, Clock: ptrClock{&now}, ExecInfo: ExecInfo{APIVersion: apiV1, Server: "https://api.example"}}
	c := OIDCCache{Dir: t.TempDir()}
	if _, err := c.Hit(in, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("error = %v, want the missing file named", err)
	}
	for i := range 2 {
		tok := testJWT(t, map[string]any{"aud": []string{"https://api.example/"}, "exp": now.Add(time.Hour).Unix(), "i": i})
		if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if ok, err := c.Hit(in, &out); !ok || err != nil {
			t.Fatalf("Hit = %v, %v", ok, err)
		}
		if got, _ := printed(t, &out); got != tok {
			t.Fatalf("round %d: not the file's current token", i)
		}
	}
}

func TestOIDCRefusesAnUncheckedConnection(t *testing.T) {
	now := oidcT0
	in := githubInput(&now)
	in.ExecInfo.InsecureSkipTLSVerify = true
	if _, err := (OIDCCache{Dir: t.TempDir()}).Hit(in, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "insecure-skip-tls-verify") {
		t.Fatalf("error = %v, want insecure-skip-tls-verify refused", err)
	}
}

// A kubeconfig's proxy-url, with that kubeconfig's own CA, could end TLS and read the
// token: every source refuses it before reading or fetching anything.
func TestOIDCRefusesAKubeconfigProxyForEverySource(t *testing.T) {
	now := oidcT0
	tok := testJWT(t, map[string]any{"aud": "https://api.example", "exp": now.Add(time.Hour).Unix()})
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	info := ExecInfo{APIVersion: apiV1, Server: "https://api.example", ProxyURL: "http://127.0.0.1:3128"}
	for _, in := range []OIDCInput{
		githubInput(&now),
		{OIDC: OIDC{Source: OIDCGitLab}, EnvToken: tok, EnvTokenSet: true},
		{OIDC: OIDC{Source: OIDCFile, TokenFile: path}},
	} {
		in.ExecInfo, in.Clock = info, ptrClock{&now}
		var calls atomic.Int32
		var out bytes.Buffer
		err := (OIDCCache{Dir: t.TempDir()}).Do(context.Background(), in, countingFetcher(t, &now, &calls), &out)
		if err == nil || !strings.Contains(err.Error(), "proxy-url") || !strings.Contains(err.Error(), "HTTPS_PROXY") {
			t.Errorf("%s: error = %v, want proxy-url refused", in.Source, err)
		}
		if out.Len() != 0 || calls.Load() != 0 {
			t.Errorf("%s: printed %d bytes after %d fetches", in.Source, out.Len(), calls.Load())
		}
	}
}

func TestOIDCRefusesKubectlWithoutClusterInfo(t *testing.T) {
	now := oidcT0
	in := githubInput(&now)
	in.ExecInfo = ExecInfo{APIVersion: in.ExecInfo.APIVersion, NoCluster: true}
	if _, err := (OIDCCache{Dir: t.TempDir()}).Hit(in, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "provideClusterInfo") {
		t.Fatalf("error = %v, want the token refused without provideClusterInfo", err)
	}
}

func TestOIDCCheck(t *testing.T) {
	for _, tc := range []struct {
		o    OIDC
		want string
	}{
		{OIDC{Source: OIDCGitHub}, ""},
		{OIDC{Source: OIDCGitLab, TokenEnv: "X"}, ""},
		{OIDC{Source: OIDCFile, TokenFile: "/t"}, ""},
		{OIDC{Source: "azure"}, "--oidc must be github, gitlab or file"},
		{OIDC{Source: OIDCFile}, "--token-file"},
		{OIDC{Source: OIDCGitHub, TokenEnv: "X"}, "drop --token-env"},
		{OIDC{Source: OIDCGitLab, TokenFile: "/t"}, "not --token-file"},
	} {
		err := tc.o.Check()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: error = %v, want %q", tc.o, err, tc.want)
		}
	}
}

func TestParseJWTReadsAudienceAsStringOrList(t *testing.T) {
	for _, aud := range []any{"a", []string{"b", "a"}} {
		c, err := parseJWT(testJWT(t, map[string]any{"aud": aud, "exp": 2e9}))
		if err != nil || !contains(c.Aud, "a") {
			t.Errorf("aud %v: claims %+v, %v", aud, c, err)
		}
	}
}

// TestOIDCEntryOfAnotherKeyIsAMiss: the file name is a non-cryptographic hash, so a
// file at this job's name that holds another's entry (a collision, or a file put
// there) is a miss, never that job's token.
func TestOIDCEntryOfAnotherKeyIsAMiss(t *testing.T) {
	now := oidcT0
	c := OIDCCache{Dir: t.TempDir()}
	in, err := githubInput(&now).bindToCluster()
	if err != nil {
		t.Fatal(err)
	}
	tok := testJWT(t, map[string]any{"aud": "https://api.example", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	for name, change := range map[string]func(*OIDCInput){
		"request URL": func(o *OIDCInput) { o.RequestURL = "https://runner.example/idtoken?job=other" },
		"server":      func(o *OIDCInput) { o.ExecInfo.Server = "https://api.other" },
		"audience":    func(o *OIDCInput) { o.Audience = "https://api.other" },
		"source":      func(o *OIDCInput) { o.Source = OIDCFile },
	} {
		other := in
		change(&other)
		data, _ := json.Marshal(newEntry(other, tok, now, time.Hour))
		if err := os.MkdirAll(filepath.Join(c.Dir, "oidc"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(c.path(in), data, 0o600); err != nil {
			t.Fatal(err)
		}
		if ok, err := c.Hit(in, &bytes.Buffer{}); ok || err != nil {
			t.Errorf("an entry for another %s at this job's name: Hit = %v, %v; want a miss", name, ok, err)
		}
	}
	data, _ := json.Marshal(newEntry(in, tok, now, time.Hour))
	if err := os.WriteFile(c.path(in), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.Hit(in, &bytes.Buffer{}); !ok || err != nil {
		t.Errorf("the job's own entry: Hit = %v, %v; want a hit", ok, err)
	}
}
