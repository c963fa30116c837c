package auth

import (
	"errors"
	"io"
	"net/http"

	"golang.org/x/oauth2"

	"github.com/kubectl-kyma/kubectl-kyma/internal/redirect"
)

// Transport is an http.RoundTripper that sends Source's token as
// "Authorization: Bearer ..." and, when the service answers 401 although the token
// had not expired (revoked, rotated client, clock skew), drops the token (when
// Source is an Invalidator), fetches a new one and sends the request once more.
//
// The retry happens only when the new token differs from the refused one and the
// request body can be replayed (no body, or http.NewRequest's GetBody): a second 401
// is the service's final answer and is returned as is. Token errors are returned as
// *Error, wrapped by http.Client in a *url.Error.
type Transport struct {
	// Source gives the token, usually a *Cache.
	Source oauth2.TokenSource
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	closeBody := func() {
		if req.Body != nil {
			req.Body.Close()
		}
	}
	if t.Source == nil {
		closeBody()
		return nil, errors.New("auth: Transport has no Source")
	}
	tok, err := t.token(req)
	if err != nil {
		closeBody()
		return nil, err
	}
	resp, err := t.send(req, tok, req.Body)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	inv, ok := t.Source.(Invalidator)
	if !ok || (req.Body != nil && req.Body != http.NoBody && req.GetBody == nil) {
		return resp, nil
	}
	if inv.Invalidate() != nil {
		return resp, nil
	}
	fresh, err := t.token(req)
	if err != nil || fresh.AccessToken == tok.AccessToken {
		return resp, nil
	}
	var body io.ReadCloser
	if req.Body != nil && req.Body != http.NoBody {
		if body, err = req.GetBody(); err != nil {
			return resp, nil
		}
	}
	// The first answer is dropped only now that a second attempt is certain.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return t.send(req, fresh, body)
}

func (t *Transport) token(req *http.Request) (*oauth2.Token, error) {
	if cs, ok := t.Source.(ContextTokenSource); ok {
		return cs.TokenContext(req.Context())
	}
	return t.Source.Token()
}

// send clones req (a RoundTripper must not change it) with tok and body.
func (t *Transport) send(req *http.Request, tok *oauth2.Token, body io.ReadCloser) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Body = body
	tok.SetAuthHeader(r)
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}

// NewHTTPClient returns a copy of base (nil: a zero http.Client) whose transport
// adds src's token through a Transport. It follows no redirect: the Transport would
// add the token to a request for any Location (see package redirect).
func NewHTTPClient(src oauth2.TokenSource, base *http.Client) *http.Client {
	c := redirect.Client(base)
	c.Transport = &Transport{Source: src, Base: c.Transport}
	return c
}
