package emulator

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTokenEndpoint(t *testing.T) {
	tt := newTester(t, nil)
	key := tt.serviceKey()
	id, secret := key.Credentials.UAA.ClientID, key.Credentials.UAA.ClientSecret
	post := func(form url.Values, basicID, basicSecret string) response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, tt.e.URL+"/oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basicID != "" {
			req.SetBasicAuth(basicID, basicSecret)
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
	grant := url.Values{"grant_type": {"client_credentials"}}
	withClient := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}

	tests := []struct {
		name               string
		form               url.Values
		basicID, basicPass string
		wantStatus         int
		wantBody           map[string]string
		wantAuthenticate   string
	}{
		{name: "basic auth as sent", form: grant, basicID: id, basicPass: secret, wantStatus: 200},
		{name: "basic auth form-encoded (RFC 6749)", form: grant, basicID: url.QueryEscape(id), basicPass: url.QueryEscape(secret), wantStatus: 200},
		{name: "form fields", form: withClient, wantStatus: 200},
		{
			name: "bad secret", form: grant, basicID: id, basicPass: "nope", wantStatus: 401,
			wantBody:         map[string]string{"error": "invalid_client", "error_description": "Bad credentials"},
			wantAuthenticate: `Basic realm="UAA/client", error="invalid_client", error_description="Bad credentials"`,
		},
		{
			name: "no client", form: grant, wantStatus: 401,
			wantBody:         map[string]string{"error": "unauthorized", "error_description": "Full authentication is required to access this resource"},
			wantAuthenticate: `Basic realm="UAA/client", error="unauthorized", error_description="Full authentication is required to access this resource"`,
		},
		{
			name: "no grant type", form: url.Values{}, basicID: id, basicPass: secret, wantStatus: 400,
			wantBody: map[string]string{"error": "invalid_request", "error_description": "Missing grant type"},
		},
		{
			name: "password grant", form: url.Values{"grant_type": {"password"}}, basicID: id, basicPass: secret, wantStatus: 400,
			wantBody: map[string]string{"error": "unsupported_grant_type", "error_description": "Unsupported grant type: password"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := post(tc.form, tc.basicID, tc.basicPass)
			if r.status != tc.wantStatus {
				t.Fatalf("status = %d, want %d: %s", r.status, tc.wantStatus, r.body)
			}
			if tc.wantStatus == 200 {
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
			if got := r.header.Get("WWW-Authenticate"); got != tc.wantAuthenticate && tc.wantAuthenticate != "" {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tc.wantAuthenticate)
			}
		})
	}
	if got := tt.stats().TokensIssued; got != 3 {
		t.Errorf("tokensIssued = %d, want 3", got)
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
