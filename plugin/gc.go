package plugin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/broker"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
	"github.com/kubectl-kyma/kubectl-kyma/internal/ledger"
)

// Kinds of made bindings: the command that made one (package ledger).
const (
	madeByBind       = ledger.Bind
	madeByKubeconfig = ledger.Kubeconfig
	madeByCredential = ledger.Credential
	madeByRun        = ledger.Run
)

// GCOptions deletes the bindings this machine made and no longer uses.
type GCOptions struct {
	f *Factory

	Arg string
}

// NewCmdGC builds `kubectl kyma gc [NAME|ID]`.
func NewCmdGC(f *Factory) *cobra.Command {
	o := &GCOptions{f: f}
	cmd := &cobra.Command{
		Use:   "gc [NAME|ID]",
		Short: "Delete the bindings this machine made and no longer uses",
		Long: `Delete the bindings this machine made and no longer uses: the superseded bindings the
credential cache still lists, and every live binding that 'kubectl kyma bind',
'kubeconfig', 'run' or the credential helper made here, except the one the cache hands
to kubectl and those of a 'kubectl kyma run' still running.

An environment allows 10 live bindings. Bindings made by 'kubectl kyma bind' are
deleted too: a kubeconfig printed by bind stops working.

Without NAME|ID, every environment this machine has cached credentials or made
bindings for.`,
		Example: `  kubectl kyma gc my-kyma
  kubectl kyma gc`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeEnvironments(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.Arg = args[0]
			}
			return o.Run(cmd.Context())
		},
	}
	return cmd
}

// Run deletes, environment by environment, what this machine no longer uses.
func (o *GCOptions) Run(ctx context.Context) error {
	p, err := o.f.Profile()
	if err != nil {
		return err
	}
	dir, err := o.f.CacheDir()
	if err != nil {
		return err
	}
	var envs []target
	if o.Arg != "" {
		env, err := resolveEnvironment(ctx, o.f, o.Arg)
		if err != nil {
			return err
		}
		envs = []target{env}
	} else {
		envs = o.knownEnvironments(ctx, p, dir)
	}
	if len(envs) == 0 {
		fmt.Fprintf(o.f.IOStreams.Out, "Nothing to delete: profile %q has no cached credentials and made no bindings on this machine.\n", p.Name)
		return nil
	}
	svc, err := o.f.Bindings()
	if err != nil {
		return err
	}
	var errs []error
	for _, env := range envs {
		if err := o.collect(ctx, svc, p.Name, dir, env); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", env.Name, err))
		}
	}
	return errors.Join(errs...)
}

// knownEnvironments are the environments with a cache entry or a record of made
// bindings, named when the profile can list environments.
func (o *GCOptions) knownEnvironments(ctx context.Context, p *config.Profile, dir string) []target {
	var ids []string
	for _, e := range (credential.Cache{Dir: dir}).Entries(p.Name) {
		ids = append(ids, e.Environment)
	}
	ids = append(ids, ledger.Environments(dir, p.Name)...)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	names := map[string]string{}
	if p.Kind == config.KindCIS && len(ids) > 0 {
		if c, err := o.f.Provisioning(); err == nil {
			if list, err := c.ListEnvironments(ctx); err == nil {
				for _, e := range list {
					names[e.ID] = e.DisplayName()
				}
			}
		}
	}
	envs := make([]target, 0, len(ids))
	for _, id := range ids {
		name := names[id]
		if name == "" {
			name = id
		}
		envs = append(envs, target{ID: id, Name: name})
	}
	return envs
}

// collect deletes one environment's unused bindings and compacts its record.
func (o *GCOptions) collect(ctx context.Context, svc binding.Service, profile, dir string, env target) error {
	out := o.f.IOStreams.Out
	rec := ledger.Open(dir, profile, env.ID)
	// Read the record before probing the lock and loading the entry: a refresh writes
	// the record, then the entry, under the lock, so a binding recorded here either
	// shows in the entry loaded below or belongs to a refresh still in flight.
	made := rec.Read()
	cache := credential.Cache{Dir: dir}
	key := credential.Key{Profile: profile, Environment: env.ID}
	inFlight := cache.RefreshState(key).InFlight
	entry := cache.Load(key)

	keep := map[string]bool{}
	if entry != nil {
		keep[entry.BindingID] = true
	}
	type victim struct{ id, why string }
	var victims []victim
	if entry != nil {
		for _, s := range entry.Superseded {
			victims = append(victims, victim{s.BindingID, "superseded in the credential cache"})
		}
	}
	live, listErr := svc.List(ctx, env.ID)
	canList := listErr == nil
	if listErr != nil && !errors.Is(listErr, broker.ErrListNotSupported) {
		return fmt.Errorf("list bindings: %w", listErr)
	}
	candidates := made
	if canList {
		candidates = map[string]ledger.Entry{}
		for _, b := range live {
			if m, ok := made[b.ID]; ok {
				candidates[b.ID] = m
			}
		}
	}
	for _, id := range sortedKeys(candidates) {
		m := candidates[id]
		switch {
		case keep[id]:
			continue
		case rec.InUse(id):
			keep[id] = true
			fmt.Fprintf(out, "binding/%s kept: a 'kubectl kyma run' still uses it\n", id)
			continue
		case inFlight && m.Kind == madeByCredential && (entry == nil || !m.At.Before(entry.IssuedAt)):
			keep[id] = true // a refresh made it and is about to store it
			continue
		case slices.ContainsFunc(victims, func(v victim) bool { return v.id == id }):
			continue
		}
		victims = append(victims, victim{id, "made here by " + ledger.Describe(m.Kind)})
	}

	deleted := 0
	gone := map[string]bool{}
	var errs []error
	for _, v := range victims {
		err := svc.Delete(ctx, env.ID, v.id)
		switch {
		case err == nil:
			deleted++
			gone[v.id] = true
			fmt.Fprintf(out, "binding/%s deleted (%s)\n", v.id, v.why)
		case errors.Is(err, binding.ErrNotFound) || errors.Is(err, binding.ErrExpired):
			gone[v.id] = true
		default:
			errs = append(errs, fmt.Errorf("delete binding %s: %w", v.id, err))
		}
	}
	liveIDs := map[string]bool{}
	for _, b := range live {
		liveIDs[b.ID] = !gone[b.ID]
	}
	// The record keeps what may still be live: the cached binding, those kept above,
	// bindings that failed to delete, and, when the service cannot list, everything
	// not known to be gone. Recent lines stay, in case the list lags behind a bind.
	_ = rec.Compact(func(m ledger.Entry) bool {
		switch {
		case keep[m.ID]:
			return true
		case gone[m.ID]:
			return false
		case canList:
			return liveIDs[m.ID] || o.f.Clock.Now().Sub(m.At) < time.Minute
		}
		return true
	})
	if canList {
		left := 0
		for _, b := range live {
			if !gone[b.ID] {
				left++
			}
		}
		fmt.Fprintf(out, "%s: %d binding(s) deleted, %d of %d live bindings left\n", env.Name, deleted, left, binding.MaxLive)
	} else {
		fmt.Fprintf(out, "%s: %d binding(s) deleted\n", env.Name, deleted)
	}
	return errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// recordMade notes in the ledger that this machine made a binding. It never fails the
// command that made the binding: without the line, gc only misses that binding, which
// expires by itself.
func recordMade(f *Factory, envID, bindingID, kind string) {
	p, err := f.Profile()
	if err != nil {
		return
	}
	dir, err := f.CacheDir()
	if err != nil {
		return
	}
	_ = ledger.Open(dir, p.Name, envID).Add(bindingID, kind, f.Clock.Now())
}
