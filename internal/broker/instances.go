package broker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
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

func instanceURL(base, instanceID string) string {
	return base + "/v2/service_instances/" + url.PathEscape(instanceID)
}

// Provision asks KEB for a new instance (PUT ?accepts_incomplete=true; KEB
// provisions asynchronously: 202 and an operation to poll). The instance id is the
// caller's choice, like a binding id.
func (c *Client) Provision(ctx context.Context, instanceID string, req ProvisionRequest) (*Operation, error) {
	if err := requireID("instance", instanceID); err != nil {
		return nil, err
	}
	r, err := c.do(ctx, http.MethodPut, instanceURL(c.baseURL, instanceID)+"?accepts_incomplete=true", req,
		http.StatusAccepted, http.StatusCreated, http.StatusOK)
	if err != nil {
		return nil, err
	}
	return operation(r)
}

// Deprovision asks KEB to delete an instance (DELETE ?accepts_incomplete=true with
// service_id and plan_id). An instance that is already gone is an *APIError
// wrapping binding.ErrNotFound (410).
func (c *Client) Deprovision(ctx context.Context, instanceID, serviceID, planID string) (*Operation, error) {
	if err := requireID("instance", instanceID); err != nil {
		return nil, err
	}
	q := url.Values{"accepts_incomplete": {"true"}, "service_id": {serviceID}, "plan_id": {planID}}
	r, err := c.do(ctx, http.MethodDelete, instanceURL(c.baseURL, instanceID)+"?"+q.Encode(), nil,
		http.StatusAccepted, http.StatusOK)
	if err != nil {
		return nil, err
	}
	return operation(r)
}

// UpdateRequest is the body of an OSB update (PATCH). KEB reads ServiceID (brokerapi
// refuses a body without it), PlanID only to change the plan (leave it empty to keep
// the instance's), Context (KEB fails without one: send {} at least) and Parameters,
// which it merges into the instance's:
//
//	{"service_id":"47c9dcbf-...","context":{},"parameters":{"autoScalerMax":7}}
type UpdateRequest struct {
	ServiceID  string         `json:"service_id"`
	PlanID     string         `json:"plan_id,omitempty"`
	Context    map[string]any `json:"context"`
	Parameters map[string]any `json:"parameters,omitempty"`
}

