// Package provisioning is a typed client of the SAP Cloud Management service's
// Provisioning Service API (CIS, "Provisioning Service" in SAP's API Business Hub;
// the base URL is a service key's credentials.endpoints.provisioning_service_url):
// the Kyma environments of a subaccount and their bindings, which are kubeconfigs
// holding a short-lived service-account token.
//
// The client takes an *http.Client that already adds the bearer token (see
// auth.NewHTTPClient), so tests point it at an httptest server.
//
// Wire format, as the live service answers (see DESIGN.md for the sources):
//
//	POST /provisioning/v1/environments
//	{"environmentType":"kyma","serviceName":"kymaruntime","planName":"aws","user":"me@example.com",
//	 "parameters":{"name":"my-kyma","region":"eu-central-1"}}
//	-> 202 {"id":"A1B2C3D4-..."}
//
//	GET /provisioning/v1/environments/{id}
//	-> 200 {"id":"A1B2...","name":"my-kyma","environmentType":"kyma","planName":"aws",
//	        "state":"OK","stateMessage":"Environment was created successfully",
//	        "parameters":"{\"name\":\"my-kyma\",\"region\":\"eu-central-1\"}",
//	        "labels":"{\"Name\":\"my-kyma\",\"APIServerURL\":\"https://api.c-1.kyma.ondemand.com\"}",
//	        "createdDate":1763888437000,"modifiedDate":1763889037000, ...}
//
//	PUT /provisioning/v1/environments/{id}/bindings  {"parameters":{"expiration_seconds":3600}}
//	-> 202  Location: 9f1c...   {"credentials":{"kubeconfig":"\n---\napiVersion: v1\n..."}}
//
//	GET /provisioning/v1/environments/{id}/bindings
//	-> 200 {"bindings":[{"bindingId":"9f1c...","instanceId":"A1B2...","createdBy":"sb-...",
//	                     "createdDate":1763888437000,"expiresAt":1763892037000}]}
//
//	any error -> {"error":{"code":41000,"message":"Environment instance not found",
//	                       "target":"/provisioning/v1/environments/A1B2...","correlationID":"..."}}
//
// Where the sources disagree or are silent the client accepts every form seen:
// dates as epoch milliseconds or RFC 3339 text, parameters and labels as objects or
// as strings holding JSON, the new binding's id in Location (a bare id, or a URL
// whose last segment is the id) or in the body, and its expiry in
// metadata.expires_at, expiresAt or, failing both, the token's own exp claim.
// Every environment keeps the service's JSON in Raw, unknown fields included.
package provisioning

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
	"github.com/kubectl-kyma/kubectl-kyma/internal/redirect"
)

// Clock tells the time; tests pass a fake.
type Clock interface {
	Now() time.Time
}

// Client calls one Provisioning Service. Its methods are safe for concurrent use.
type Client struct {
	baseURL string
	hc      *http.Client

	// UserAgent, when set, is sent as User-Agent.
	UserAgent string
	// Clock tells the time for the expiry estimate of a new binding whose response
	// says nothing about expiry (see CreateBinding); nil means the system clock. When
	// it has an After method too, the bind's wait for a kubeconfig waits on it.
	Clock Clock
}

// New returns a client of the Provisioning Service at baseURL (the service key's
// provisioning_service_url, e.g. https://provisioning-service.cfapps.eu10.hana.ondemand.com).
// httpClient must add the bearer token; nil means http.DefaultClient (for tests).
func New(baseURL string, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	// It follows no redirect: httpClient adds the bearer token on every hop.
	return &Client{baseURL: strings.TrimRight(strings.TrimSpace(baseURL), "/"), hc: redirect.Client(httpClient)}
}

// BaseURL is the service's base URL, without a trailing slash.
func (c *Client) BaseURL() string { return c.baseURL }

func (c *Client) now() time.Time {
	if c.Clock == nil {
		return time.Now()
	}
	return c.Clock.Now()
}

// waiter is a Clock that can also wait, as the tests' fake clocks do: they answer at
// once and move their time on, so no test sleeps.
type waiter interface {
	After(d time.Duration) <-chan time.Time
}

