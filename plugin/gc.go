package plugin

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
	"github.com/kubectl-kyma/kubectl-kyma/internal/gc"
	"github.com/kubectl-kyma/kubectl-kyma/internal/ledger"
	"github.com/kubectl-kyma/kubectl-kyma/internal/provisioning"
)

// Kinds of made bindings: the command that made one (package ledger).
const (
	madeByBind       = ledger.Bind
	madeByKubeconfig = ledger.Kubeconfig
	madeByCredential = ledger.Credential
	madeByRun        = ledger.Run
)

// GCOptions deletes the bindings this machine made and no longer uses (package gc).
type GCOptions struct {
	IO           genericiooptions.IOStreams
	Clock        clock.Clock
	Profile      func() (*config.Profile, error)
	CacheDir     func() (string, error)
	Provisioning func() (*provisioning.Client, error)
	Bindings     func() (binding.Service, error)
	envs         environments

	// Arg names the one environment to collect; empty for every known one.
	Arg string
}

// NewCmdGC builds `kubectl kyma gc [NAME|ID]`; runF, when set, replaces Run (tests).
func NewCmdGC(f *Factory, runF func(*GCOptions) error) *cobra.Command {
	o := &GCOptions{}
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
		RunE:              runE(f, o, runF),
	}
	return cmd
}

// Complete takes the streams, the clock, the profile's services and cache, and the
// argument.
func (o *GCOptions) Complete(f *Factory, args []string) error {
	o.IO, o.Clock, o.Profile, o.CacheDir = f.IOStreams, f.Clock, f.Profile, f.CacheDir
	o.Provisioning, o.Bindings, o.envs = f.Provisioning, f.Bindings, environmentsOf(f)
	if len(args) == 1 {
		o.Arg = args[0]
	}
	return nil
}

// Validate has nothing to check: gc has no flags, and cobra counts the arguments.
func (o *GCOptions) Validate() error { return nil }

// Run deletes, environment by environment, what this machine no longer uses.
func (o *GCOptions) Run(ctx context.Context) error {
	p, err := o.Profile()
	if err != nil {
		return err
	}
	dir, err := o.CacheDir()
	if err != nil {
		return err
	}
	var envs []target
	if o.Arg != "" {
		env, err := o.envs.resolve(ctx, o.Arg)
		if err != nil {
			return err
		}
		envs = []target{env}
	} else {
		envs = o.named(ctx, p, gc.Environments(dir, p.Name))
	}
	if len(envs) == 0 {
		fmt.Fprintf(o.IO.Out, "Nothing to delete: profile %q has no cached credentials and made no bindings on this machine.\n", p.Name)
		return nil
	}
	svc, err := o.Bindings()
	if err != nil {
		return err
	}
	var errs []error
	for _, env := range envs {
		if err := gc.Collect(ctx, svc, o.IO.Out, dir, p.Name, env.ID, env.Name, o.Clock.Now); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", env.Name, err))
		}
	}
	return errors.Join(errs...)
}

// named gives the environments' ids their names, when the profile can list
// environments; an environment it cannot name goes by its id.
func (o *GCOptions) named(ctx context.Context, p *config.Profile, ids []string) []target {
	var names map[string]string
	if len(ids) > 0 {
		names = environmentNames(ctx, p, o.Provisioning)
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

// environmentNames are the names of the profile's environments by id, when it can
// list them (a CIS profile); none when it cannot.
func environmentNames(ctx context.Context, p *config.Profile, pc func() (*provisioning.Client, error)) map[string]string {
	names := map[string]string{}
	if p.Kind != config.KindCIS {
		return names
	}
	if c, err := pc(); err == nil {
		if envs, err := c.ListEnvironments(ctx); err == nil {
			for _, e := range envs {
				names[e.ID] = e.DisplayName()
			}
		}
	}
	return names
}

// recordMade notes in the ledger that this machine made a binding. It never fails the
// command that made the binding: without the line, gc only misses that binding, which
// expires by itself.
func recordMade(f *Factory, envID, bindingID, kind string) {
	madeHereOf(f).add(envID, bindingID, kind)
}
