// Package binding holds what the two back ends of kubectl-kyma have in common: a binding
// to a Kyma environment (a kubeconfig with a short-lived service-account token) and the
// interface that creates, reads, lists and deletes them.
//
// The SAP Cloud Management service's Provisioning API (package provisioning) and the
// Kyma Environment Broker's Open Service Broker API (package broker) both implement
// Service, so the commands and the credential helper never see HTTP.
//
// It imports only the standard library, but for ParseKubeconfig and KubeconfigExpiry,
// which read a binding's kubeconfig with client-go's loader (k8s.io/client-go/tools/clientcmd);
// the credential hot path links neither this package nor that loader.
package binding

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
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
	// (see LocalExpiry); zero when unknown.
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
	// CreatedBy is who made the binding, when the service says.
	CreatedBy string `json:"createdBy,omitempty"`
	// ClockNote says why ExpiresAt is not what the service's answer said (see
	// LocalExpiry); empty when it is.
	ClockNote string `json:"clockNote,omitempty"`
}

// MadeError is the error of a Create whose service made a binding (and named it) that
// cannot be used: its answer was unreadable, say. The binding counts towards the limit
// until it is deleted.
type MadeError struct {
	ID  string
	Err error
}

func (e *MadeError) Error() string { return e.Err.Error() }
func (e *MadeError) Unwrap() error { return e.Err }

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

// Classify returns the errors of this package that a service's answer with an
// unexpected status stands for, by its status and its error message, for the API
// clients' error types to wrap. The messages are KEB's (internal/broker/bind_create.go,
// bind_get.go, bind_delete.go), which the Provisioning Service passes through.
//
// A 404 or 410 whose body is not JSON (notJSON) is not ErrNotFound: that is a proxy's
// or a wrong base URL's page (KEB's router answers a path outside /oauth with a
// plain-text 404), and a caller must not conclude that a binding is gone from it. (The
// Provisioning Service's own 404 for a deleted binding has an empty body, which counts.)
func Classify(status int, message string, notJSON bool) []error {
	var ks []error
	switch {
	case status == http.StatusUnauthorized:
		ks = append(ks, ErrUnauthorized)
	case settling(message):
		// KEB's GET of a binding without its kubeconfig yet: a 404 that says "not
		// yet", not "no such binding" (internal/broker/bind_get.go).
		return append(ks, ErrNotReady)
	case (status == http.StatusNotFound || status == http.StatusGone) && !notJSON:
		ks = append(ks, ErrNotFound)
	}
	m := strings.ToLower(message)
	switch {
	case strings.Contains(m, "maximum number of non expired bindings"):
		ks = append(ks, ErrLimitReached)
	case strings.Contains(m, "creation is in progress"), strings.Contains(m, "creation in progress"), strings.Contains(m, "creation failed"):
		ks = append(ks, ErrNotReady)
	case strings.Contains(m, "binding expired"):
		ks = append(ks, ErrExpired)
	}
	return ks
}

// settling reports whether an error message is KEB's "Binding creation in
// progress": the binding exists, its kubeconfig is not there yet.
func settling(message string) bool {
	return strings.Contains(strings.ToLower(message), "binding creation in progress")
}

// MinExpiration and MaxExpiration bound a binding's lifetime, as KEB enforces them.
const (
	MinExpiration     = 600 * time.Second
	MaxExpiration     = 7200 * time.Second
	DefaultExpiration = 600 * time.Second
	// MaxLive is how many non-expired bindings KEB allows per environment.
	MaxLive = 10
)

// The trust bounds on what a service says about a binding's lifetime. KEB grants 600 to
// 7200 s; a lifetime outside that, give or take lifetimeSlack, is taken as a clock
// error. A Date header further than maxSkew from this machine's clock (or further than
// the lifetime itself) is not used to correct the expiry: one clock or the other is
// wrong by more than a correction can be trusted with, and the answers of a service
// whose Date is off by an hour would otherwise make every binding expire at once, or
// live far too long.
const (
	maxSkew       = 5 * time.Minute
	lifetimeSlack = time.Minute
	// minShortLifetime is the shortest lifetime believed at all (see LocalExpiry).
	minShortLifetime = 10 * time.Second
)