// wait pauses for d, or until ctx ends (its error is returned then). A Clock that
// has an After method does the waiting.
func (c *Client) wait(ctx context.Context, d time.Duration) error {
	var fired <-chan time.Time
	if w, ok := c.Clock.(waiter); ok {
		fired = w.After(d)
	} else {
		t := time.NewTimer(d)
		defer t.Stop()
		fired = t.C
	}
	select {
	case <-fired:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// maxBody bounds what is read of a response: a kubeconfig is a few KiB, a list of
// environments rarely more than a few hundred.
const maxBody = 16 << 20

// response is what do read of a successful answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends method path with body (JSON-encoded unless nil) and returns the answer
// when its status is one of ok, and an *APIError otherwise.
func (c *Client) do(ctx context.Context, method, path string, body any, ok ...int) (*response, error) {
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
		return nil, fmt.Errorf("the Provisioning Service URL %q is not valid: %w", c.baseURL, err)
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
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("cannot read the Provisioning Service's answer: %w", err)
	}
	for _, s := range ok {
		if resp.StatusCode == s {
			return &response{status: resp.StatusCode, header: resp.Header, body: b}, nil
		}
	}
	return nil, newAPIError(resp, b)
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
	return fmt.Errorf("cannot reach the Provisioning Service at %s: %w", c.baseURL, err)
}

// decode unmarshals a successful answer into v, in a sentence that does not quote
// the body.
func decode(r *response, v any) error {
	if err := json.Unmarshal(r.body, v); err != nil {
		return fmt.Errorf("the Provisioning Service answered %d with a body that is not the expected JSON: %v", r.status, err)
	}
	return nil
}

func environmentPath(id string) string {
	return "/provisioning/v1/environments/" + url.PathEscape(id)
}

func requireID(what, id string) error {
	if strings.TrimSpace(id) == "" {
		return fmt.Errorf("no %s id given", what)
	}
	return nil
}

// AvailableEnvironments lists what the subaccount is entitled to create
// (GET /provisioning/v1/availableEnvironments).
func (c *Client) AvailableEnvironments(ctx context.Context) ([]AvailableEnvironment, error) {
	r, err := c.do(ctx, http.MethodGet, "/provisioning/v1/availableEnvironments", nil, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var out struct {
		AvailableEnvironments []AvailableEnvironment `json:"availableEnvironments"`
	}
	if err := decode(r, &out); err != nil {
		return nil, err
	}
	return out.AvailableEnvironments, nil
}

// ListEnvironments lists the environment instances of the token's subaccount, of
// every type (GET /provisioning/v1/environments; the service does not page).
func (c *Client) ListEnvironments(ctx context.Context) ([]Environment, error) {
	r, err := c.do(ctx, http.MethodGet, "/provisioning/v1/environments", nil, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var out struct {
		EnvironmentInstances []Environment `json:"environmentInstances"`
	}
	if err := decode(r, &out); err != nil {
		return nil, err
	}
	return out.EnvironmentInstances, nil
}

// GetEnvironment returns one environment instance. A deleted one is an *APIError
// wrapping binding.ErrNotFound ("Environment instance not found").
func (c *Client) GetEnvironment(ctx context.Context, id string) (*Environment, error) {
	if err := requireID("environment", id); err != nil {
		return nil, err
	}
	r, err := c.do(ctx, http.MethodGet, environmentPath(id), nil, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var env Environment
	if err := decode(r, &env); err != nil {
		return nil, err
	}
	return &env, nil
}

// CreateEnvironment asks for a new environment; the service answers 202 at once and
// creates it in the background (poll GetEnvironment until State is StateOK). The
// returned Environment holds the id and whatever else the answer had.
// EnvironmentType and ServiceName default to "kyma" and "kymaruntime".
func (c *Client) CreateEnvironment(ctx context.Context, req CreateEnvironmentRequest) (*Environment, error) {
	if req.EnvironmentType == "" {
		req.EnvironmentType = EnvironmentTypeKyma
	}
	if req.ServiceName == "" {
		req.ServiceName = ServiceNameKyma
	}
	r, err := c.do(ctx, http.MethodPost, "/provisioning/v1/environments", req,
		http.StatusAccepted, http.StatusOK, http.StatusCreated)
	if err != nil {
		return nil, err
	}
	var env Environment
	if len(bytes.TrimSpace(r.body)) > 0 {
		if err := decode(r, &env); err != nil {
			return nil, err
		}
	}
	if env.ID == "" {
		env.ID = idFromLocation(r.header.Get("Location"))
	}
	if env.ID == "" {
		return nil, errors.New("the Provisioning Service accepted the environment but did not return its id")
	}
	return &env, nil
}

// DeleteEnvironment asks for an environment's deletion (202; bindings do not block
// it). The service then reports State DELETING, then 404. The returned Environment
// is the instance as the answer showed it, or just the id when the body was empty.
func (c *Client) DeleteEnvironment(ctx context.Context, id string) (*Environment, error) {
	if err := requireID("environment", id); err != nil {
		return nil, err
	}
	r, err := c.do(ctx, http.MethodDelete, environmentPath(id), nil,
		http.StatusAccepted, http.StatusOK, http.StatusNoContent)
	if err != nil {
		return nil, err
	}
	env := Environment{}
	if len(bytes.TrimSpace(r.body)) > 0 {
		if err := decode(r, &env); err != nil {
			return nil, err
		}
	}
	if env.ID == "" {
		env.ID = id
	}
	return &env, nil
}

// UpdateEnvironment asks for a change of an environment's plan or parameters (PATCH
// /provisioning/v1/environments/{id}, SAP's OpenAPI spec of the service: planName is
// required, parameters an object; the answer is 202 with an object the spec leaves
// open, which is ignored). The service then reports State UPDATING, then OK or
// UPDATE_FAILED. KEB merges the parameters into those the environment has.
func (c *Client) UpdateEnvironment(ctx context.Context, id string, req UpdateEnvironmentRequest) error {
	if err := requireID("environment", id); err != nil {
		return err
	}
	if req.PlanName == "" {
		return errors.New("an update names the plan, even when it stays the same")
	}
	_, err := c.do(ctx, http.MethodPatch, environmentPath(id), req,
		http.StatusAccepted, http.StatusOK, http.StatusNoContent)
	return err
}
