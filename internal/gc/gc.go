// Package gc deletes the bindings this machine made and no longer uses (`kubectl kyma
// gc`), one environment at a time, in three steps: Read gathers the facts (the ledger of
// bindings made here, the credential cache's entry, the service's list, the in-use
// marks of running `kubectl kyma run`s), Plan decides from those facts alone what to
// delete and what to keep, and Collect carries the plan out: it deletes, rewrites the
// ledger and reports each step.
package gc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/broker"
	"github.com/kubectl-kyma/kubectl-kyma/internal/ledger"
)

// Facts is what gc knows of one environment before it deletes anything.
type Facts struct {
	// Made is the ledger: the bindings this machine made, by id.
	Made map[string]ledger.Entry
	// Cached is the credential cache's entry; nil when there is none.
	Cached *credential.Entry
	// RefreshInFlight: a refresh holds the entry's lock, and may have made a binding it
	// has not stored yet.
	RefreshInFlight bool
	// Listed is whether the service listed the environment's bindings (a broker cannot);
	// Live are their ids.
	Listed bool
	Live   []string
	// InUse are the candidates (see candidates) that a running `kubectl kyma run` holds.
	InUse map[string]bool
}

// Victim is a binding to delete, and why, as the report says it.
type Victim struct {
	ID  string
	Why string
}

// Plan is what gc does with one environment.
type Plan struct {
	// Delete are the bindings to delete, in order: the superseded ones the cache lists,
	// then those made here, by id.
	Delete []Victim
	// InUse are the bindings kept because a running `kubectl kyma run` uses them, by id.
	InUse []string
	// Keep are the bindings the ledger keeps whatever happens to them: the cached one,
	// those in use, and those a refresh in flight made.
	Keep map[string]bool

	listed bool
	live   []string
}

// candidates are the bindings made here that gc may delete: those still live, or every
// one when the service cannot list; never the cached one.
func candidates(made map[string]ledger.Entry, cached *credential.Entry, listed bool, live []string) []string {
	var ids []string
	for id := range made {
		if listed && !slices.Contains(live, id) || cached != nil && id == cached.BindingID {
			continue
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Read gathers the facts of one environment. Only a failure to list the bindings (other
// than a service that cannot list) is an error.
func Read(ctx context.Context, svc binding.Service, cacheDir, profile, envID string) (Facts, error) {
	rec := ledger.Open(cacheDir, profile, envID)
	// Read the record before probing the lock and loading the entry: a refresh writes
	// the record, then the entry, under the lock, so a binding recorded here either
	// shows in the entry loaded below or belongs to a refresh still in flight.
	f := Facts{Made: rec.Read(), InUse: map[string]bool{}}
	cache := credential.Cache{Dir: cacheDir}
	key := credential.Key{Profile: profile, Environment: envID}
	f.RefreshInFlight = cache.RefreshState(key).InFlight
	f.Cached = cache.Load(key)
	live, err := svc.List(ctx, envID)
	switch {
	case err == nil:
		f.Listed = true
		for _, b := range live {
			f.Live = append(f.Live, b.ID)
		}
	case !errors.Is(err, broker.ErrListNotSupported):
		return Facts{}, fmt.Errorf("list bindings: %w", err)
	}
	for _, id := range candidates(f.Made, f.Cached, f.Listed, f.Live) {
		if rec.InUse(id) {
			f.InUse[id] = true
		}
	}
	return f, nil
}

// Plan decides what to delete and what to keep; it reads nothing but f.
func (f Facts) Plan() Plan {
	p := Plan{Keep: map[string]bool{}, listed: f.Listed, live: f.Live}
	if f.Cached != nil {
		p.Keep[f.Cached.BindingID] = true
		for _, s := range f.Cached.Superseded {
			p.Delete = append(p.Delete, Victim{s.BindingID, "superseded in the credential cache"})
		}
	}
	for _, id := range candidates(f.Made, f.Cached, f.Listed, f.Live) {
		m := f.Made[id]
		switch {
		case f.InUse[id]:
			p.Keep[id] = true
			p.InUse = append(p.InUse, id)
			continue
		case f.RefreshInFlight && m.Kind == ledger.Credential && (f.Cached == nil || !m.At.Before(f.Cached.IssuedAt)):
			p.Keep[id] = true // a refresh made it and is about to store it
			continue
		case slices.ContainsFunc(p.Delete, func(v Victim) bool { return v.ID == id }):
			continue
		}
		p.Delete = append(p.Delete, Victim{id, "made here by " + ledger.Describe(m.Kind)})
	}
	return p
}

// Retain says which lines the ledger keeps once the bindings in gone are known to be
// gone: what may still be live (the cached binding, those kept, bindings that failed to
// delete, and, when the service cannot list, everything not known to be gone), and
// lines younger than a minute, in case the list lags behind a bind.
func (p Plan) Retain(gone map[string]bool, now time.Time) func(ledger.Entry) bool {
	return func(m ledger.Entry) bool {
		switch {
		case p.Keep[m.ID]:
			return true
		case gone[m.ID]:
			return false
		case p.listed:
			return slices.Contains(p.live, m.ID) || now.Sub(m.At) < time.Minute
		}
		return true
	}
}

// left counts the live bindings not in gone.
func (p Plan) left(gone map[string]bool) int {
	n := 0
	for _, id := range p.live {
		if !gone[id] {
			n++
		}
	}
	return n
}

// Collect deletes one environment's unused bindings, compacts its ledger and reports
// each step to out; name is the environment as the report calls it.
func Collect(ctx context.Context, svc binding.Service, out io.Writer, cacheDir, profile, envID, name string, now func() time.Time) error {
	facts, err := Read(ctx, svc, cacheDir, profile, envID)
	if err != nil {
		return err
	}
	plan := facts.Plan()
	for _, id := range plan.InUse {
		fmt.Fprintf(out, "binding/%s kept: a 'kubectl kyma run' still uses it\n", id)
	}
	deleted := 0
	gone := map[string]bool{}
	var errs []error
	for _, v := range plan.Delete {
		err := svc.Delete(ctx, envID, v.ID)
		switch {
		case err == nil:
			deleted++
			gone[v.ID] = true
			fmt.Fprintf(out, "binding/%s deleted (%s)\n", v.ID, v.Why)
		case errors.Is(err, binding.ErrNotFound) || errors.Is(err, binding.ErrExpired):
			gone[v.ID] = true
		default:
			errs = append(errs, fmt.Errorf("delete binding %s: %w", v.ID, err))
		}
	}
	_ = ledger.Open(cacheDir, profile, envID).Compact(plan.Retain(gone, now()))
	if plan.listed {
		fmt.Fprintf(out, "%s: %d binding(s) deleted, %d of %d live bindings left\n", name, deleted, plan.left(gone), binding.MaxLive)
	} else {
		fmt.Fprintf(out, "%s: %d binding(s) deleted\n", name, deleted)
	}
	return errors.Join(errs...)
}

// Environments are the environments a profile has cached credentials or a ledger for,
// by id, sorted.
func Environments(cacheDir, profile string) []string {
	var ids []string
	for _, e := range (credential.Cache{Dir: cacheDir}).Entries(profile) {
		ids = append(ids, e.Environment)
	}
	ids = append(ids, ledger.Environments(cacheDir, profile)...)
	slices.Sort(ids)
	return slices.Compact(ids)
}
