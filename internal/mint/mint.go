// Package mint makes the bindings behind the credential cache (credential.Minter)
// through the profile's binding service, for the credential helper and `kubectl kyma
// kubeconfig`. Each binding is noted as made on this machine as soon as the service
// names it, before it is stored or handed out, so `kubectl kyma gc` and the limit
// error know it even if the process dies next.
package mint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
)

// Minter makes and revokes the bindings of one environment.
type Minter struct {
	// Bindings is the profile's binding service, asked for only when a binding is made
	// or revoked.
	Bindings func() (binding.Service, error)
	Env      string
	// Expiration is the bindings' lifetime; zero is the service's default.
	Expiration time.Duration
	// Record notes a binding made here (the made record of package ledger); it never
	// fails the minting.
	Record func(bindingID string)
	// Explain turns a failed Create into the error to return (limit.Explain).
	Explain func(ctx context.Context, svc binding.Service, err error) error
	Clock   clock.Clock
	// Log, when set (-v), hears of a binding whose expiry the service's clock skews.
	Log io.Writer
}

// revokeBudget bounds the deletion of a binding made and not used.
const revokeBudget = 10 * time.Second

// Mint makes a binding and turns it into a cache entry. A binding made and not usable
// is deleted again, and the error is a *credential.LostBinding.
func (m *Minter) Mint(ctx context.Context) (*credential.Entry, error) {
	svc, err := m.Bindings()
	if err != nil {
		return nil, err
	}
	b, err := svc.Create(ctx, m.Env, m.Expiration)
	if err != nil {
		var made *binding.MadeError
		if errors.As(err, &made) {
			m.Record(made.ID)
			return nil, m.discard(ctx, svc, made.ID, err)
		}
		return nil, m.Explain(ctx, svc, err)
	}
	m.Record(b.ID)
	if b.ClockNote != "" && m.Log != nil {
		fmt.Fprintf(m.Log, "kubectl-kyma: binding %s: %s\n", b.ID, b.ClockNote)
	}
	e, err := EntryOf(b, m.Clock.Now(), m.Expiration)
	if err != nil {
		return nil, m.discard(ctx, svc, b.ID, err)
	}
	return e, nil
}

// discard deletes a binding that was made but cannot be used, within revokeBudget; the
// made record already names it, so `kubectl kyma gc` finds it if the deletion fails too.
func (m *Minter) discard(ctx context.Context, svc binding.Service, id string, cause error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeBudget)
	defer cancel()
	if err := svc.Delete(ctx, m.Env, id); err != nil && !gone(err) {
		life := m.Expiration
		if life == 0 {
			life = binding.DefaultExpiration
		}
		return &credential.LostBinding{
			Err:       fmt.Errorf("%w; deleting binding %s failed too (%v): 'kubectl kyma gc' deletes it later", cause, id, err),
			Undeleted: m.Clock.Now().Add(life + time.Minute),
		}
	}
	return &credential.LostBinding{Err: fmt.Errorf("%w; binding %s was deleted again", cause, id)}
}

// Revoke deletes a binding; one already gone is no error.
func (m *Minter) Revoke(ctx context.Context, bindingID string) error {
	svc, err := m.Bindings()
	if err != nil {
		return err
	}
	if err := svc.Delete(ctx, m.Env, bindingID); err != nil && !gone(err) {
		return err
	}
	return nil
}

// gone says the service no longer has the binding.
func gone(err error) bool {
	return errors.Is(err, binding.ErrNotFound) || errors.Is(err, binding.ErrExpired)
}

// EntryOf turns a binding into a cache entry: the token, server and CA of its
// kubeconfig, and its expiry (from the service, else the token's own exp claim, else
// the lifetime asked for, else the service's default), issued now.
func EntryOf(b *binding.Binding, now time.Time, expiration time.Duration) (*credential.Entry, error) {
	kc, err := binding.ParseKubeconfig(b.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("binding %s: %w", b.ID, err)
	}
	exp, note := b.ExpiresAt, b.ClockNote
	if exp.IsZero() {
		// The token's own exp claim, on the cluster's clock: bounded like the service's.
		jwtExp, _ := binding.JWTExpiry(kc.Token)
		exp, note = binding.LocalExpiry(jwtExp, "", now, expiration)
	}
	if exp.IsZero() {
		if expiration == 0 {
			expiration = binding.DefaultExpiration
		}
		exp = now.Add(expiration)
	}
	return &credential.Entry{
		ClockNote:     note,
		Environment:   b.EnvironmentID,
		BindingID:     b.ID,
		Token:         kc.Token,
		IssuedAt:      now,
		ExpiresAt:     exp,
		Server:        kc.Server,
		CAData:        kc.CAData,
		TLSServerName: kc.TLSServerName,
	}, nil
}