// plausible reports whether life is one KEB could have granted.
func plausible(life time.Duration) bool {
	return life >= MinExpiration-lifetimeSlack && life <= MaxExpiration+lifetimeSlack
}

// ExpirationSeconds turns a lifetime into the whole seconds both APIs take as
// expiration_seconds, rounding up so that a binding never lives shorter than asked.
func ExpirationSeconds(d time.Duration) (int64, error) {
	if d < 0 {
		return 0, fmt.Errorf("binding expiration %s is negative", d)
	}
	s := int64(d / time.Second)
	if d%time.Second != 0 {
		s++
	}
	return s, nil
}

// NewExpiry is when a binding a Create just made stops working, on this machine's
// clock: the service's expiresAt moved by LocalExpiry (date, received and requested
// as there), or, when the service said nothing of it, an estimate that errs early:
// sent, when the request was sent, plus the lifetime asked for.
func NewExpiry(expiresAt time.Time, date string, sent, received time.Time, requested time.Duration) (time.Time, string) {
	exp, note := LocalExpiry(expiresAt, date, received, requested)
	if exp.IsZero() {
		if requested == 0 {
			requested = DefaultExpiration
		}
		exp = sent.Add(requested)
	}
	return exp, note
}

// LocalExpiry moves expiresAt, a time on the service's clock, onto this machine's clock
// and checks it against the trust bounds. date is the answer's Date header, received
// when the answer arrived, requested the lifetime asked for (zero: the default). A
// token's expiry is compared with the local clock (by client-go too), so a machine or a
// service whose clock is off must neither hand out a token after the service stopped
// honouring it nor make a binding per kubectl call.
//
//   - A Date within maxSkew of the local clock corrects the expiry: the lifetime is
//     expiresAt - Date, counted from received.
//   - A Date further off is ignored (the returned note says so, for -v logs and
//     `kubectl kyma status`). Either clock may be the wrong one, so of the two
//     lifetimes (counted from the Date, and from the local clock) the shorter one KEB
//     could have granted is taken.
//   - A lifetime longer than KEB grants, not positive, or shorter than KEB grants when
//     the clocks do not agree, is replaced by the requested one. A short lifetime is
//     believed (down to minShortLifetime) when the service's Date agrees with the
//     local clock: both clocks then say the token dies that soon, and handing it out
//     for less never fails a request; the emulator's --binding-ttl relies on it.
//
// A zero expiresAt is returned as it is.
func LocalExpiry(expiresAt time.Time, date string, received time.Time, requested time.Duration) (time.Time, string) {
	if expiresAt.IsZero() {
		return expiresAt, ""
	}
	if requested <= 0 {
		requested = DefaultExpiration
	}
	localLife := expiresAt.Sub(received)
	life, agree, note := localLife, false, ""
	if server, err := http.ParseTime(date); date != "" && err == nil {
		skew := server.Sub(received)
		serverLife := expiresAt.Sub(server)
		if skew.Abs() <= maxSkew && skew.Abs() < serverLife {
			life, agree = serverLife, true
		} else {
			way := "ahead of"
			if skew < 0 {
				way = "behind"
			}
			note = fmt.Sprintf("the service's clock (its Date header) is %s %s this machine's: ignored", skew.Abs().Round(time.Second), way)
			life = 0
			for _, l := range []time.Duration{serverLife, localLife} {
				if plausible(l) && (life == 0 || l < life) {
					life = l
				}
			}
		}
	}
	switch {
	case plausible(life):
	case agree && life >= minShortLifetime && life < MinExpiration:
	default:
		if note != "" {
			note += "; "
		}
		note += fmt.Sprintf("the binding's lifetime (%s) is not one the service grants: taking the %s asked for", life.Round(time.Second), requested)
		life = requested
	}
	return received.Add(life), note
}
