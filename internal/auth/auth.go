// Package auth gets the OAuth2 access tokens that kubectl-kyma sends to the SAP Cloud
// Management Provisioning Service and to the Kyma Environment Broker: the
// client-credentials grant (RFC 6749 section 4.4) against an SAP BTP UAA, a token
// cache on disk so that each command does not fetch a new token, and an
// http.RoundTripper that adds the token and recovers once from a refused one.
//
// A CIS service key holds the client and the UAA (credentials.uaa.clientid,
// .clientsecret, .url). The token request carries the client in the form body:
//
//	POST {uaa}/oauth/token
//	Content-Type: application/x-www-form-urlencoded
//
//	grant_type=client_credentials&client_id=sb-abc%21b1%7Ccis-local%21b4&client_secret=...
//
// and the UAA answers
//
//	{"access_token":"eyJ...","token_type":"bearer","expires_in":43199,"scope":"...","jti":"..."}
//
// or, for a wrong client, 401 {"error":"invalid_client","error_description":"Bad credentials"}
// (older UAAs say "unauthorized").
//
// The cache file (see Cache) is JSON, mode 0600, in a directory created 0700:
//
//	{"key":"https://x.authentication.eu10.hana.ondemand.com/oauth/token sb-abc!b1|cis-local!b4",
//	 "access_token":"eyJ...","token_type":"bearer","expiry":"2026-11-23T21:20:37Z"}
//
// Nothing in this package logs, and no error it returns holds a token or a client
// secret.
package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/redirect"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Config is the UAA part of a CIS service key.
type Config struct {
	// UAAURL is the UAA's base URL (credentials.uaa.url), without /oauth/token.
	UAAURL string
	// ClientID is credentials.uaa.clientid.
	ClientID string
	// ClientSecret is credentials.uaa.clientsecret. It is a secret: never log it.
	ClientSecret string
}

// Validate says which field of the service key is missing, naming the field and
// never its value.
func (c Config) Validate() error {
	switch {
	case strings.TrimSpace(c.UAAURL) == "":
		return errors.New("the service key has no UAA URL (credentials.uaa.url)")
	case c.ClientID == "":
		return errors.New("the service key has no client id (credentials.uaa.clientid)")
	case c.ClientSecret == "":
		return errors.New("the service key has no client secret (credentials.uaa.clientsecret)")
	}
	u, err := url.Parse(strings.TrimSpace(c.UAAURL))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("the UAA URL %q is not an http(s) URL", c.UAAURL)
	}
	return nil
}

// TokenURL is the UAA's token endpoint: uaaURL + "/oauth/token". A trailing slash
// on uaaURL, or a uaaURL that already ends in /oauth/token, is tolerated because
// people paste both.
func TokenURL(uaaURL string) string {
	u := strings.TrimRight(strings.TrimSpace(uaaURL), "/")
	if strings.HasSuffix(u, "/oauth/token") {
		return u
	}
	return u + "/oauth/token"
}

// ErrInvalidClient is wrapped by the error returned when the UAA refuses the
// client id or secret, so callers can tell a wrong service key from a network
// problem with errors.Is. That error also wraps binding.ErrUnauthorized.
var ErrInvalidClient = errors.New("the UAA refused the client credentials")

// Error is a failed token request, in one sentence that names the UAA and, for a
// refusal, the UAA's own reason. It never holds the client secret or a token.
type Error struct {
	// UAAURL is the UAA the request went to.
	UAAURL string
	// StatusCode is the UAA's HTTP status; 0 when the UAA was not reached.
	StatusCode int
	// Code and Description are the OAuth2 error and error_description, when given.
	Code, Description string

	msg  string
	errs []error
}

// Error returns the sentence.
func (e *Error) Error() string { return e.msg }

// Unwrap returns the causes: ErrInvalidClient and binding.ErrUnauthorized for a
// refused client, the transport error (context.Canceled, a *net.OpError, ...) for
// an unreachable UAA.
func (e *Error) Unwrap() []error { return e.errs }

// ContextTokenSource is a token source whose fetch can be bounded by a context;
// Transport uses it so that cancelling a request also cancels its token fetch.
type ContextTokenSource interface {
	oauth2.TokenSource
	TokenContext(ctx context.Context) (*oauth2.Token, error)
}

// Invalidator is a token source that can forget the token it handed out, so that
// the next call fetches a new one (Transport calls it after a 401).
type Invalidator interface {
	Invalidate() error
}

// ClientCredentials fetches tokens from a UAA with the client-credentials grant.
// Each call fetches: wrap it in a Cache to reuse tokens.
type ClientCredentials struct {
	cfg  Config
	conf clientcredentials.Config
	hc   *http.Client
}

