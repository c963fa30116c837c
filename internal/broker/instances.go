package broker

import (
	"bytes"
	"context"
	"net/http"
	"net/url"

	"github.com/kubectl-kyma/kubectl-kyma/internal/apiclient"
)

// ProvisionRequest is the body of an OSB provision. KEB reads the subaccount, global
// account and user from Context and the cluster's settings from Parameters:
//
//	{"service_id":"47c9dcbf-...","plan_id":"361c511f-...",
//	 "context":{"globalaccount_id":"...","subaccount_id":"...","user_id":"me@example.com"},
//	 "parameters":{"name":"my-kyma","region":"eu-central-1"}}
type ProvisionRequest struct {
	ServiceID  string         `json:"service_id"`
	PlanID     string         `json:"plan_id"`
	Context    map[string]any `json:"context,omitempty"`
	Parameters map[string]any `json:"parameters,omitempty"`
	// OrganizationGUID and SpaceGUID are OSB 2.14's Cloud Foundry fields, which KEB
	// does not read; send them only for a broker that wants them.
	OrganizationGUID string `json:"organization_guid,omitempty"`
	SpaceGUID        string `json:"space_guid,omitempty"`
}

// Operation is KEB's answer to a provision or deprovision.
type Operation struct {
	// Operation identifies the operation for LastOperation.
	Operation string `json:"operation,omitempty"`
	// DashboardURL is the instance's dashboard (provision only).
	DashboardURL string `json:"dashboard_url,omitempty"`
	// Async is true for 202: poll LastOperation until it is no longer in progress.
	// false means the request was already done (200, 201).
	Async bool `json:"-"`
}

// LastOperation states (OSB).
const (
	StateInProgress = "in progress"
	StateSucceeded  = "succeeded"
	StateFailed     = "failed"
)

// LastOperation is the state of an instance's last operation.
type LastOperation struct {
	// State is StateInProgress, StateSucceeded or StateFailed.
	State       string `json:"state"`
	Description string `json:"description,omitempty"`
}

func instancePath(instanceID string) string {
	return "/v2/service_instances/" + url.PathEscape(instanceID)
}

// Provision asks KEB for a new instance (PUT ?accepts_incomplete=true; KEB
// provisions asynchronously: 202 and an operation to poll). The instance id is the
// caller's choice, like a binding id.
func (c *Client) Provision(ctx context.Context, instanceID string, req ProvisionRequest) (*Operation, error) {
	if err := apiclient.RequireID("instance", instanceID); err != nil {
		return nil, err
	}
	r, err := c.Do(ctx, http.MethodPut, instancePath(instanceID)+"?accepts_incomplete=true", req,
		http.StatusAccepted, http.StatusCreated, http.StatusOK)
	if err != nil {
		return nil, err
	}
	return operation(r)
}

// Deprovision asks KEB to delete an instance (DELETE ?accepts_incomplete=true with
// service_id and plan_id): 202 with the operation to poll. An instance KEB does not
// have (never made, or already deleted) is not an error: KEB answers 200 {}
// (internal/broker/instance_deprovision.go returns IsAsync false, which brokerapi
// writes as 200 with an empty object), and the Operation's Async is false.
func (c *Client) Deprovision(ctx context.Context, instanceID, serviceID, planID string) (*Operation, error) {
	if err := apiclient.RequireID("instance", instanceID); err != nil {
		return nil, err
	}
	q := url.Values{"accepts_incomplete": {"true"}, "service_id": {serviceID}, "plan_id": {planID}}
	r, err := c.Do(ctx, http.MethodDelete, instancePath(instanceID)+"?"+q.Encode(), nil,
		http.StatusAccepted, http.StatusOK)
	if err != nil {
		return nil, err
	}
	return operation(r)
}

