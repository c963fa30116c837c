package oidcwebhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// testIssuer is an OIDC issuer on httptest's TLS server: discovery and JWKS.
type testIssuer struct {
	srv  *httptest.Server
	key  *rsa.PrivateKey
	now  time.Time
	caPE []byte
}

func newTestIssuer(t *testing.T) *testIssuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	is := &testIssuer{key: key, now: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": is.srv.URL, "jwks_uri": is.srv.URL + "/.well-known/jwks",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /.well-known/jwks", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(is.jwks())
	})
	is.srv = httptest.NewUnstartedServer(mux)
	is.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted-CA case fails a handshake on purpose
	is.srv.StartTLS()
	t.Cleanup(is.srv.Close)
	is.caPE = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: is.srv.Certificate().Raw})
	return is
}

func (is *testIssuer) jwks() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &is.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}}
}

// token signs GitHub-shaped claims for repo and aud with key (the issuer's when nil);
// edit changes the claims before signing.
func (is *testIssuer) token(t *testing.T, key *rsa.PrivateKey, repo, aud string, edit func(map[string]any)) string {
	t.Helper()
	if key == nil {
		key = is.key
	}
	claims := map[string]any{
		"iss": is.srv.URL, "aud": aud, "sub": "repo:" + repo + ":ref:refs/heads/main",
		"repository": repo, "repository_owner": strings.Split(repo, "/")[0], "ref": "refs/heads/main",
		"iat": is.now.Unix(), "nbf": is.now.Unix(), "exp": is.now.Add(5 * time.Minute).Unix(), "jti": "j1",
	}
	if edit != nil {
		edit(claims)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// fakeLister returns the resources it holds and counts its calls.
type fakeLister struct {
	mu    sync.Mutex
	items []OpenIDConnect
	calls int
}

func (f *fakeLister) List(context.Context) ([]OpenIDConnect, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return append([]OpenIDConnect(nil), f.items...), nil
}

func (f *fakeLister) set(items ...OpenIDConnect) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.items = items
}

func ptr[T any](v T) *T { return &v }

// trust is the resource `oidc trust ENV --repository REPO` writes, as Kyma's CLI does.
func (is *testIssuer) trust(name, repo, aud string) OpenIDConnect {
	var r OpenIDConnect
	r.Metadata.Name, r.Metadata.UID, r.Metadata.ResourceVersion = name, "uid-"+name, "1"
	r.Spec = Spec{
		IssuerURL: is.srv.URL, ClientID: aud,
		UsernameClaim: ptr("repository"), UsernamePrefix: ptr("gh:"),
		RequiredClaims: map[string]string{"repository": repo},
		CABundle:       is.caPE,
	}
	return r
}

func newAuth(is *testIssuer, l Lister) *Authenticator {
	a := New(l, nil)
	a.now = func() time.Time { return is.now }
	return a
}

// pinned is r requiring GitHub's repository_id 74 and repository_owner_id 65 too.
func pinned(r OpenIDConnect) OpenIDConnect {
	r.Spec.RequiredClaims = map[string]string{"repository": r.Spec.RequiredClaims["repository"], "repository_id": "74", "repository_owner_id": "65"}
	return r
}

func TestDecisions(t *testing.T) {
	is := newTestIssuer(t)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	base := is.trust("ci-example-app", "example/app", "kyma")
	cases := []struct {
		name      string
		resources []OpenIDConnect
		token     string
		wantUser  string
		wantErr   string
	}{
		{name: "good token", resources: []OpenIDConnect{base}, token: is.token(t, nil, "example/app", "kyma", nil), wantUser: "gh:example/app"},
		{name: "other repository, refused by requiredClaims", resources: []OpenIDConnect{base},
			token: is.token(t, nil, "mallory/app", "kyma", nil), wantErr: `required claim "repository"`},
		// Pinned by the immutable ids: a repository made anew under the name has
		// another repository_id; an id given as a JSON number never matches, as
		// kube-apiserver's requiredClaims read string values only.
		{name: "recycled name, refused by the pinned repository_id", resources: []OpenIDConnect{pinned(base)},
			token:   is.token(t, nil, "example/app", "kyma", func(c map[string]any) { c["repository_id"], c["repository_owner_id"] = "999", "65" }),
			wantErr: `required claim "repository_id"`},
		{name: "the pinned repository's own token", resources: []OpenIDConnect{pinned(base)},
			token:    is.token(t, nil, "example/app", "kyma", func(c map[string]any) { c["repository_id"], c["repository_owner_id"] = "74", "65" }),
			wantUser: "gh:example/app"},
		{name: "id as a JSON number", resources: []OpenIDConnect{pinned(base)},
			token:   is.token(t, nil, "example/app", "kyma", func(c map[string]any) { c["repository_id"], c["repository_owner_id"] = 74, "65" }),
			wantErr: `required claim "repository_id"`},
		{name: "other audience", resources: []OpenIDConnect{base},
			token: is.token(t, nil, "example/app", "https://github.com/example", nil), wantErr: "audience"},
		{name: "expired", resources: []OpenIDConnect{base},
			token: is.token(t, nil, "example/app", "kyma", func(c map[string]any) {
				c["iat"], c["nbf"], c["exp"] = is.now.Add(-20*time.Minute).Unix(), is.now.Add(-20*time.Minute).Unix(), is.now.Add(-15*time.Minute).Unix()
			}), wantErr: "expired"},
		{name: "bad signature", resources: []OpenIDConnect{base}, token: is.token(t, other, "example/app", "kyma", nil), wantErr: "signature"},
		{name: "no resource", token: is.token(t, nil, "example/app", "kyma", nil), wantErr: "no OpenIDConnect resource trusts"},
		{name: "not a JWT", resources: []OpenIDConnect{base}, token: "0123456789abcdef", wantErr: "not a JWT"},
		{name: "another issuer's resource", resources: []OpenIDConnect{func() OpenIDConnect {
			r := base
			r.Spec.IssuerURL = "https://token.actions.githubusercontent.com"
			return r
		}()}, token: is.token(t, nil, "example/app", "kyma", nil), wantErr: "no OpenIDConnect resource trusts"},
		{name: "second resource of the same issuer trusts another repository", resources: []OpenIDConnect{base, is.trust("ci-acme-site", "acme/site", "kyma")},
			token: is.token(t, nil, "acme/site", "kyma", nil), wantUser: "gh:acme/site"},
		{name: "untrusted CA bundle", resources: []OpenIDConnect{func() OpenIDConnect {
			r := base
			r.Spec.CABundle = nil // the system roots do not know httptest's CA
			return r
		}()}, token: is.token(t, nil, "example/app", "kyma", nil), wantErr: "discover the issuer"},
		{name: "default prefix is the resource name", resources: []OpenIDConnect{func() OpenIDConnect {
			r := base
			r.Spec.UsernamePrefix = nil
			return r
		}()}, token: is.token(t, nil, "example/app", "kyma", nil), wantUser: "ci-example-app/example/app"},
		{name: "empty prefix is the resource name too", resources: []OpenIDConnect{func() OpenIDConnect {
			r := base
			r.Spec.UsernamePrefix = ptr("")
			return r
		}()}, token: is.token(t, nil, "example/app", "kyma", nil), wantUser: "ci-example-app/example/app"},
		{name: "prefix - means none", resources: []OpenIDConnect{func() OpenIDConnect {
			r := base
			r.Spec.UsernamePrefix = ptr("-")
			return r
		}()}, token: is.token(t, nil, "example/app", "kyma", nil), wantUser: "example/app"},
		{name: "system: usernames are refused", resources: []OpenIDConnect{func() OpenIDConnect {
			r := base
			r.Spec.UsernamePrefix = ptr("system:")
			return r
		}()}, token: is.token(t, nil, "example/app", "kyma", nil), wantErr: "system:"},
		{name: "longer than maxTokenExpirationSeconds", resources: []OpenIDConnect{func() OpenIDConnect {
			r := base
			r.Spec.MaxTokenExpirationSeconds = ptr(int64(60))
			return r
		}()}, token: is.token(t, nil, "example/app", "kyma", nil), wantErr: "longer than"},
		{name: "audiences list", resources: []OpenIDConnect{func() OpenIDConnect {
			r := base
			r.Spec.ClientID, r.Spec.Audiences = "", []string{"x", "kyma"}
			return r
		}()}, token: is.token(t, nil, "example/app", "kyma", nil), wantUser: "gh:example/app"},
		{name: "static JWKS instead of discovery", resources: []OpenIDConnect{func() OpenIDConnect {
			r := base
			r.Spec.CABundle = nil
			r.Spec.JWKS.Keys, _ = json.Marshal(is.jwks())
			return r
		}()}, token: is.token(t, nil, "example/app", "kyma", nil), wantUser: "gh:example/app"},
		{name: "unsupported algorithm", resources: []OpenIDConnect{func() OpenIDConnect {
			r := base
			r.Spec.SupportedSigningAlgs = []string{"ES256"}
			return r
		}()}, token: is.token(t, nil, "example/app", "kyma", nil), wantErr: "unexpected signature algorithm"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := &fakeLister{}
			l.set(c.resources...)
			u, err := newAuth(is, l).Authenticate(context.Background(), c.token)
			switch {
			case c.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("got user %v, error %v; want an error with %q", u, err, c.wantErr)
				}
				if strings.Contains(err.Error(), c.token) {
					t.Error("the error holds the token")
				}
			case err != nil:
				t.Fatalf("refused: %v", err)
			case u.Username != c.wantUser:
				t.Errorf("username %q, want %q", u.Username, c.wantUser)
			}
		})
	}
}

