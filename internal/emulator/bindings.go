package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// KEB's binding settings (its BindingConfig defaults).
const (
	defaultExpirationSeconds = 600
	minExpirationSeconds     = 600
	maxExpirationSeconds     = 7200
	maxBindingsCount         = 10
)

// expiresAtLayout is KEB's layout for metadata.expires_at. In a Go layout ".0" is one
// digit of fraction and "Z" a literal, so an expiry taken from a TokenRequest (whole
// seconds, UTC) always ends in ".0Z".
const expiresAtLayout = "2006-01-02T15:04:05.0Z"

// brokerError is a refusal in KEB's terms: the HTTP status and brokerapi's ErrorResponse.
// The Provisioning Service API passes the description on in its own error body.
type brokerError struct {
	status      int
	key         string // the OSB "error" field, e.g. BindingNotSupported
	description string
	empty       bool // brokerapi's EmptyResponse, {} (KEB's 410s)
}

func (e *brokerError) Error() string { return e.description }

func newBrokerError(status int, format string, args ...any) *brokerError {
	return &brokerError{status: status, description: fmt.Sprintf(format, args...)}
}

// bindInput is a create-binding request, from either API.
type bindInput struct {
	instanceID, bindingID string
	// parameters and context are the raw OSB "parameters" and "context" objects.
	parameters, context json.RawMessage
	// createdBy is recorded when the context names no one (KEB takes email or origin).
	createdBy string
}

// bindOutput is a binding as a create-binding request returns it.
type bindOutput struct {
	kubeconfig string
	expiresAt  time.Time
	// existed is set when the request repeated an earlier one (KEB answers 200, not 201).
	existed bool
}

// bindingParams are KEB's binding parameters (its BindingParams). Other parameters, such
// as token_request, are ignored, as KEB ignores them.
type bindingParams struct {
	ExpirationSeconds int `json:"expiration_seconds,omitempty"`
}

// bindingContext is what KEB reads of the OSB context: who asked for the binding.
type bindingContext struct {
	Email  *string `json:"email,omitempty"`
	Origin *string `json:"origin,omitempty"`
}

// bind creates a binding with KEB's checks, in KEB's order (internal/broker/bind_create.go),
// and with its messages.
func (s *server) bind(ctx context.Context, in bindInput) (*bindOutput, *brokerError) {
	now := s.opts.now()
	env, expiration, createdBy, berr := s.checkBind(in, now)
	if berr != nil {
		return nil, berr
	}
	reported := time.Duration(expiration) * time.Second
	if s.opts.BindingTTL > 0 {
		reported = s.opts.BindingTTL
	}
	out, berr := s.reserveBinding(in, expiration, createdBy, now.Add(reported), now)
	if berr != nil || out != nil {
		return out, berr
	}
	return s.makeBinding(ctx, env, in.bindingID, expiration, reported)
}

// checkBind runs KEB's checks of a bind request that need no binding record: the
// instance, its plan, the context and parameters, and the instance's state. It returns
// the environment, the expiration in seconds and who asks.
func (s *server) checkBind(in bindInput, now time.Time) (*environment, int, string, *brokerError) {
	env := s.store.environment(in.instanceID)
	if env == nil || env.stateAt(now) == stateGone {
		return nil, 0, "", newBrokerError(http.StatusNotFound, "instance does not exist")
	}
	if !s.bindable(env.PlanName) {
		return nil, 0, "", &brokerError{status: http.StatusUnprocessableEntity, key: "BindingNotSupported", description: "binding is not supported"}
	}
	createdBy := in.createdBy
	if len(in.context) != 0 {
		var bc bindingContext
		if err := json.Unmarshal(in.context, &bc); err != nil {
			return nil, 0, "", newBrokerError(http.StatusBadRequest, "failed to unmarshal context: %s", err)
		}
		switch {
		case bc.Email != nil && *bc.Email != "":
			createdBy = *bc.Email
		case bc.Origin != nil && *bc.Origin != "":
			createdBy = *bc.Origin
		}
	}
	var params bindingParams
	if len(in.parameters) != 0 {
		if err := json.Unmarshal(in.parameters, &params); err != nil {
			msg := strings.Replace(err.Error(), "json: ", "", 1)
			msg = strings.Replace(msg, "Go struct field bindingParams.", "", 1)
			// Name the type as KEB's message does, for parameters that are not an object.
			msg = strings.Replace(msg, "emulator.bindingParams", "broker.BindingParams", 1)
			return nil, 0, "", newBrokerError(http.StatusBadRequest, "failed to unmarshal parameters: %s", msg)
		}
	}
	expiration := defaultExpirationSeconds
	if params.ExpirationSeconds != 0 {
		if params.ExpirationSeconds > maxExpirationSeconds {
			return nil, 0, "", newBrokerError(http.StatusBadRequest, "expiration_seconds cannot be greater than %d", maxExpirationSeconds)
		}
		if params.ExpirationSeconds < minExpirationSeconds {
			return nil, 0, "", newBrokerError(http.StatusBadRequest, "expiration_seconds cannot be less than %d", minExpirationSeconds)
		}
		expiration = params.ExpirationSeconds
	}
	// KEB refuses only while the provisioning is in progress or after it failed
	// (bind_create.go looks at the last operation's type and state, nothing else): an
	// instance being deprovisioned is bound like a ready one. Such bindings die with
	// the environment (see dropBindingsOfGoneEnvironments).
	switch env.stateAt(now) {
	case stateCreating:
		return nil, 0, "", newBrokerError(http.StatusBadRequest, "instance %s creation is in progress", in.instanceID)
	case stateCreationFailed:
		return nil, 0, "", newBrokerError(http.StatusBadRequest, "instance %s creation failed", in.instanceID)
	}
	return env, expiration, createdBy, nil
}

