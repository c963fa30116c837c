package emulator

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTokenEndpoint holds the token endpoint to XSUAA's client authentication: UAA
// with authentication.enableUriEncodingCompatibilityMode (ClientBasicAuthenticationFilter,
// ClientParametersAuthenticationFilter, UaaExceptionTranslator; see docs/wire.md).
func TestTokenEndpoint(t *testing.T) {
	tt := newTester(t, nil)
	key := tt.serviceKey()
	id, secret := key.Credentials.UAA.ClientID, key.Credentials.UAA.ClientSecret
	broker := tt.brokerConfig()
	// The client files are shaped like XSUAA's: ids with "!" and "|", secrets with
	// "$", "+", "/" and "=".
	for _, c := range [][2]string{{id, secret}, {broker.ClientID, broker.ClientSecret}} {
		if !strings.Contains(c[0], "!") || !strings.Contains(c[0], "|") ||
			!strings.Contains(c[1], "$") || !strings.Contains(c[1], "+") || !strings.Contains(c[1], "/") || !strings.HasSuffix(c[1], "=") {
			t.Errorf("client %q with secret of %d characters is not shaped like XSUAA's", c[0], len(c[1]))
		}
	}
	post := func(body string, header map[string]string) response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, tt.e.URL+"/oauth/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := tt.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r response
		r.status, r.header = resp.StatusCode, resp.Header
		if r.body, err = io.ReadAll(resp.Body); err != nil {
			t.Fatal(err)
		}
		return r
	}
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	grant := "grant_type=client_credentials"
	withClient := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}.Encode()
	encodedBasic := basic(url.QueryEscape(id), url.QueryEscape(secret))
	badCredentials := map[string]string{"error": "invalid_client", "error_description": "Bad credentials"}
	const badChallenge = `Basic realm="UAA/client", error="unauthorized", error_description="Bad credentials"`

	tests := []struct {
		name             string
		body             string
		header           map[string]string
		wantStatus       int
		wantBody         map[string]string
		wantAuthenticate string
	}{
		{name: "raw basic", body: grant, header: map[string]string{"Authorization": basic(id, secret)}, wantStatus: 200},
		{name: "lowercase basic scheme", body: grant, header: map[string]string{"Authorization": "basic " + strings.TrimPrefix(basic(id, secret), "Basic ")}, wantStatus: 200},
		{
			name: "URL-encoded basic without X-CF-ENCODED-CREDENTIALS", body: grant,
			header:     map[string]string{"Authorization": encodedBasic},
			wantStatus: 401, wantBody: badCredentials, wantAuthenticate: badChallenge,
		},
		{
			name: "URL-encoded basic with X-CF-ENCODED-CREDENTIALS: true", body: grant,
			header: map[string]string{"Authorization": encodedBasic, "X-CF-ENCODED-CREDENTIALS": "true"}, wantStatus: 200,
		},
		{
			name: "X-CF-ENCODED-CREDENTIALS is read in any case", body: grant,
			header: map[string]string{"Authorization": encodedBasic, "X-CF-ENCODED-CREDENTIALS": "TRUE"}, wantStatus: 200,
		},
		{
			name: "X-CF-ENCODED-CREDENTIALS: false", body: grant,
			header:     map[string]string{"Authorization": encodedBasic, "X-CF-ENCODED-CREDENTIALS": "false"},
			wantStatus: 401, wantBody: badCredentials, wantAuthenticate: badChallenge,
		},
		{
			// Decoding turns the secret's "+" into a space.
			name: "raw basic with X-CF-ENCODED-CREDENTIALS: true", body: grant,
			header:     map[string]string{"Authorization": basic(id, secret), "X-CF-ENCODED-CREDENTIALS": "true"},
			wantStatus: 401, wantBody: badCredentials, wantAuthenticate: badChallenge,
		},
		{name: "form body", body: withClient, wantStatus: 200},
		{
			// A form that does not encode the secret: its "+" reads as a space.
			name: "form body not form-encoded", body: grant + "&client_id=" + id + "&client_secret=" + secret,
			wantStatus: 401, wantBody: badCredentials, wantAuthenticate: badChallenge,
		},
		{
			// With an Authorization header UAA does not read the form's client.
			name: "wrong basic, right form", body: withClient,
			header:     map[string]string{"Authorization": basic(id, "nope")},
			wantStatus: 401, wantBody: badCredentials, wantAuthenticate: badChallenge,
		},
		{
			name: "bad secret", body: grant, header: map[string]string{"Authorization": basic(id, "nope")},
			wantStatus: 401, wantBody: badCredentials, wantAuthenticate: badChallenge,
		},
		{
			name: "basic that is not base64", body: grant, header: map[string]string{"Authorization": "Basic %%%"},
			wantStatus:       401,
			wantBody:         map[string]string{"error": "invalid_client", "error_description": "Failed to decode basic authentication token"},
			wantAuthenticate: badChallenge,
		},
		{
			name: "encoded basic that does not decode", body: grant,
			header:           map[string]string{"Authorization": basic(id, "100%"), "X-CF-ENCODED-CREDENTIALS": "true"},
			wantStatus:       401,
			wantBody:         map[string]string{"error": "invalid_client", "error_description": "Failed to URL Decode credentials"},
			wantAuthenticate: badChallenge,
		},
		{
			name: "no client", body: grant, wantStatus: 401,
			wantBody:         map[string]string{"error": "unauthorized", "error_description": "Full authentication is required to access this resource"},
			wantAuthenticate: `Basic realm="UAA/client", error="unauthorized", error_description="Full authentication is required to access this resource"`,
		},
		{
			name: "no grant type", header: map[string]string{"Authorization": basic(id, secret)}, wantStatus: 400,
			wantBody: map[string]string{"error": "invalid_request", "error_description": "Missing grant type"},
		},
		{
			name: "password grant", body: "grant_type=password", header: map[string]string{"Authorization": basic(id, secret)}, wantStatus: 400,
			wantBody: map[string]string{"error": "unsupported_grant_type", "error_description": "Unsupported grant type: password"},
		},
	}
	issued := 0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := post(tc.body, tc.header)
			if r.status != tc.wantStatus {
				t.Fatalf("status = %d, want %d: %s", r.status, tc.wantStatus, r.body)
			}
			if tc.wantStatus == 200 {
				issued++
				var tok map[string]any
				r.json(t, &tok)
				if tok["token_type"] != "bearer" || tok["expires_in"] != float64(43199) || tok["access_token"] == "" || tok["jti"] == "" || tok["scope"] == "" {
					t.Errorf("token response = %v", tok)
				}
				if got := r.header.Get("Cache-Control"); got != "no-store" {
					t.Errorf("Cache-Control = %q, want no-store", got)
				}
				return
			}
			var got map[string]string
			r.json(t, &got)
			if diff := cmp.Diff(tc.wantBody, got); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if got := r.header.Get("WWW-Authenticate"); tc.wantAuthenticate != "" && got != tc.wantAuthenticate {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tc.wantAuthenticate)
			}
		})
	}
	if got := tt.stats().TokensIssued; got != int64(issued) || issued != 5 {
		t.Errorf("tokensIssued = %d, want %d (5 cases)", got, issued)
	}
}

