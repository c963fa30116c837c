package broker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/apiclient"
	"github.com/kubectl-kyma/kubectl-kyma/internal/auth"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
)

// BindRequest is what a bind needs besides the instance and binding ids.
type BindRequest struct {
	// ServiceID and PlanID are required by OSB; KEB checks that they are present,
	// not that they match the instance.
	ServiceID, PlanID string
	// Expiration is the token's lifetime (600 s to 7200 s); zero leaves it to KEB
	// (600 s by default). It is sent in whole seconds, rounded up.
	Expiration time.Duration
}

// bindingJSON is KEB's binding answer: {"credentials":{"kubeconfig"},
// "metadata":{"expires_at"}}; expiresAt is accepted too.
type bindingJSON struct {
	Credentials struct {
		Kubeconfig string `json:"kubeconfig"`
	} `json:"credentials"`
	Metadata struct {
		ExpiresAt string `json:"expires_at"`
	} `json:"metadata"`
	ExpiresAt string `json:"expiresAt"`
}

// expiry is the first of metadata.expires_at, expiresAt and the token's exp claim
// that is there; zero when none is.
func (b *bindingJSON) expiry() time.Time {
	for _, s := range []string{b.Metadata.ExpiresAt, b.ExpiresAt} {
		if t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s)); err == nil {
			return t
		}
	}
	// Decoded only to schedule a refresh; see binding.JWTExpiry.
	if t, err := binding.KubeconfigExpiry(b.Credentials.Kubeconfig); err == nil {
		return t
	}
	return time.Time{}
}

func bindingPath(instanceID, bindingID string) string {
	return instancePath(instanceID) + "/service_bindings/" + url.PathEscape(bindingID)
}