// reserveBinding looks the binding id up and, when a new binding is due, checks the limit
// and inserts its record (without a kubeconfig yet), all in one step so that of concurrent
// requests for one new id exactly one goes on. It returns the earlier binding for a
// repeated request, a refusal, or neither when the caller must make the binding.
func (s *server) reserveBinding(in bindInput, expiration int, createdBy string, expiresAt, now time.Time) (*bindOutput, *brokerError) {
	var out *bindOutput
	var refusal *brokerError
	err := s.store.mutate(func(d *persisted) (bool, error) {
		existing := d.findBinding(in.instanceID, in.bindingID)
		if existing != nil {
			if existing.ExpirationSeconds != expiration {
				refusal = newBrokerError(http.StatusConflict, "binding already exists but with different parameters")
				return false, nil
			}
			if !existing.expiredAt(now) {
				if existing.Kubeconfig == "" {
					refusal = newBrokerError(http.StatusUnprocessableEntity, "binding creation already in progress")
				} else {
					out = &bindOutput{kubeconfig: existing.Kubeconfig, expiresAt: existing.ExpiresAt, existed: true}
				}
				return false, nil
			}
		}
		// A new binding is needed: check the limit, as KEB does, before the insert.
		var all, expired int
		for _, b := range d.Bindings {
			if b.InstanceID == in.instanceID {
				all++
				if b.expiredAt(now) {
					expired++
				}
			}
		}
		if all-expired >= maxBindingsCount {
			refusal = newBrokerError(http.StatusBadRequest, "maximum number of non expired bindings reached: %d", maxBindingsCount)
			return false, nil
		}
		if existing != nil {
			// An expired binding keeps its id until KEB's cleanup job drops it.
			refusal = newBrokerError(http.StatusBadRequest, "failed to insert Kyma binding into storage: binding with id %s already exists", in.bindingID)
			return false, nil
		}
		d.Bindings = append(d.Bindings, &bindingRecord{
			ID: in.bindingID, InstanceID: in.instanceID, ExpirationSeconds: expiration,
			CreatedAt: now, CreatedBy: createdBy, ExpiresAt: expiresAt,
		})
		return true, nil
	})
	if err != nil {
		return nil, newBrokerError(http.StatusInternalServerError, "failed to insert Kyma binding into storage: %s", err)
	}
	return out, refusal
}