func TestProvisioningAPIRefusesBadTokens(t *testing.T) {
	tt := newTester(t, nil)
	cisToken, brokerToken := tt.cisToken(), tt.brokerToken()
	tests := []struct {
		name          string
		authorization string
		wantStatus    int
		wantReason    string
	}{
		{"lowercase scheme", "bearer " + cisToken, 200, ""},
		{"capitalised scheme", "Bearer " + cisToken, 200, ""},
		{"uppercase scheme", "BEARER " + cisToken, 200, ""},
		{"no header", "", 401, "no bearer token"},
		{"basic scheme", "Basic " + cisToken, 401, "no bearer token"},
		{"tampered", "bearer " + cisToken[:len(cisToken)-2] + "xx", 401, "signature is invalid"},
		{"not a JWT", "bearer abc", 401, "not a JWT"},
		{"broker token", "bearer " + brokerToken, 401, "not issued for this API"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			if tc.authorization != "" {
				h["Authorization"] = tc.authorization
			}
			r := tt.do(http.MethodGet, "/provisioning/v1/environments", nil, h)
			if r.status != tc.wantStatus {
				t.Fatalf("status = %d, want %d", r.status, tc.wantStatus)
			}
			if tc.wantStatus != 401 {
				return
			}
			if len(r.body) != 0 {
				t.Errorf("401 body = %q, want empty", r.body)
			}
			if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer ") || !strings.Contains(got, tc.wantReason) {
				t.Errorf("WWW-Authenticate = %q, want a Bearer challenge saying %q", got, tc.wantReason)
			}
		})
	}

	t.Run("expired", func(t *testing.T) {
		tt.clock.Advance(tokenLifetime)
		r := tt.do(http.MethodGet, "/provisioning/v1/environments", nil, map[string]string{"Authorization": "bearer " + cisToken})
		if r.status != 401 || !strings.Contains(r.header.Get("WWW-Authenticate"), "expired") {
			t.Errorf("expired token: %d %q", r.status, r.header.Get("WWW-Authenticate"))
		}
	})
	t.Run("CIS token at the broker", func(t *testing.T) {
		r := tt.do(http.MethodGet, "/oauth/v2/catalog", nil, map[string]string{"Authorization": "bearer " + tt.cisToken(), "X-Broker-API-Version": "2.14"})
		if r.status != 401 {
			t.Errorf("status = %d, want 401", r.status)
		}
	})
}

func TestTokensSurviveRestart(t *testing.T) {
	tt := newTester(t, nil)
	tok := tt.cisToken()
	id := tt.serviceKey().Credentials.UAA.ClientID
	tt.restart(nil)
	if got := tt.serviceKey().Credentials.UAA.ClientID; got != id {
		t.Errorf("client id changed across restart: %q, then %q", id, got)
	}
	r := tt.do(http.MethodGet, "/provisioning/v1/environments", nil, map[string]string{"Authorization": "bearer " + tok})
	if r.status != 200 {
		t.Errorf("token from before the restart: %d, want 200", r.status)
	}
}
