package emulator

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// tokenLifetime is UAA's default access token validity: 12 hours, reported as 43199 s.
const tokenLifetime = 43200 * time.Second

// tokenClaims are the claims of the emulator's access tokens: the ones XSUAA puts in a
// client-credentials token that clients might read.
type tokenClaims struct {
	JTI       string   `json:"jti"`
	Subject   string   `json:"sub"`
	ClientID  string   `json:"client_id"`
	CID       string   `json:"cid"`
	AZP       string   `json:"azp"`
	GrantType string   `json:"grant_type"`
	Scope     []string `json:"scope"`
	Audience  []string `json:"aud"`
	ZoneID    string   `json:"zid"`
	Issuer    string   `json:"iss"`
	IssuedAt  int64    `json:"iat"`
	Expiry    int64    `json:"exp"`
}

// oauthClient is a client the token endpoint knows.
type oauthClient struct {
	id, secret, xsappname string
	scopes                []string
}

// clients returns the two OAuth clients: CIS (the service key) and KEB (broker.json).
func (s *server) clients() []oauthClient {
	return []oauthClient{
		{
			id: s.secrets.CISClientID, secret: s.secrets.CISClientSecret, xsappname: cisXSAppName,
			scopes: []string{cisXSAppName + ".environment.read", cisXSAppName + ".environment.write", "uaa.resource"},
		},
		{
			id: s.secrets.BrokerClientID, secret: s.secrets.BrokerClientSecret, xsappname: brokerXSAppName,
			scopes: []string{brokerXSAppName + ".broker", "uaa.resource"},
		},
	}
}

// handleToken serves POST /oauth/token, the client-credentials grant, as XSUAA answers
// it: the client is authenticated first (401), then the grant type is checked (400).
func (s *server) handleToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "cannot read the form: " + err.Error()})
		return
	}
	id, secret, refusal := clientCredentials(r)
	if refusal != "" {
		s.log.Info("token request refused: " + refusal)
		uaaBadCredentials(w, refusal)
		return
	}
	if id == "" {
		uaaUnauthorized(w, "Full authentication is required to access this resource")
		return
	}
	client := s.authenticateClient(id, secret)
	if client == nil {
		s.log.Info("token request refused: bad client credentials")
		uaaBadCredentials(w, "Bad credentials")
		return
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "client_credentials":
	case "":
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "Missing grant type"})
		return
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type", "error_description": "Unsupported grant type: " + gt})
		return
	}
	now := s.opts.now()
	claims := tokenClaims{
		JTI: randomHex(16), Subject: client.id, ClientID: client.id, CID: client.id, AZP: client.id,
		GrantType: "client_credentials", Scope: client.scopes, Audience: []string{client.xsappname, "uaa"},
		ZoneID: s.subaccountID, Issuer: s.baseURL + "/oauth/token",
		IssuedAt: now.Unix(), Expiry: now.Add(tokenLifetime).Unix(),
	}
	token, err := s.signToken(claims)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error", "error_description": err.Error()})
		return
	}
	s.stats.tokensIssued.Add(1)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": token,
		"token_type":   "bearer",
		"expires_in":   int(tokenLifetime.Seconds()) - 1,
		"scope":        strings.Join(client.scopes, " "),
		"jti":          claims.JTI,
	})
}