// Instance is what KEB says of an instance (GET /v2/service_instances/{id}).
type Instance struct {
	// ServiceID and PlanID are the instance's service and current plan.
	ServiceID string `json:"service_id"`
	PlanID    string `json:"plan_id"`
	// DashboardURL is the instance's dashboard.
	DashboardURL string `json:"dashboard_url"`
}

// GetInstance reads an instance (GET .../service_instances/{id}; brokerapi needs OSB
// 2.14, which the client sends). KEB answers 404 while the instance is being
// provisioned, after its provisioning failed and once deprovisioning began
// (internal/broker/instance_get.go); an unknown instance is an *APIError wrapping
// binding.ErrNotFound too.
func (c *Client) GetInstance(ctx context.Context, instanceID string) (*Instance, error) {
	if err := apiclient.RequireID("instance", instanceID); err != nil {
		return nil, err
	}
	return apiclient.Get[Instance](ctx, c.Client, instancePath(instanceID))
}

// UpdateRequest is the body of an OSB update (PATCH). KEB reads ServiceID (brokerapi
// refuses a body without it), PlanID, Context (KEB fails without one: send {} at
// least) and Parameters, which it merges into the instance's:
//
//	{"service_id":"47c9dcbf-...","plan_id":"361c511f-...","context":{},"parameters":{"autoScalerMax":7}}
//
// Send the instance's current plan_id to keep its plan: KEB takes any other plan_id,
// an absent one included, as a plan change (shouldUpdate in
// internal/broker/instance_update.go), and reads it in its plan checks.
type UpdateRequest struct {
	ServiceID  string         `json:"service_id"`
	PlanID     string         `json:"plan_id,omitempty"`
	Context    map[string]any `json:"context"`
	Parameters map[string]any `json:"parameters,omitempty"`
}

// Update asks KEB to change an instance (PATCH ?accepts_incomplete=true). KEB answers
// 202 and an operation to poll with LastOperation (possibly a running update's, when
// this one changes nothing more), or 200 when there is nothing to change (Async false;
// the body is {} or the dashboard URL and labels). An unknown instance is an *APIError wrapping
// binding.ErrNotFound (404).
func (c *Client) Update(ctx context.Context, instanceID string, req UpdateRequest) (*Operation, error) {
	if err := apiclient.RequireID("instance", instanceID); err != nil {
		return nil, err
	}
	if req.Context == nil {
		req.Context = map[string]any{}
	}
	r, err := c.Do(ctx, http.MethodPatch, instancePath(instanceID)+"?accepts_incomplete=true", req,
		http.StatusAccepted, http.StatusOK)
	if err != nil {
		return nil, err
	}
	return operation(r)
}

// isEmptyJSON reports whether a body is empty or {} (KEB's 200 to a repeated
// deprovision).
func isEmptyJSON(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) == 0 || string(b) == "{}"
}

func operation(r *apiclient.Response) (*Operation, error) {
	op := &Operation{Async: r.Status == http.StatusAccepted}
	if !isEmptyJSON(r.Body) {
		if err := r.Decode(op); err != nil {
			return nil, err
		}
	}
	return op, nil
}

// LastOperation polls an instance's operation (GET .../last_operation). operation,
// serviceID and planID are optional and sent when not empty. After a finished
// deprovision KEB answers 200 "succeeded" ("Operation succeeded. The instance was
// deprovisioned.", from its archive); an instance it never had is a 404 "Operation
// not found", an *APIError wrapping binding.ErrNotFound
// (internal/broker/instance_last_operation.go).
func (c *Client) LastOperation(ctx context.Context, instanceID, operation, serviceID, planID string) (*LastOperation, error) {
	if err := apiclient.RequireID("instance", instanceID); err != nil {
		return nil, err
	}
	q := url.Values{}
	for k, v := range map[string]string{"operation": operation, "service_id": serviceID, "plan_id": planID} {
		if v != "" {
			q.Set(k, v)
		}
	}
	u := instancePath(instanceID) + "/last_operation"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return apiclient.Get[LastOperation](ctx, c.Client, u)
}
