// Package binding holds what the two back ends of kubectl-kyma have in common: a binding
// to a Kyma environment (a kubeconfig with a short-lived service-account token) and the
// interface that creates, reads, lists and deletes them.
//
// The SAP Cloud Management service's Provisioning API (package provisioning) and the
// Kyma Environment Broker's Open Service Broker API (package broker) both implement
// Service, so the commands and the credential helper never see HTTP.
//
// This package imports only the standard library.
package binding

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// Binding is one binding of an environment.
type Binding struct {
	// ID names the binding at the service: the CIS Location header, or the OSB binding id.
	ID string `json:"id"`
	// EnvironmentID is the environment (service instance) the binding belongs to.
	EnvironmentID string `json:"environmentId,omitempty"`
	// Kubeconfig is the binding's kubeconfig, token included. It is a secret: never log it.
	Kubeconfig string `json:"kubeconfig,omitempty"`
	// CreatedAt is when the service made the binding; zero when it did not say.
	CreatedAt time.Time `json:"createdAt,omitzero"`
	// ExpiresAt is when the binding's token stops working, on this machine's clock
	// (see ToLocalClock); zero when unknown.
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
	// CreatedBy is who made the binding, when the service says.
	CreatedBy string `json:"createdBy,omitempty"`
}

// Service creates, reads, lists and deletes the bindings of an environment.
type Service interface {
	// Create makes a new binding whose token lives for expiration; zero asks for the
	// service's default (600 s).
	Create(ctx context.Context, environmentID string, expiration time.Duration) (*Binding, error)
	// Get returns one binding; the service may leave ExpiresAt zero (KEB does).
	Get(ctx context.Context, environmentID, bindingID string) (*Binding, error)
	// List returns the environment's bindings, without their kubeconfigs.
	List(ctx context.Context, environmentID string) ([]Binding, error)
	// Delete revokes a binding: its token is refused from then on.
	Delete(ctx context.Context, environmentID, bindingID string) error
}

// Errors a Service wraps so callers can tell the cases apart with errors.Is.
var (
	// ErrNotFound: the environment or binding does not exist (or is gone).
	ErrNotFound = errors.New("not found")
	// ErrExpired: the binding existed but has expired (KEB answers GET with 404
	// "Binding expired").
	ErrExpired = errors.New("expired")
	// ErrUnauthorized: the service refused the client's credentials.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrLimitReached: the environment already has the maximum of live bindings.
	ErrLimitReached = errors.New("binding limit reached")
	// ErrNotReady: the environment is still being created, or its creation failed.
	ErrNotReady = errors.New("environment not ready")
)

// MinExpiration and MaxExpiration bound a binding's lifetime, as KEB enforces them.
const (
	MinExpiration     = 600 * time.Second
	MaxExpiration     = 7200 * time.Second
	DefaultExpiration = 600 * time.Second
	// MaxLive is how many non-expired bindings KEB allows per environment.
	MaxLive = 10
)

// minSkew is the clock difference worth correcting: an HTTP Date has whole seconds.
const minSkew = 2 * time.Second

// ToLocalClock moves t, a time on the service's clock, onto this machine's clock, using
// the answer's Date header and when the answer arrived: a token's expiry is compared
// with the local clock (by client-go too), so a machine whose clock is off must not
// think a token valid after the service stopped honouring it. Without a usable Date,
// or with a skew under two seconds, t is returned as it is.
func ToLocalClock(t time.Time, date string, received time.Time) time.Time {
	if t.IsZero() || date == "" {
		return t
	}
	server, err := http.ParseTime(date)
	if err != nil {
		return t
	}
	skew := server.Sub(received)
	if skew > -minSkew && skew < minSkew {
		return t
	}
	return t.Add(-skew)
}