// Update asks KEB to change an instance (PATCH ?accepts_incomplete=true). KEB answers
// 202 and an operation to poll with LastOperation, or 200 when there is nothing to
// change (Async false). An unknown instance is an *APIError wrapping
// binding.ErrNotFound (404).
func (c *Client) Update(ctx context.Context, instanceID string, req UpdateRequest) (*Operation, error) {
	if err := requireID("instance", instanceID); err != nil {
		return nil, err
	}
	if req.Context == nil {
		req.Context = map[string]any{}
	}
	r, err := c.do(ctx, http.MethodPatch, instanceURL(c.baseURL, instanceID)+"?accepts_incomplete=true", req,
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

func operation(r *response) (*Operation, error) {
	op := &Operation{Async: r.status == http.StatusAccepted}
	if !isEmptyJSON(r.body) {
		if err := decode(r, op); err != nil {
			return nil, err
		}
	}
	return op, nil
}

// LastOperation polls an instance's operation (GET .../last_operation). operation,
// serviceID and planID are optional and sent when not empty. After a finished
// deprovision KEB answers 410: an *APIError wrapping binding.ErrNotFound.
func (c *Client) LastOperation(ctx context.Context, instanceID, operation, serviceID, planID string) (*LastOperation, error) {
	if err := requireID("instance", instanceID); err != nil {
		return nil, err
	}
	q := url.Values{}
	for k, v := range map[string]string{"operation": operation, "service_id": serviceID, "plan_id": planID} {
		if v != "" {
			q.Set(k, v)
		}
	}
	u := instanceURL(c.baseURL, instanceID) + "/last_operation"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	r, err := c.do(ctx, http.MethodGet, u, nil, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var lo LastOperation
	if err := decode(r, &lo); err != nil {
		return nil, err
	}
	return &lo, nil
}

// Runtime is one entry of KEB's GET /info/runtimes (the appinfo RuntimeDTO, JSON
// names as KEB writes them). Raw keeps KEB's JSON and MarshalJSON writes it back.
type Runtime struct {
	RuntimeID         string        `json:"runtimeId"`
	GlobalAccountID   string        `json:"globalAccountId"`
	SubaccountID      string        `json:"subaccountId"`
	SubaccountRegion  string        `json:"subaccountRegion"`
	ServiceInstanceID string        `json:"serviceInstanceId"`
	ServiceClassID    string        `json:"serviceClassId"`
	ServiceClassName  string        `json:"serviceClassName"`
	ServicePlanID     string        `json:"servicePlanId"`
	ServicePlanName   string        `json:"servicePlanName"`
	Status            RuntimeStatus `json:"status"`

	// Raw is KEB's JSON for this runtime.
	Raw json.RawMessage `json:"-"`
}

// RuntimeStatus is a runtime's dates and the state of its provisioning and
// deprovisioning operations.
type RuntimeStatus struct {
	CreatedAt      time.Time        `json:"createdAt,omitzero"`
	UpdatedAt      time.Time        `json:"updatedAt,omitzero"`
	DeletedAt      time.Time        `json:"deletedAt,omitzero"`
	Provisioning   *OperationStatus `json:"provisioning,omitempty"`
	Deprovisioning *OperationStatus `json:"deprovisioning,omitempty"`
}

// OperationStatus is the state of one operation ("succeeded", "failed", "in
// progress") and KEB's description of it.
type OperationStatus struct {
	State       string `json:"state"`
	Description string `json:"description"`
}

type runtimeFields Runtime

// UnmarshalJSON decodes the known fields and keeps the whole text in Raw.
func (r *Runtime) UnmarshalJSON(b []byte) error {
	var f runtimeFields
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*r = Runtime(f)
	r.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// MarshalJSON writes Raw when set, the known fields otherwise.
func (r Runtime) MarshalJSON() ([]byte, error) {
	if len(r.Raw) > 0 {
		return r.Raw, nil
	}
	return json.Marshal(runtimeFields(r))
}

// Runtimes lists every runtime KEB knows, succeeded and failed: GET /info/runtimes
// on RootURL (outside /oauth), with the same bearer token. KEB answers a bare JSON
// array; {"data":[...]}, the shape of KEB's admin /runtimes, is accepted too. KEB
// removed /info/runtimes in February 2026 (kyma-environment-broker#2797): a KEB
// without it answers 404, which is reported as such (not as binding.ErrNotFound).
func (c *Client) Runtimes(ctx context.Context) ([]Runtime, error) {
	r, err := c.do(ctx, http.MethodGet, c.RootURL()+"/info/runtimes", nil, http.StatusOK)
	if err != nil {
		if ae, ok := err.(*APIError); ok && ae.StatusCode == http.StatusNotFound {
			return nil, fmt.Errorf("this Kyma Environment Broker has no /info/runtimes endpoint: %w", withoutKinds(ae))
		}
		return nil, err
	}
	body := bytes.TrimSpace(r.body)
	var list []Runtime
	if len(body) > 0 && body[0] == '{' {
		var page struct {
			Data []Runtime `json:"data"`
		}
		err = decode(r, &page)
		list = page.Data
	} else {
		err = decode(r, &list)
	}
	if err != nil {
		return nil, err
	}
	if list == nil {
		list = []Runtime{}
	}
	return list, nil
}

// withoutKinds drops the binding errors from e: a missing endpoint is not a missing
// binding or instance.
func withoutKinds(e *APIError) *APIError {
	cp := *e
	cp.kinds = nil
	return &cp
}

// PlanIDOf looks up an instance's plan id in Runtimes, for
// BindingConfig.PlanIDFor. Each call lists every runtime: cache the answer when
// binding often.
func (c *Client) PlanIDOf(ctx context.Context, instanceID string) (string, error) {
	list, err := c.Runtimes(ctx)
	if err != nil {
		return "", err
	}
	for _, rt := range list {
		if rt.ServiceInstanceID == instanceID {
			return rt.ServicePlanID, nil
		}
	}
	return "", fmt.Errorf("the Kyma Environment Broker lists no runtime for instance %q: %w", instanceID, binding.ErrNotFound)
}