// clientCredentials reads the client of a token request as XSUAA does: UAA's
// ClientBasicAuthenticationFilter with authentication.enableUriEncodingCompatibilityMode
// on, and its ClientParametersAuthenticationFilter (cloudfoundry/uaa, see docs/wire.md).
//
//   - An Authorization header starting "Basic " (any case): the base64 text is split at
//     the first ":"; the id and secret are compared as sent, and URL-decoded (like
//     Java's URLDecoder, "+" is a space) only when X-CF-ENCODED-CREDENTIALS is "true"
//     (any case). So a client that URL-encodes "sb-x!b1|cis-local!b4" without that
//     header sends the id "sb-x%21b1%7Ccis-local%21b4", which no client has: 401.
//   - No Authorization header and a form body: client_id and client_secret, which the
//     form encoding already carried safely.
//
// refusal is the reason for a malformed Basic header (401 invalid_client).
func clientCredentials(r *http.Request) (id, secret, refusal string) {
	authz := r.Header.Get("Authorization")
	if len(authz) >= 6 && strings.EqualFold(authz[:6], "basic ") {
		raw, err := base64.StdEncoding.DecodeString(authz[6:])
		if err != nil {
			return "", "", "Failed to decode basic authentication token"
		}
		id, secret, ok := strings.Cut(string(raw), ":")
		if !ok {
			return "", "", "Invalid basic authentication token"
		}
		if id == "" {
			return "", "", "Bad credentials"
		}
		if strings.EqualFold(r.Header.Get("X-CF-ENCODED-CREDENTIALS"), "true") {
			uid, err1 := url.QueryUnescape(id)
			usecret, err2 := url.QueryUnescape(secret)
			if err1 != nil || err2 != nil {
				return "", "", "Failed to URL Decode credentials"
			}
			id, secret = uid, usecret
		}
		return id, secret, ""
	}
	if authz == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return r.PostForm.Get("client_id"), r.PostForm.Get("client_secret"), ""
	}
	return "", "", ""
}

// authenticateClient returns the client the credentials name, or nil. They are
// compared exactly: decoding, when the request asked for it, was done by
// clientCredentials.
func (s *server) authenticateClient(id, secret string) *oauthClient {
	for _, c := range s.clients() {
		if equalSecret(id, c.id) && equalSecret(secret, c.secret) {
			return &c
		}
	}
	return nil
}

func equalSecret(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// uaaBadCredentials writes UAA's 401 for a client it does not accept: UaaExceptionTranslator
// turns the BadCredentialsException into invalid_client with the exception's message,
// and sets a fixed challenge, to which the entry point adds realm "UAA/client".
func uaaBadCredentials(w http.ResponseWriter, description string) {
	w.Header().Set("WWW-Authenticate", `Basic realm="UAA/client", error="unauthorized", error_description="Bad credentials"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": description})
}

// uaaUnauthorized writes UAA's 401 for a request that names no client.
func uaaUnauthorized(w http.ResponseWriter, description string) {
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Basic realm="UAA/client", error="unauthorized", error_description=%q`, description))
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized", "error_description": description})
}

// signToken makes a JWT (HS256) of the claims with the state folder's key.
func (s *server) signToken(c tokenClaims) (string, error) {
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT","kid":"kyma-emulator"}`))
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encode token claims: %w", err)
	}
	signed := header + "." + base64.RawURLEncoding.EncodeToString(payload)
	return signed + "." + base64.RawURLEncoding.EncodeToString(s.mac(signed)), nil
}

func (s *server) mac(signed string) []byte {
	m := hmac.New(sha256.New, s.secrets.TokenKey)
	m.Write([]byte(signed))
	return m.Sum(nil)
}

// verifyToken checks a token's signature, expiry and audience and returns its claims.
func (s *server) verifyToken(token, audience string) (*tokenClaims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("the access token is not a JWT")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, s.mac(parts[0]+"."+parts[1])) {
		return nil, errors.New("the access token's signature is invalid")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, errors.New("the access token's payload is not base64url")
	}
	var c tokenClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, errors.New("the access token's payload is not JSON")
	}
	if !s.opts.now().Before(time.Unix(c.Expiry, 0)) {
		return nil, errors.New("the access token expired")
	}
	for _, a := range c.Audience {
		if a == audience {
			return &c, nil
		}
	}
	return nil, fmt.Errorf("the access token was not issued for this API (audience %s)", audience)
}

type claimsKey struct{}

// requireToken wraps an API: a request without a valid bearer token for audience gets
// 401 with an empty body, the reason only in WWW-Authenticate, as the Provisioning Service
// answers.
func (s *server) requireToken(audience string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		var (
			claims *tokenClaims
			err    error
		)
		if !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(token) == "" {
			err = errors.New("no bearer token in the Authorization header")
		} else {
			claims, err = s.verifyToken(strings.TrimSpace(token), audience)
		}
		if err != nil {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="kyma-emulator", error="invalid_token", error_description=%q`, err.Error()))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, claims)))
	})
}

// clientIDFrom returns the OAuth client id of the request's token.
func clientIDFrom(ctx context.Context) string {
	if c, ok := ctx.Value(claimsKey{}).(*tokenClaims); ok {
		return c.ClientID
	}
	return ""
}
