package plugin

import (
	"context"
	"errors"

	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
	"github.com/kubectl-kyma/kubectl-kyma/internal/ledger"
	"github.com/kubectl-kyma/kubectl-kyma/internal/limit"
)

// madeHere is this machine's record of the bindings it made for the profile (the
// ledger in the profile's cache), and the clock that stamps them.
type madeHere struct {
	profile  func() (*config.Profile, error)
	cacheDir func() (string, error)
	clock    clock.Clock
}

// madeHereOf takes the factory's profile, cache and clock, lazily.
func madeHereOf(f *Factory) madeHere {
	return madeHere{profile: f.Profile, cacheDir: f.CacheDir, clock: f.Clock}
}

// open is the record of the environment's bindings; false when the profile or the
// cache cannot be had.
func (m madeHere) open(envID string) (ledger.Record, bool) {
	p, err := m.profile()
	if err != nil {
		return ledger.Record{}, false
	}
	dir, err := m.cacheDir()
	if err != nil {
		return ledger.Record{}, false
	}
	return ledger.Open(dir, p.Name, envID), true
}

// add notes that this machine made a binding. It never fails the command that made
// the binding: without the line, gc only misses that binding, which expires by itself.
func (m madeHere) add(envID, bindingID, kind string) {
	if r, ok := m.open(envID); ok {
		_ = r.Add(bindingID, kind, m.clock.Now())
	}
}

// explainLimit turns err, a failed Create of a binding of env, into an error that
// lists the environment's live bindings and marks those this machine made (see
// limit.Explain). Any other error comes back as it was. The commands that make
// bindings call it on their Create error paths.
func (m madeHere) explainLimit(ctx context.Context, svc binding.Service, env target, err error) error {
	if !errors.Is(err, binding.ErrLimitReached) {
		return err
	}
	made := map[string]ledger.Entry{}
	if r, ok := m.open(env.ID); ok {
		made = r.Read()
	}
	return limit.Explain(ctx, limit.Input{Err: err, Service: svc, EnvID: env.ID, EnvName: env.Name, Made: made, Now: m.clock.Now()})
}

// explainLimit is madeHereOf(f).explainLimit, for the commands that still take the
// factory.
func explainLimit(ctx context.Context, f *Factory, svc binding.Service, env target, err error) error {
	return madeHereOf(f).explainLimit(ctx, svc, env, err)
}