// Bind creates binding bindingID of an instance (PUT; 201 new, 200 when the same
// request was made before) and returns it with its kubeconfig. ExpiresAt comes from
// metadata.expires_at, else the token's exp claim, else (an estimate that errs
// early) the time the request was sent plus the lifetime asked for.
//
// bindingID must be a lowercase RFC 1123 name (use NewBindingID); the same id with
// other parameters is a 409, and an expired binding's id a 400, until KEB's cleanup
// job drops it. Errors wrap binding.ErrNotFound (unknown instance),
// ErrNotReady, ErrLimitReached and ErrUnauthorized; see APIError.
func (c *Client) Bind(ctx context.Context, instanceID, bindingID string, req BindRequest) (*binding.Binding, error) {
	if err := apiclient.RequireID("instance", instanceID); err != nil {
		return nil, err
	}
	if !validBindingID(bindingID) {
		return nil, fmt.Errorf("binding id %q is not a lowercase RFC 1123 name of at most 50 characters", bindingID)
	}
	secs, err := binding.ExpirationSeconds(req.Expiration)
	if err != nil {
		return nil, err
	}
	type params struct {
		ExpirationSeconds int64 `json:"expiration_seconds"`
	}
	body := struct {
		ServiceID  string  `json:"service_id"`
		PlanID     string  `json:"plan_id"`
		Parameters *params `json:"parameters,omitempty"`
	}{ServiceID: req.ServiceID, PlanID: req.PlanID}
	if secs > 0 {
		body.Parameters = &params{ExpirationSeconds: secs}
	}
	sent := c.Now()
	r, err := c.Do(ctx, http.MethodPut, bindingPath(instanceID, bindingID), body,
		http.StatusCreated, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var bj bindingJSON
	if err := r.Decode(&bj); err != nil {
		// The broker answered 200 or 201: the binding exists and counts.
		return nil, &binding.MadeError{ID: bindingID, Err: err}
	}
	if bj.Credentials.Kubeconfig == "" {
		return nil, &binding.MadeError{ID: bindingID, Err: fmt.Errorf("the Kyma Environment Broker created binding %q but sent no kubeconfig", bindingID)}
	}
	b := &binding.Binding{ID: bindingID, EnvironmentID: instanceID, Kubeconfig: bj.Credentials.Kubeconfig}
	b.ExpiresAt, b.ClockNote = binding.NewExpiry(bj.expiry(), r.Header.Get("Date"), sent, c.Now(), time.Duration(secs)*time.Second)
	return b, nil
}

// GetBinding returns a binding with its kubeconfig. KEB's answer has no expiry:
// ExpiresAt is the token's exp claim (zero if the token is no JWT); callers that
// made the binding should keep the expiry Bind returned. KEB answers 404 for an
// unknown binding ("Binding not found", ErrNotFound), an expired one ("Binding
// expired", ErrExpired and ErrNotFound) and one still being made ("Binding creation
// in progress", ErrNotFound).
func (c *Client) GetBinding(ctx context.Context, instanceID, bindingID string) (*binding.Binding, error) {
	if err := apiclient.RequireID("instance", instanceID); err != nil {
		return nil, err
	}
	if err := apiclient.RequireID("binding", bindingID); err != nil {
		return nil, err
	}
	bj, err := apiclient.Get[bindingJSON](ctx, c.Client, bindingPath(instanceID, bindingID))
	if err != nil {
		return nil, err
	}
	return &binding.Binding{ID: bindingID, EnvironmentID: instanceID, Kubeconfig: bj.Credentials.Kubeconfig, ExpiresAt: bj.expiry()}, nil
}

// Unbind deletes a binding (DELETE ?service_id=&plan_id=, both required by KEB):
// KEB deletes its ServiceAccount, ClusterRole and ClusterRoleBinding, so the token is
// refused from then on.
//
// KEB answers 410 Gone when the binding is not in its database: deleted before,
// never made, dropped by the cleanup job after expiry, or its instance is gone. That
// is an *APIError wrapping binding.ErrNotFound, not ErrExpired: an expired binding
// that KEB still holds is deleted normally (200), so 410 says "gone", not "expired".
// A caller that wanted the binding gone can treat ErrNotFound as done.
func (c *Client) Unbind(ctx context.Context, instanceID, bindingID, serviceID, planID string) error {
	if err := apiclient.RequireID("instance", instanceID); err != nil {
		return err
	}
	if err := apiclient.RequireID("binding", bindingID); err != nil {
		return err
	}
	q := url.Values{"service_id": {serviceID}, "plan_id": {planID}}
	_, err := c.Do(ctx, http.MethodDelete, bindingPath(instanceID, bindingID)+"?"+q.Encode(), nil,
		http.StatusOK, http.StatusAccepted)
	return err
}

// ErrListNotSupported is returned by BindingService.List: the OSB API has no call
// that lists bindings, and KEB offers broker clients none either. (Its
// /runtimes?bindings=true is the control plane's admin API, behind other
// credentials, and /info/runtimes, removed from KEB in 2026, never listed bindings.)
var ErrListNotSupported = errors.New("listing bindings is not part of the Open Service Broker API; use the Provisioning Service back end to list them")

// BindingConfig says which service and plan ids the broker's binding.Service sends.
type BindingConfig struct {
	// ServiceID defaults to KymaServiceID.
	ServiceID string
	// PlanID is sent when PlanIDFor is nil. It defaults to AWSPlanID: KEB checks
	// only that a plan id is there, and aws is the plan KEB binds by default.
	PlanID string
	// PlanIDFor, when set, looks up an instance's plan id. (KEB's GET /info/runtimes,
	// which once listed them, was removed in February 2026.)
	PlanIDFor func(ctx context.Context, instanceID string) (string, error)
}

// Bindings returns the client as a binding.Service that sends cfg's ids.
func (c *Client) Bindings(cfg BindingConfig) *BindingService {
	if cfg.ServiceID == "" {
		cfg.ServiceID = KymaServiceID
	}
	if cfg.PlanID == "" {
		cfg.PlanID = AWSPlanID
	}
	return &BindingService{c: c, cfg: cfg}
}

// BindingService is a Client seen as a binding.Service. Create picks a fresh
// binding id every time (NewBindingID): retrying a failed Create makes a new
// binding rather than reusing an id KEB may hold stuck or expired.
type BindingService struct {
	c   *Client
	cfg BindingConfig
}

var _ binding.Service = (*BindingService)(nil)

func (s *BindingService) planID(ctx context.Context, instanceID string) (string, error) {
	if s.cfg.PlanIDFor == nil {
		return s.cfg.PlanID, nil
	}
	id, err := s.cfg.PlanIDFor(ctx, instanceID)
	if err != nil {
		return "", fmt.Errorf("look up the plan of instance %q: %w", instanceID, err)
	}
	if id == "" {
		return "", fmt.Errorf("instance %q has no plan id", instanceID)
	}
	return id, nil
}

// Create binds the instance under a fresh id. When KEB failed (5xx, e.g. its 15 s
// bind timeout) or did not answer, the binding may exist half-made and count toward
// the limit of 10, so the error names its id for a later Delete.
func (s *BindingService) Create(ctx context.Context, environmentID string, expiration time.Duration) (*binding.Binding, error) {
	plan, err := s.planID(ctx, environmentID)
	if err != nil {
		return nil, err
	}
	id := NewBindingID()
	b, err := s.c.Bind(ctx, environmentID, id, BindRequest{ServiceID: s.cfg.ServiceID, PlanID: plan, Expiration: expiration})
	if err != nil {
		var ae *APIError
		var te *auth.Error
		if errors.As(err, &te) || (errors.As(err, &ae) && ae.StatusCode < 500) {
			return nil, err // refused before anything was made
		}
		return nil, fmt.Errorf("binding %s may exist in an unknown state: %w", id, err)
	}
	return b, nil
}

// Get is Client.GetBinding.
func (s *BindingService) Get(ctx context.Context, environmentID, bindingID string) (*binding.Binding, error) {
	return s.c.GetBinding(ctx, environmentID, bindingID)
}

// List fails with ErrListNotSupported.
func (s *BindingService) List(ctx context.Context, environmentID string) ([]binding.Binding, error) {
	return nil, ErrListNotSupported
}

// Delete is Client.Unbind with the configured ids.
func (s *BindingService) Delete(ctx context.Context, environmentID, bindingID string) error {
	plan, err := s.planID(ctx, environmentID)
	if err != nil {
		return err
	}
	return s.c.Unbind(ctx, environmentID, bindingID, s.cfg.ServiceID, plan)
}
