package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
)

// Client ids of real XSUAA clients contain '!' and '|'; secrets often '$', '+', '='
// and '/'.
const (
	testClientID     = "sb-ut-1234!b5678|cis-local!b4"
	testClientSecret = "1f2e$s3cr+3t/Value="
)

func TestTokenURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://x.authentication.eu10.hana.ondemand.com":               "https://x.authentication.eu10.hana.ondemand.com/oauth/token",
		"https://x.authentication.eu10.hana.ondemand.com/":              "https://x.authentication.eu10.hana.ondemand.com/oauth/token",
		" https://x.authentication.eu10.hana.ondemand.com/oauth/token ": "https://x.authentication.eu10.hana.ondemand.com/oauth/token",
	} {
		if got := TokenURL(in); got != want {
			t.Errorf("TokenURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	ok := Config{UAAURL: "https://uaa.example", ClientID: "id", ClientSecret: "secret"}
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"complete", func(*Config) {}, ""},
		{"no url", func(c *Config) { c.UAAURL = " " }, "the service key has no UAA URL (credentials.uaa.url)"},
		{"no id", func(c *Config) { c.ClientID = "" }, "the service key has no client id (credentials.uaa.clientid)"},
		{"no secret", func(c *Config) { c.ClientSecret = "" }, "the service key has no client secret (credentials.uaa.clientsecret)"},
		{"not a url", func(c *Config) { c.UAAURL = "uaa.example" }, `the UAA URL "uaa.example" is not an http(s) URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			if diff := cmp.Diff(tt.want, errString(c.Validate())); diff != "" {
				t.Errorf("Validate() (-want +got):\n%s", diff)
			}
		})
	}
}

// fakeUAA answers the token endpoint as XSUAA does (UAA in URI-encoding
// compatibility mode): it checks the method, path and form, and takes the client
// from the form body or from a Basic header compared as sent; a Basic header is
// URL-decoded only with X-CF-ENCODED-CREDENTIALS: true.
func fakeUAA(t *testing.T, answer func(w http.ResponseWriter)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/oauth/token" {
			t.Errorf("request %s %s, want POST /oauth/token", r.Method, r.URL.Path)
		}
		if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
			t.Errorf("form %v (%v), want grant_type=client_credentials", r.PostForm, err)
		}
		id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		if user, pass, ok := r.BasicAuth(); ok {
			id, secret = user, pass
			if strings.EqualFold(r.Header.Get("X-CF-ENCODED-CREDENTIALS"), "true") {
				id, _ = url.QueryUnescape(user)
				secret, _ = url.QueryUnescape(pass)
			}
		}
		if id != testClientID || secret != testClientSecret {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("WWW-Authenticate", `Basic realm="UAA/client", error="unauthorized", error_description="Bad credentials"`)
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client","error_description":"Bad credentials"}`)
			return
		}
		answer(w)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestTokenRequestAsXSUAATakesIt decodes the exact request the client sends and
// checks that it is one of the two forms XSUAA accepts for any client id and
// secret: the credentials in the form body, or raw (not URL-encoded) Basic. A
// URL-encoded Basic header without X-CF-ENCODED-CREDENTIALS: true, what x/oauth2's
// AuthStyleInHeader sends, is refused by XSUAA with 401.
func TestTokenRequestAsXSUAATakesIt(t *testing.T) {
	clients := []struct{ name, id, secret string }{
		{"CIS service key", "sb-ut-6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b!b123456|cis-local!b4", "9a8b7c6d-1e2f-4a3b-8c9d-0e1f2a3b4c5d$Xy+z/AbC=="},
		{"KEB-direct client", "sb-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d!b98765|kyma-env-broker!b5", "p$q+r=s/t"},
	}
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			var (
				header http.Header
				body   []byte
			)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				header = r.Header.Clone()
				body, _ = io.ReadAll(r.Body)
				writeJSON(w, http.StatusOK, `{"access_token":"at","token_type":"bearer","expires_in":43199}`)
			}))
			defer srv.Close()
			cc := NewClientCredentials(Config{UAAURL: srv.URL, ClientID: c.id, ClientSecret: c.secret}, srv.Client())
			if _, err := cc.TokenContext(context.Background()); err != nil {
				t.Fatalf("TokenContext: %v", err)
			}
			if got := header.Get("Content-Type"); !strings.HasPrefix(got, "application/x-www-form-urlencoded") {
				t.Fatalf("Content-Type %q, want application/x-www-form-urlencoded (UAA reads client_id only from a form)", got)
			}
			form, err := url.ParseQuery(string(body))
			if err != nil {
				t.Fatalf("body %q is not a form: %v", body, err)
			}
			if form.Get("grant_type") != "client_credentials" {
				t.Errorf("grant_type %q, want client_credentials", form.Get("grant_type"))
			}
			switch authz := header.Get("Authorization"); {
			case authz == "":
				// Form body: UAA's ClientParametersAuthenticationFilter form-decodes it.
				if form.Get("client_id") != c.id || form.Get("client_secret") != c.secret {
					t.Errorf("form client_id %q client_secret %q, want the key's id and secret exactly", form.Get("client_id"), form.Get("client_secret"))
				}
			case strings.HasPrefix(strings.ToLower(authz), "basic "):
				// Raw Basic: compared as sent unless X-CF-ENCODED-CREDENTIALS: true.
				raw, err := base64.StdEncoding.DecodeString(authz[len("basic "):])
				if err != nil {
					t.Fatalf("Basic credentials are not base64: %v", err)
				}
				if strings.EqualFold(header.Get("X-CF-ENCODED-CREDENTIALS"), "true") {
					t.Fatalf("URL-encoded Basic with X-CF-ENCODED-CREDENTIALS: send the form body or raw Basic")
				}
				if string(raw) != c.id+":"+c.secret {
					t.Errorf("Basic credentials %q, want the id and secret as they are (XSUAA does not URL-decode them)", raw)
				}
				if form.Has("client_secret") {
					t.Errorf("the secret is sent twice, in the header and the form")
				}
			default:
				t.Errorf("Authorization %q, want none (form body) or Basic", authz)
			}
		})
	}
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