func TestGroupsClaim(t *testing.T) {
	is := newTestIssuer(t)
	r := is.trust("ci", "example/app", "kyma")
	r.Spec.GroupsClaim, r.Spec.GroupsPrefix = ptr("teams"), ptr("gh:")
	l := &fakeLister{}
	l.set(r)
	u, err := newAuth(is, l).Authenticate(context.Background(), is.token(t, nil, "example/app", "kyma", func(c map[string]any) {
		c["teams"] = []string{"deployers", "ops"}
	}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(u.Groups, ",") != "gh:deployers,gh:ops" {
		t.Errorf("groups %v, want gh:deployers and gh:ops", u.Groups)
	}
	if u.Extra["gardener.cloud/authenticator/name"][0] != "ci" {
		t.Errorf("extra %v, want the resource's name", u.Extra)
	}
}

// TestDeletedResourceStopsTrust: once the listing is older than its TTL, a deleted
// resource no longer authenticates, and the listing is not repeated within the TTL.
func TestDeletedResourceStopsTrust(t *testing.T) {
	is := newTestIssuer(t)
	l := &fakeLister{}
	l.set(is.trust("ci", "example/app", "kyma"))
	a := newAuth(is, l)
	tok := is.token(t, nil, "example/app", "kyma", nil)
	for range 3 {
		if _, err := a.Authenticate(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if l.calls != 1 {
		t.Errorf("%d listings for three reviews within the TTL, want 1", l.calls)
	}
	l.set()
	is.now = is.now.Add(DefaultListTTL)
	if _, err := a.Authenticate(context.Background(), tok); err == nil {
		t.Error("a deleted resource still authenticates after the list TTL")
	}
}

func TestServeTokenReview(t *testing.T) {
	is := newTestIssuer(t)
	l := &fakeLister{}
	l.set(is.trust("ci", "example/app", "kyma"))
	a := newAuth(is, l)
	review := func(token string) authenticationv1.TokenReview {
		t.Helper()
		body, _ := json.Marshal(authenticationv1.TokenReview{
			TypeMeta: metaTypes("authentication.k8s.io/v1", "TokenReview"),
			Spec:     authenticationv1.TokenReviewSpec{Token: token, Audiences: []string{"https://kubernetes.default.svc.cluster.local"}},
		})
		rec := httptest.NewRecorder()
		a.ServeHTTP(rec, httptest.NewRequest("POST", Path, bytes.NewReader(body)))
		if rec.Code != 200 {
			t.Fatalf("status %d", rec.Code)
		}
		if strings.Contains(rec.Body.String(), token) {
			t.Error("the answer echoes the token")
		}
		var out authenticationv1.TokenReview
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	ok := review(is.token(t, nil, "example/app", "kyma", nil))
	if ok.APIVersion != "authentication.k8s.io/v1" || ok.Kind != "TokenReview" || !ok.Status.Authenticated || ok.Status.User.Username != "gh:example/app" {
		t.Errorf("good token: %+v", ok)
	}
	if bad := review(is.token(t, nil, "example/app", "other", nil)); bad.Status.Authenticated || bad.Status.User.Username != "" {
		t.Errorf("other audience: %+v", bad.Status)
	}
}

func metaTypes(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

// TestRefusedAsGardenerRefuses holds the authenticator to what Gardener's
// oidc-webhook-authenticator (and the kube-apiserver JWT authenticator it builds per
// resource) refuses; each case was accepted before it was held (docs/wire.md).
func TestRefusedAsGardenerRefuses(t *testing.T) {
	is := newTestIssuer(t)
	base := is.trust("ci-example-app", "example/app", "kyma")
	with := func(edit func(*OpenIDConnect)) OpenIDConnect {
		r := base
		edit(&r)
		return r
	}
	good := is.token(t, nil, "example/app", "kyma", nil)
	cases := []struct {
		name      string
		resources []OpenIDConnect
		token     string
		wantErr   string
	}{
		// Gardener stops at the first resource whose user is under system: and refuses
		// the token; it tries the resources in Go map order, so a token one resource
		// maps to a system: user is refused some of the time there, and always here.
		{name: "a system: user from one resource refuses the token another accepts",
			resources: []OpenIDConnect{base, with(func(r *OpenIDConnect) {
				r.Metadata.Name, r.Metadata.UID = "zz-no-prefix", "uid-zz"
				r.Spec.UsernameClaim, r.Spec.UsernamePrefix = ptr("actor"), ptr("-")
			})},
			token:   is.token(t, nil, "example/app", "kyma", func(c map[string]any) { c["actor"] = "system:kube-controller-manager" }),
			wantErr: "system:"},
		{name: "maxTokenExpirationSeconds with iat after exp",
			resources: []OpenIDConnect{with(func(r *OpenIDConnect) { r.Spec.MaxTokenExpirationSeconds = ptr(int64(600)) })},
			token: is.token(t, nil, "example/app", "kyma", func(c map[string]any) {
				c["iat"] = is.now.Add(10 * time.Minute).Unix()
			}),
			wantErr: "iat"},
		{name: "maxTokenExpirationSeconds with iat 0",
			resources: []OpenIDConnect{with(func(r *OpenIDConnect) { r.Spec.MaxTokenExpirationSeconds = ptr(int64(1) << 40) })},
			token:     is.token(t, nil, "example/app", "kyma", func(c map[string]any) { c["iat"] = 0 }),
			wantErr:   "iat"},
		{name: "maxTokenExpirationSeconds with iat a string",
			resources: []OpenIDConnect{with(func(r *OpenIDConnect) { r.Spec.MaxTokenExpirationSeconds = ptr(int64(600)) })},
			token:     is.token(t, nil, "example/app", "kyma", func(c map[string]any) { c["iat"] = fmt.Sprint(is.now.Unix()) }),
			wantErr:   "iat"},
		{name: "an extraClaims claim the token lacks",
			resources: []OpenIDConnect{with(func(r *OpenIDConnect) { r.Spec.ExtraClaims = []string{"repository_id"} })},
			token:     good,
			wantErr:   "repository_id"},
		{name: "email not verified",
			resources: []OpenIDConnect{with(func(r *OpenIDConnect) { r.Spec.UsernameClaim, r.Spec.RequiredClaims = ptr("email"), nil })},
			token: is.token(t, nil, "example/app", "kyma", func(c map[string]any) {
				c["email"], c["email_verified"] = "dev@example.com", false
			}),
			wantErr: "email"},
		{name: "email_verified not a boolean",
			resources: []OpenIDConnect{with(func(r *OpenIDConnect) { r.Spec.UsernameClaim, r.Spec.RequiredClaims = ptr("email"), nil })},
			token: is.token(t, nil, "example/app", "kyma", func(c map[string]any) {
				c["email"], c["email_verified"] = "dev@example.com", "true"
			}),
			wantErr: "email_verified"},
		{name: "groups claim a number",
			resources: []OpenIDConnect{with(func(r *OpenIDConnect) { r.Spec.GroupsClaim = ptr("teams") })},
			token:     is.token(t, nil, "example/app", "kyma", func(c map[string]any) { c["teams"] = 7 }),
			wantErr:   "teams"},
		{name: "groups claim a list with a number",
			resources: []OpenIDConnect{with(func(r *OpenIDConnect) { r.Spec.GroupsClaim = ptr("teams") })},
			token:     is.token(t, nil, "example/app", "kyma", func(c map[string]any) { c["teams"] = []any{"ops", 7} }),
			wantErr:   "teams"},
		{name: "username claim a number",
			resources: []OpenIDConnect{with(func(r *OpenIDConnect) { r.Spec.UsernameClaim, r.Spec.RequiredClaims = ptr("run_id"), nil })},
			token:     is.token(t, nil, "example/app", "kyma", func(c map[string]any) { c["run_id"] = 42 }),
			wantErr:   "run_id"},
		{name: "a required claim that is a number, not the string",
			resources: []OpenIDConnect{with(func(r *OpenIDConnect) { r.Spec.RequiredClaims = map[string]string{"repository_id": "42"} })},
			token:     is.token(t, nil, "example/app", "kyma", func(c map[string]any) { c["repository_id"] = 42 }),
			wantErr:   "repository_id"},
		{name: "issuer with a trailing slash is another issuer",
			resources: []OpenIDConnect{with(func(r *OpenIDConnect) { r.Spec.IssuerURL += "/" })},
			token:     good,
			wantErr:   "no OpenIDConnect resource trusts"},
		{name: "nbf more than 5 minutes ahead",
			resources: []OpenIDConnect{base},
			token:     is.token(t, nil, "example/app", "kyma", func(c map[string]any) { c["nbf"] = is.now.Add(5*time.Minute + time.Second).Unix() }),
			wantErr:   "before"},
		{name: "exp a second ago, no leeway",
			resources: []OpenIDConnect{base},
			token:     is.token(t, nil, "example/app", "kyma", func(c map[string]any) { c["exp"] = is.now.Add(-time.Second).Unix() }),
			wantErr:   "expired"},
		{name: "no exp",
			resources: []OpenIDConnect{base},
			token:     is.token(t, nil, "example/app", "kyma", func(c map[string]any) { delete(c, "exp") }),
			wantErr:   "expired"},
		// GOWA verifies with the spec.jwks.keys key whose kid is the token's, only.
		{name: "static JWKS whose key has another kid",
			resources: []OpenIDConnect{with(func(r *OpenIDConnect) {
				set := is.jwks()
				set.Keys[0].KeyID = "k2"
				r.Spec.CABundle = nil
				r.Spec.JWKS.Keys, _ = json.Marshal(set)
			})},
			token:   good,
			wantErr: "kid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := &fakeLister{}
			l.set(c.resources...)
			u, err := newAuth(is, l).Authenticate(context.Background(), c.token)
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("got user %v, error %v; want refused with %q", u, err, c.wantErr)
			}
		})
	}
}

// TestAcceptedAsGardenerAccepts: the edges of the same rules on the side Gardener takes.
func TestAcceptedAsGardenerAccepts(t *testing.T) {
	is := newTestIssuer(t)
	base := is.trust("ci-example-app", "example/app", "kyma")
	with := func(edit func(*OpenIDConnect)) OpenIDConnect {
		r := base
		edit(&r)
		return r
	}
	cases := []struct {
		name     string
		resource OpenIDConnect
		token    string
		check    func(*testing.T, *authenticationv1.UserInfo)
	}{
		// GOWA compares the whole seconds of exp-iat (an int64 conversion).
		{name: "a lifetime over the maximum by less than a second",
			resource: with(func(r *OpenIDConnect) { r.Spec.MaxTokenExpirationSeconds = ptr(int64(300)) }),
			token:    is.token(t, nil, "example/app", "kyma", func(c map[string]any) { c["exp"] = float64(is.now.Unix()) + 300.5 })},
		{name: "a lifetime of exactly the maximum",
			resource: with(func(r *OpenIDConnect) { r.Spec.MaxTokenExpirationSeconds = ptr(int64(300)) }),
			token:    is.token(t, nil, "example/app", "kyma", nil)},
		{name: "nbf up to 5 minutes ahead",
			resource: base,
			token:    is.token(t, nil, "example/app", "kyma", func(c map[string]any) { c["nbf"] = is.now.Add(5 * time.Minute).Unix() })},
		{name: "extraClaims copied in lower case, numbers as JSON",
			resource: with(func(r *OpenIDConnect) { r.Spec.ExtraClaims = []string{"Repository_ID", "ref"} }),
			token: is.token(t, nil, "example/app", "kyma", func(c map[string]any) {
				c["Repository_ID"] = 123456789
			}),
			check: func(t *testing.T, u *authenticationv1.UserInfo) {
				if got := u.Extra["gardener.cloud/user/repository_id"]; len(got) != 1 || got[0] != "123456789" {
					t.Errorf("extra repository_id %v, want [123456789]", got)
				}
				if got := u.Extra["gardener.cloud/user/ref"]; len(got) != 1 || got[0] != "refs/heads/main" {
					t.Errorf("extra ref %v, want [refs/heads/main]", got)
				}
			}},
		{name: "email verified",
			resource: with(func(r *OpenIDConnect) { r.Spec.UsernameClaim, r.Spec.RequiredClaims = ptr("email"), nil }),
			token: is.token(t, nil, "example/app", "kyma", func(c map[string]any) {
				c["email"], c["email_verified"] = "dev@example.com", true
			})},
		{name: "groups claim one string, system: groups dropped",
			resource: with(func(r *OpenIDConnect) { r.Spec.GroupsClaim, r.Spec.GroupsPrefix = ptr("teams"), ptr("-") }),
			token:    is.token(t, nil, "example/app", "kyma", func(c map[string]any) { c["teams"] = "system:masters" }),
			check: func(t *testing.T, u *authenticationv1.UserInfo) {
				if len(u.Groups) != 0 {
					t.Errorf("groups %v, want none", u.Groups)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := &fakeLister{}
			l.set(c.resource)
			u, err := newAuth(is, l).Authenticate(context.Background(), c.token)
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if c.check != nil {
				c.check(t, u)
			}
		})
	}
}
