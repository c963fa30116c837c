// Package apiclient is the HTTP core of the project's typed API clients: package
// provisioning (SAP's Provisioning Service) and package broker (the Kyma Environment
// Broker's Open Service Broker API). It sends one JSON request, reads the answer within
// a bound, and turns what went wrong into one sentence that names the service, never
// quoting a raw body. Each client keeps only its endpoints, its request and response
// types and its error type, which it hands the core in a Service.
//
// A Client follows no redirect (see package redirect): the *http.Client it is given
// adds the bearer token on every hop.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/auth"
	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/redirect"
	"github.com/kubectl-kyma/kubectl-kyma/internal/wwwauth"
)

// MaxBody bounds what is read of an answer: a kubeconfig is a few KiB, a list of
// environments rarely more than a few hundred.
const MaxBody = 16 << 20

// Service is what an API client tells the core about the API it calls.
type Service struct {
	// Name names the service in sentences, e.g. "the Provisioning Service".
	Name string
	// URLName names the base URL in the sentence about one that is not valid, e.g.
	// "Provisioning Service URL".
	URLName string
	// Header is sent with every request, besides Accept, Content-Type and User-Agent.
	Header http.Header
	// Error makes the client's own error of an answer whose status was not expected;
	// body is what was read of it (at most MaxBody).
	Error func(resp *http.Response, body []byte) error
}

// Client sends the requests of one API client to one service. Its methods are safe
// for concurrent use; set its fields before the first call.
type Client struct {
	// UserAgent, when set, is sent as User-Agent.
	UserAgent string
	// Clock tells the time, and waits where a client polls; nil means the system
	// clock.
	Clock clock.Clock

	svc     Service
	baseURL string
	hc      *http.Client
}

// New returns a client of the service at baseURL. httpClient must add the bearer
// token; nil means http.DefaultClient (for tests).
func New(baseURL string, httpClient *http.Client, svc Service) *Client {
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	return &Client{
		svc:     svc,
		baseURL: strings.TrimRight(strings.TrimSpace(baseURL), "/"),
		hc:      redirect.Client(httpClient),
	}
}

// BaseURL is the service's base URL, without a trailing slash.
func (c *Client) BaseURL() string { return c.baseURL }

// Now is the Clock's time.
func (c *Client) Now() time.Time { return clock.Or(c.Clock).Now() }

// Wait pauses for d on the Clock, or until ctx ends (its error is returned then).
func (c *Client) Wait(ctx context.Context, d time.Duration) error {
	select {
	case <-clock.Or(c.Clock).After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Response is an answer whose status was one the caller expected.
type Response struct {
	// Status is the HTTP status.
	Status int
	// Header is the answer's header.
	Header http.Header
	// Body is the answer's body, at most MaxBody of it.
	Body []byte

	service string
}

// Empty reports whether the body is empty or white space only.
func (r *Response) Empty() bool { return len(bytes.TrimSpace(r.Body)) == 0 }

// Decode unmarshals the body into v, in a sentence that does not quote the body.
func (r *Response) Decode(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("%s answered %d with a body that is not the expected JSON: %v", r.service, r.Status, err)
	}
	return nil
}

// Do sends method to the base URL plus path (a path that may carry a query) with
// body, JSON-encoded unless nil, and returns the answer when its status is one of ok.
// Any other status is the Service's Error; a redirect is a *redirect.Error.
func (c *Client) Do(ctx context.Context, method, path string, body any, ok ...int) (*Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		// A bytes.Reader gives the request a GetBody, so auth.Transport can resend
		// it after a 401.
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, rd)
	if err != nil {
		return nil, fmt.Errorf("the %s %q is not valid: %w", c.svc.URLName, c.baseURL, err)
	}
	for k, vs := range c.svc.Header {
		req.Header[k] = vs
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.transportError(err)
	}
	defer resp.Body.Close()
	if err := redirect.Check(resp); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s's answer: %w", c.svc.Name, err)
	}
	for _, s := range ok {
		if resp.StatusCode == s {
			return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b, service: c.svc.Name}, nil
		}
	}
	return nil, c.svc.Error(resp, b)
}

// Get sends a GET of path and decodes its 200 answer into a new T.
func Get[T any](ctx context.Context, c *Client, path string) (*T, error) {
	r, err := c.Do(ctx, http.MethodGet, path, nil, http.StatusOK)
	if err != nil {
		return nil, err
	}
	v := new(T)
	if err := r.Decode(v); err != nil {
		return nil, err
	}
	return v, nil
}

// transportError explains a request that got no answer. A token error from
// auth.Transport already is one sentence about the UAA, so it is returned as is.
func (c *Client) transportError(err error) error {
	var ae *auth.Error
	if errors.As(err, &ae) {
		return ae
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // drop Go's `Get "https://...":` prefix; the sentence names the service
	}
	return fmt.Errorf("cannot reach %s at %s: %w", c.svc.Name, c.baseURL, err)
}

// RequireID refuses an empty id of what ("environment", "binding", ...) before a
// request is made with it.
func RequireID(what, id string) error {
	if strings.TrimSpace(id) == "" {
		return fmt.Errorf("no %s id given", what)
	}
	return nil
}

// FirstNonEmpty returns the first of ss that is not blank, trimmed; "" when none is.
func FirstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

// ErrorBody is an error answer's JSON in the shapes both APIs use: CIS's
// {"error":{"code","message",...}}, OSB's {"error":"...","description":"..."} and a
// bare {"message":"..."}. Error stays raw, since its shape tells the two apart.
// encoding/json matches field names case-insensitively, which takes KEB's 412
// {"Description":"..."} too.
type ErrorBody struct {
	Error       json.RawMessage `json:"error"`
	Description string          `json:"description"`
	Message     string          `json:"message"`
}

// ParseErrorBody reads an error answer's body. notJSON is set when the body is there
// but is not JSON: an HTML page of a proxy, or a router's plain-text 404.
func ParseErrorBody(body []byte) (b ErrorBody, notJSON bool) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return b, false
	}
	if json.Unmarshal(body, &b) != nil {
		return ErrorBody{}, true
	}
	return b, false
}

// Text is the body's description, else its message.
func (b ErrorBody) Text() string { return FirstNonEmpty(b.Description, b.Message) }

// StatusLine is a status as "404 Not Found".
func StatusLine(code int) string { return fmt.Sprintf("%d %s", code, http.StatusText(code)) }

// Refused is the sentence of a 401: service refused the access token, and why, from
// the WWW-Authenticate header (the only place the service says it) or else from its
// message.
func Refused(service string, code int, wwwAuthenticate, message string) string {
	s := fmt.Sprintf("%s refused the access token (%s)", service, StatusLine(code))
	if why := wwwauth.Reason(wwwAuthenticate); why != "" {
		s += ": " + why
	} else if message != "" {
		s += ": " + message
	}
	return s
}