func TestClientCredentialsToken(t *testing.T) {
	srv := fakeUAA(t, func(w http.ResponseWriter) {
		writeJSON(w, http.StatusOK, `{"access_token":"at-1","token_type":"bearer","expires_in":43199,"scope":"uaa.resource","jti":"j"}`)
	})
	cc := NewClientCredentials(Config{UAAURL: srv.URL + "/", ClientID: testClientID, ClientSecret: testClientSecret}, srv.Client())
	before := time.Now()
	tok, err := cc.TokenContext(context.Background())
	if err != nil {
		t.Fatalf("TokenContext: %v", err)
	}
	if diff := cmp.Diff([]string{"at-1", "Bearer"}, []string{tok.AccessToken, tok.Type()}); diff != "" {
		t.Errorf("token (-want +got):\n%s", diff)
	}
	if want := before.Add(43199 * time.Second); tok.Expiry.Before(want.Add(-time.Minute)) || tok.Expiry.After(want.Add(time.Minute)) {
		t.Errorf("expiry %v, want about %v", tok.Expiry, want)
	}
	if diff := cmp.Diff(srv.URL+"/oauth/token "+testClientID, cc.CacheKey()); diff != "" {
		t.Errorf("CacheKey (-want +got):\n%s", diff)
	}
}

