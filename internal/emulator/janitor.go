package emulator

import (
	"context"
	"time"
)

// janitorInterval is how often the janitor looks for bindings to revoke. The API server
// accepts a token for up to a minute past its exp anyway, so a second is precise enough.
const janitorInterval = time.Second

// janitor revokes, once their reported expiry has passed, the tokens of bindings whose
// reported expiry (--binding-ttl) comes before the token's own: a TokenRequest cannot
// live less than 600 s, and without this a client that ignored expiry would pass every
// test against a short TTL.
func (s *server) janitor(ctx context.Context) {
	t := time.NewTicker(janitorInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.sweep(ctx)
		}
	}
}

// sweep does one round of the janitor's work.
func (s *server) sweep(ctx context.Context) {
	s.dropBindingsOfGoneEnvironments(ctx)
	now := s.opts.now()
	for _, b := range s.store.bindings("") {
		if b.Revoked || b.Kubeconfig == "" || !b.ExpiresAt.Before(b.TokenExpiresAt) || !b.expiredAt(now) {
			continue
		}
		if err := s.backend.RevokeToken(ctx, b.ID); err != nil {
			s.log.Error("revoke expired binding token; retrying", "instance", b.InstanceID, "binding", b.ID, "error", err)
			continue
		}
		err := s.store.mutate(func(d *persisted) (bool, error) {
			r := d.findBinding(b.InstanceID, b.ID)
			if r == nil {
				return false, nil
			}
			r.Revoked = true
			return true, nil
		})
		if err != nil {
			s.log.Error("record revoked binding", "binding", b.ID, "error", err)
			continue
		}
		s.log.Info("binding expired: token revoked", "instance", b.InstanceID, "binding", b.ID)
	}
}

// dropBindingsOfGoneEnvironments deletes the bindings made while their environment was
// being deprovisioned (KEB binds then too), once it is gone: in KEB their tokens die
// with the cluster; here the cluster stays, so their objects are deleted.
func (s *server) dropBindingsOfGoneEnvironments(ctx context.Context) {
	now := s.opts.now()
	for _, b := range s.store.bindings("") {
		if e := s.store.environment(b.InstanceID); e != nil && e.stateAt(now) != stateGone {
			continue
		}
		if err := s.backend.DeleteBinding(ctx, b.ID); err != nil {
			s.log.Error("delete a binding of a deleted environment; retrying", "instance", b.InstanceID, "binding", b.ID, "error", err)
			continue
		}
		if err := s.store.mutate(func(d *persisted) (bool, error) { return d.removeBinding(b.InstanceID, b.ID), nil }); err != nil {
			s.log.Error("drop a binding of a deleted environment", "binding", b.ID, "error", err)
			continue
		}
		s.log.Info("environment gone: binding deleted", "instance", b.InstanceID, "binding", b.ID)
	}
}