// NewClientCredentials returns a token source for cfg's client. httpClient carries
// the TLS set-up and timeouts for the UAA; nil means http.DefaultClient.
//
// The client id and secret go in the form body (client_id, client_secret), never in
// a Basic header. x/oauth2's AuthStyleInHeader URL-encodes both inside the header
// (RFC 6749 section 2.3.1), and XSUAA runs UAA with
// authentication.enableUriEncodingCompatibilityMode: it URL-decodes Basic
// credentials only when the request carries X-CF-ENCODED-CREDENTIALS: true and
// otherwise compares them as sent (UAA's ClientBasicAuthenticationFilter). Every
// XSUAA client id holds "!" and "|", so "sb-x%21b1%7Ccis-local%21b4" would be
// refused with 401. The form body is decoded by every UAA, whatever the mode
// (ClientParametersAuthenticationFilter), and SAP's troubleshooting page for a 401
// on token retrieval names it as the safe way. See docs/wire.md.
func NewClientCredentials(cfg Config, httpClient *http.Client) *ClientCredentials {
	return &ClientCredentials{
		cfg: cfg,
		// The token request carries the client secret: it follows no redirect.
		conf: clientcredentials.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			TokenURL:     TokenURL(cfg.UAAURL),
			AuthStyle:    oauth2.AuthStyleInParams,
		},
		hc: redirect.Client(httpClient),
	}
}

// CacheKey identifies the client whose tokens a cache entry holds: the token URL and
// the client id (not the secret). A Cache with this key ignores an entry written for
// another client, so a profile whose service key changed does not reuse the old
// subaccount's token.
func (c *ClientCredentials) CacheKey() string {
	return c.conf.TokenURL + " " + c.cfg.ClientID
}

// Token fetches a new token; it cannot be cancelled (use TokenContext).
func (c *ClientCredentials) Token() (*oauth2.Token, error) {
	return c.TokenContext(context.Background())
}

// TokenContext fetches a new token; ctx bounds the request.
func (c *ClientCredentials) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	if err := c.cfg.Validate(); err != nil {
		return nil, err
	}
	if c.hc != nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, c.hc)
	}
	tok, err := c.conf.Token(ctx)
	if err != nil {
		return nil, c.translate(err)
	}
	return tok, nil
}

// translate turns x/oauth2's errors, which can quote the whole response body, into
// one sentence.
func (c *ClientCredentials) translate(err error) error {
	uaa := strings.TrimRight(strings.TrimSpace(c.cfg.UAAURL), "/")
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.Response != nil && re.Response.Request != nil {
			if rerr := redirect.Check(re.Response); rerr != nil {
				return &Error{UAAURL: uaa, StatusCode: re.Response.StatusCode, msg: rerr.Error(), errs: []error{rerr}}
			}
		}
		e := &Error{UAAURL: uaa, Code: re.ErrorCode, Description: re.ErrorDescription}
		status := ""
		if re.Response != nil {
			e.StatusCode = re.Response.StatusCode
			status = re.Response.Status
		}
		reason := re.ErrorCode
		if re.ErrorDescription != "" {
			if reason != "" {
				reason += ": "
			}
			reason += re.ErrorDescription
		}
		switch {
		case e.StatusCode == http.StatusUnauthorized || re.ErrorCode == "invalid_client" ||
			re.ErrorCode == "unauthorized" || re.ErrorCode == "unauthorized_client":
			if reason == "" {
				reason = status
			}
			e.msg = fmt.Sprintf("%s (%s); check the service key", ErrInvalidClient.Error(), reason)
			e.errs = []error{ErrInvalidClient, binding.ErrUnauthorized}
		case reason != "":
			e.msg = fmt.Sprintf("the UAA at %s refused the token request (%s)", uaa, reason)
		default:
			// No OAuth2 error fields: an HTML error page or a proxy. Do not quote it.
			e.msg = fmt.Sprintf("the UAA at %s answered %s to the token request", uaa, status)
		}
		return e
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		// url.Error repeats the method and URL; the sentence names the UAA instead.
		return &Error{UAAURL: uaa, msg: fmt.Sprintf("cannot reach the UAA at %s: %v", uaa, ue.Err), errs: []error{ue.Err}}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{UAAURL: uaa, msg: fmt.Sprintf("cannot reach the UAA at %s: %v", uaa, err), errs: []error{err}}
	}
	// A 200 whose body is not a token ("server response missing access_token",
	// unparsable JSON). x/oauth2 does not quote the body in these.
	return &Error{UAAURL: uaa, msg: fmt.Sprintf("the UAA at %s gave no usable token: %v", uaa, err), errs: []error{err}}
}
