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
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/kubectl-kyma/kubectl-kyma/internal/apiclient"
)

// Client calls one Provisioning Service. Its methods are safe for concurrent use.
//
// The embedded apiclient.Client holds the UserAgent and the Clock, which tells the
// time for the expiry estimate of a new binding whose response says nothing about
// expiry (see CreateBinding) and waits in the bind's wait for a kubeconfig.
type Client struct {
	*apiclient.Client
}

// service is what the HTTP core needs to know of the Provisioning Service.
var service = apiclient.Service{
	Name:    "the Provisioning Service",
	URLName: "Provisioning Service URL",
	Error:   func(resp *http.Response, body []byte) error { return newAPIError(resp, body) },
}

// New returns a client of the Provisioning Service at baseURL (the service key's
// provisioning_service_url, e.g. https://provisioning-service.cfapps.eu10.hana.ondemand.com).
// httpClient must add the bearer token; nil means http.DefaultClient (for tests).
func New(baseURL string, httpClient *http.Client) *Client {
	return &Client{apiclient.New(baseURL, httpClient, service)}
}

func environmentPath(id string) string {
	return "/provisioning/v1/environments/" + url.PathEscape(id)
}

// AvailableEnvironments lists what the subaccount is entitled to create
// (GET /provisioning/v1/availableEnvironments).
func (c *Client) AvailableEnvironments(ctx context.Context) ([]AvailableEnvironment, error) {
	out, err := apiclient.Get[struct {
		AvailableEnvironments []AvailableEnvironment `json:"availableEnvironments"`
	}](ctx, c.Client, "/provisioning/v1/availableEnvironments")
	if err != nil {
		return nil, err
	}
	return out.AvailableEnvironments, nil
}

// ListEnvironments lists the environment instances of the token's subaccount, of
// every type (GET /provisioning/v1/environments; the service does not page).
func (c *Client) ListEnvironments(ctx context.Context) ([]Environment, error) {
	out, err := apiclient.Get[struct {
		EnvironmentInstances []Environment `json:"environmentInstances"`
	}](ctx, c.Client, "/provisioning/v1/environments")
	if err != nil {
		return nil, err
	}
	return out.EnvironmentInstances, nil
}

// GetEnvironment returns one environment instance. A deleted one is an *APIError
// wrapping binding.ErrNotFound ("Environment instance not found").
func (c *Client) GetEnvironment(ctx context.Context, id string) (*Environment, error) {
	if err := apiclient.RequireID("environment", id); err != nil {
		return nil, err
	}
	return apiclient.Get[Environment](ctx, c.Client, environmentPath(id))
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
	r, err := c.Do(ctx, http.MethodPost, "/provisioning/v1/environments", req,
		http.StatusAccepted, http.StatusOK, http.StatusCreated)
	if err != nil {
		return nil, err
	}
	var env Environment
	if !r.Empty() {
		if err := r.Decode(&env); err != nil {
			return nil, err
		}
	}
	if env.ID == "" {
		env.ID = idFromLocation(r.Header.Get("Location"))
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
	if err := apiclient.RequireID("environment", id); err != nil {
		return nil, err
	}
	r, err := c.Do(ctx, http.MethodDelete, environmentPath(id), nil,
		http.StatusAccepted, http.StatusOK, http.StatusNoContent)
	if err != nil {
		return nil, err
	}
	env := Environment{}
	if !r.Empty() {
		if err := r.Decode(&env); err != nil {
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
	if err := apiclient.RequireID("environment", id); err != nil {
		return err
	}
	if req.PlanName == "" {
		return errors.New("an update names the plan, even when it stays the same")
	}
	_, err := c.Do(ctx, http.MethodPatch, environmentPath(id), req,
		http.StatusAccepted, http.StatusOK, http.StatusNoContent)
	return err
}