func TestClientCredentialsErrors(t *testing.T) {
	tests := []struct {
		name       string
		secret     string
		answer     func(w http.ResponseWriter)
		want       string // "%s" is the UAA URL
		wantStatus int
		invalid    bool
	}{
		{
			name:       "wrong secret",
			secret:     "wrong-secret",
			want:       "the UAA refused the client credentials (invalid_client: Bad credentials); check the service key",
			wantStatus: 401, invalid: true,
		},
		{
			name:   "older UAA says unauthorized",
			secret: testClientSecret,
			answer: func(w http.ResponseWriter) {
				writeJSON(w, 401, `{"error":"unauthorized","error_description":"Bad credentials"}`)
			},
			want:       "the UAA refused the client credentials (unauthorized: Bad credentials); check the service key",
			wantStatus: 401, invalid: true,
		},
		{
			name:       "401 without a body",
			secret:     testClientSecret,
			answer:     func(w http.ResponseWriter) { w.WriteHeader(401) },
			want:       "the UAA refused the client credentials (401 Unauthorized); check the service key",
			wantStatus: 401, invalid: true,
		},
		{
			name:   "other OAuth2 error",
			secret: testClientSecret,
			answer: func(w http.ResponseWriter) {
				writeJSON(w, 400, `{"error":"invalid_scope","error_description":"Invalid scope: x"}`)
			},
			want:       "the UAA at %s refused the token request (invalid_scope: Invalid scope: x)",
			wantStatus: 400,
		},
		{
			name:   "HTML error page is not quoted",
			secret: testClientSecret,
			answer: func(w http.ResponseWriter) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(502)
				fmt.Fprint(w, "<html><body>bad gateway page</body></html>")
			},
			want:       "the UAA at %s answered 502 Bad Gateway to the token request",
			wantStatus: 502,
		},
		{
			name:       "200 without a token",
			secret:     testClientSecret,
			answer:     func(w http.ResponseWriter) { writeJSON(w, 200, `{"token_type":"bearer"}`) },
			want:       "the UAA at %s gave no usable token: oauth2: server response missing access_token",
			wantStatus: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakeUAA(t, tt.answer)
			cc := NewClientCredentials(Config{UAAURL: srv.URL, ClientID: testClientID, ClientSecret: tt.secret}, srv.Client())
			_, err := cc.Token()
			want := tt.want
			if strings.Contains(want, "%s") {
				want = fmt.Sprintf(want, srv.URL)
			}
			if diff := cmp.Diff(want, errString(err)); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			var ae *Error
			if !errors.As(err, &ae) {
				t.Fatalf("error %T is not an *Error", err)
			}
			if ae.StatusCode != tt.wantStatus {
				t.Errorf("StatusCode = %d, want %d", ae.StatusCode, tt.wantStatus)
			}
			if got := errors.Is(err, ErrInvalidClient) && errors.Is(err, binding.ErrUnauthorized); got != tt.invalid {
				t.Errorf("errors.Is(ErrInvalidClient, ErrUnauthorized) = %v, want %v", got, tt.invalid)
			}
			assertNoSecret(t, err, tt.secret, "bad gateway page")
		})
	}
}

func TestClientCredentialsUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	uaa := srv.URL
	srv.Close()
	cc := NewClientCredentials(Config{UAAURL: uaa, ClientID: testClientID, ClientSecret: testClientSecret}, nil)
	_, err := cc.Token()
	if prefix := "cannot reach the UAA at " + uaa + ": "; !strings.HasPrefix(errString(err), prefix) {
		t.Errorf("error %q, want prefix %q", errString(err), prefix)
	}
	assertNoSecret(t, err, testClientSecret)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = cc.TokenContext(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled fetch: %v, want context.Canceled", err)
	}
}

func TestClientCredentialsIncompleteKey(t *testing.T) {
	cc := NewClientCredentials(Config{UAAURL: "https://uaa.example", ClientID: testClientID}, nil)
	_, err := cc.Token()
	if diff := cmp.Diff("the service key has no client secret (credentials.uaa.clientsecret)", errString(err)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// assertNoSecret fails when err's text holds any of secrets.
func assertNoSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && err != nil && strings.Contains(err.Error(), s) {
			t.Errorf("error %q holds %q", err, s)
		}
	}
}