// makeBinding creates the Kubernetes side of a binding whose record is inserted, and
// completes the record. On failure the record stays without a kubeconfig, as in KEB: the
// id then answers "creation in progress" until it expires or is deleted.
func (s *server) makeBinding(ctx context.Context, env *environment, bindingID string, expiration int, reported time.Duration) (*bindOutput, *brokerError) {
	if err := sleep(ctx, s.opts.BindDelay); err != nil {
		return nil, newBrokerError(http.StatusInternalServerError, "failed to create a Kyma binding using service account's kubeconfig: %s", err)
	}
	token, tokenExpiry, err := s.backend.CreateBinding(ctx, bindingID, time.Duration(expiration)*time.Second)
	if err != nil {
		s.log.Error("create binding", "instance", env.ID, "binding", bindingID, "error", err)
		return nil, newBrokerError(http.StatusInternalServerError, "failed to create a Kyma binding using service account's kubeconfig: %s", err)
	}
	server, ca := s.backend.Cluster()
	kubeconfig := bindingKubeconfig(env.Name, server, ca, token)
	expiresAt := tokenExpiry.UTC().Truncate(time.Second)
	if s.opts.BindingTTL > 0 {
		expiresAt = s.opts.now().Add(reported).UTC().Truncate(time.Second)
	}
	err = s.store.update(func(d *persisted) error {
		b := d.findBinding(env.ID, bindingID)
		if b == nil {
			return errors.New("the binding was deleted while it was being made")
		}
		b.Kubeconfig, b.ExpiresAt, b.TokenExpiresAt = kubeconfig, expiresAt, tokenExpiry.UTC()
		return nil
	})
	if err != nil {
		// Do not leave a working token behind for a binding nobody can see.
		if derr := s.backend.DeleteBinding(context.WithoutCancel(ctx), bindingID); derr != nil {
			s.log.Error("delete orphaned binding objects", "binding", bindingID, "error", derr)
		}
		return nil, newBrokerError(http.StatusInternalServerError, "failed to update Kyma binding in storage: %s", err)
	}
	s.stats.bindingsCreated.Add(1)
	s.log.Info("binding created", "instance", env.ID, "binding", bindingID, "expiresAt", expiresAt.Format(time.RFC3339))
	return &bindOutput{kubeconfig: kubeconfig, expiresAt: expiresAt}, nil
}

// getBinding returns a binding's kubeconfig as KEB's GetBinding does
// (internal/broker/bind_get.go).
func (s *server) getBinding(instanceID, bindingID string) (string, *brokerError) {
	now := s.opts.now()
	env := s.store.environment(instanceID)
	if env == nil {
		// KEB finds no last operation for an instance it never had.
		return "", newBrokerError(http.StatusInternalServerError, "failed to get last operation for instance %s", instanceID)
	}
	// KEB answers 404 whenever the last operation is a deprovisioning, finished, failed
	// or in progress.
	if st := env.stateAt(now); st == stateDeleting || st == stateDeletionFailed || st == stateGone {
		return "", newBrokerError(http.StatusNotFound, "Binding not found")
	}
	b := s.store.binding(instanceID, bindingID)
	switch {
	case b == nil:
		return "", newBrokerError(http.StatusNotFound, "Binding not found")
	case b.expiredAt(now):
		return "", newBrokerError(http.StatusNotFound, "Binding expired")
	case b.Kubeconfig == "":
		return "", newBrokerError(http.StatusNotFound, "Binding creation in progress")
	}
	return b.Kubeconfig, nil
}

// unbind deletes a binding as KEB's Unbind does (internal/broker/bind_delete.go): its
// Kubernetes objects, then its record.
func (s *server) unbind(ctx context.Context, instanceID, bindingID string) *brokerError {
	env := s.store.environment(instanceID)
	if env == nil || env.stateAt(s.opts.now()) == stateGone {
		_ = s.store.mutate(func(d *persisted) (bool, error) { return d.removeBinding(instanceID, bindingID), nil })
		return &brokerError{status: http.StatusGone, description: "instance does not exist", empty: true}
	}
	if s.store.binding(instanceID, bindingID) == nil {
		return &brokerError{status: http.StatusGone, description: "binding does not exist", empty: true}
	}
	// KEB skips this while the instance is being deprovisioned, since the cluster goes
	// with it; the emulator's cluster stays, so it always deletes the objects.
	if err := s.backend.DeleteBinding(ctx, bindingID); err != nil {
		return newBrokerError(http.StatusInternalServerError, "failed to delete resources for binding %s and instance %s: %v", bindingID, instanceID, err)
	}
	err := s.store.mutate(func(d *persisted) (bool, error) { return d.removeBinding(instanceID, bindingID), nil })
	if err != nil {
		return newBrokerError(http.StatusInternalServerError, "failed to delete resources for binding %s and instance %s: %v", bindingID, instanceID, err)
	}
	s.log.Info("binding deleted", "instance", instanceID, "binding", bindingID)
	return nil
}

// bindable reports whether a plan allows bindings (KEB compares case-insensitively).
func (s *server) bindable(planName string) bool {
	return slices.ContainsFunc(s.opts.BindablePlans, func(p string) bool { return strings.EqualFold(p, planName) })
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
