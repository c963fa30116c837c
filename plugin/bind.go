package plugin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
	"github.com/kubectl-kyma/kubectl-kyma/internal/listing"
	"github.com/kubectl-kyma/kubectl-kyma/internal/printers"
)

// expirationFlag is a binding lifetime given as seconds (600) or a duration (10m), read
// as the credential helper reads its --expiration (credential.ParseExpiration).
type expirationFlag struct{ d time.Duration }

func (e *expirationFlag) String() string {
	if e.d == 0 {
		return ""
	}
	return credential.FormatExpiration(e.d)
}

func (e *expirationFlag) Set(s string) (err error) {
	if e.d, err = credential.ParseExpiration(s); err != nil {
		return err
	}
	if e.d < binding.MinExpiration || e.d > binding.MaxExpiration {
		return fmt.Errorf("a binding lives from 600 to 7200 seconds (10m to 2h), not %s", s)
	}
	return nil
}

func (e *expirationFlag) Type() string { return "seconds" }

// BindOptions makes a binding and prints its kubeconfig.
type BindOptions struct {
	IO       genericiooptions.IOStreams
	Bindings func() (binding.Service, error)
	envs     environments
	made     madeHere

	Arg        string
	Expiration expirationFlag
	out        printers.Flags
}

// NewCmdBind builds `kubectl kyma bind NAME|ID`; runF, when set, replaces Run (tests).
func NewCmdBind(f *Factory, runF func(*BindOptions) error) *cobra.Command {
	o := &BindOptions{}
	cmd := &cobra.Command{
		Use:   "bind NAME|ID",
		Short: "Make a binding and print its kubeconfig, which holds a short-lived token",
		Long: `Make a binding of the environment and print its kubeconfig. The token in it stops
working when the binding expires (10 minutes by default, 2 hours at most). For a
kubeconfig that never holds a stale token, use 'kubectl kyma kubeconfig'.`,
		Example: `  kubectl kyma bind my-kyma --expiration 1h > kyma.yaml
  kubectl kyma bind my-kyma -o json   # the whole binding: id, expiry, kubeconfig`,
		Args:              exactArgs("NAME|ID"),
		ValidArgsFunction: completeEnvironments(f),
		RunE:              runE(f, o, runF),
	}
	cmd.Flags().Var(&o.Expiration, "expiration", "the binding's lifetime: seconds (600 to 7200) or a duration (10m to 2h); default the service's, 600")
	cmd.Flags().StringVarP(&o.out.Output, "output", "o", "", "json, yaml, jsonpath=... or go-template=... for the whole binding; default: its kubeconfig")
	return cmd
}

// Complete takes the streams and the profile's services, and the argument.
func (o *BindOptions) Complete(f *Factory, args []string) error {
	o.IO, o.Bindings, o.envs, o.made = f.IOStreams, f.Bindings, environmentsOf(f), madeHereOf(f)
	o.Arg = args[0]
	return nil
}

// Validate checks -o, when given: without it the command prints the kubeconfig.
func (o *BindOptions) Validate() error {
	if o.out.Output == "" {
		return nil
	}
	return o.out.Validate()
}

// Run makes the binding.
func (o *BindOptions) Run(ctx context.Context) error {
	env, err := o.envs.resolve(ctx, o.Arg)
	if err != nil {
		return err
	}
	svc, err := o.Bindings()
	if err != nil {
		return err
	}
	b, err := svc.Create(ctx, env.ID, o.Expiration.d)
	if err != nil {
		return o.made.explainLimit(ctx, svc, env, fmt.Errorf("bind %q: %w", env.Name, err))
	}
	o.made.add(env.ID, b.ID, madeByBind)
	if o.out.Output == "" {
		_, err := fmt.Fprint(o.IO.Out, b.Kubeconfig)
		if !b.ExpiresAt.IsZero() {
			fmt.Fprintf(o.IO.ErrOut, "binding/%s expires at %s\n", b.ID, b.ExpiresAt.Local().Format(time.RFC3339))
		}
		return err
	}
	l, err := listing.Binding(b)
	if err != nil {
		return err
	}
	return o.out.Print(o.IO.Out, o.IO.ErrOut, l)
}

// BindingsOptions lists an environment's bindings.
type BindingsOptions struct {
	IO       genericiooptions.IOStreams
	Clock    clock.Clock
	Bindings func() (binding.Service, error)
	envs     environments

	Arg string
	out printers.Flags
}

// NewCmdBindings builds `kubectl kyma bindings NAME|ID`; runF, when set, replaces Run
// (tests).
func NewCmdBindings(f *Factory, runF func(*BindingsOptions) error) *cobra.Command {
	o := &BindingsOptions{}
	cmd := &cobra.Command{
		Use:               "bindings NAME|ID",
		Short:             "List an environment's bindings",
		Args:              exactArgs("NAME|ID"),
		ValidArgsFunction: completeEnvironments(f),
		RunE:              runE(f, o, runF),
	}
	o.out.AddFlags(cmd)
	return cmd
}

// Complete takes the streams, the clock and the profile's services, and the argument.
func (o *BindingsOptions) Complete(f *Factory, args []string) error {
	o.IO, o.Clock, o.Bindings, o.envs = f.IOStreams, f.Clock, f.Bindings, environmentsOf(f)
	o.Arg = args[0]
	return nil
}

// Validate checks -o.
func (o *BindingsOptions) Validate() error { return o.out.Validate() }

// Run prints the bindings, without their kubeconfigs.
func (o *BindingsOptions) Run(ctx context.Context) error {
	env, err := o.envs.resolve(ctx, o.Arg)
	if err != nil {
		return err
	}
	svc, err := o.Bindings()
	if err != nil {
		return err
	}
	bs, err := svc.List(ctx, env.ID)
	if err != nil {
		return fmt.Errorf("list the bindings of %q: %w", env.Name, err)
	}
	l, err := listing.Bindings(o.Clock.Now(), bs)
	if err != nil {
		return err
	}
	return o.out.Print(o.IO.Out, o.IO.ErrOut, l)
}

// UnbindOptions revokes a binding.
type UnbindOptions struct {
	IO       genericiooptions.IOStreams
	Profile  func() (*config.Profile, error)
	CacheDir func() (string, error)
	Bindings func() (binding.Service, error)
	envs     environments

	Arg       string
	BindingID string
}

// NewCmdUnbind builds `kubectl kyma unbind NAME|ID BINDING_ID`; runF, when set,
// replaces Run (tests).
func NewCmdUnbind(f *Factory, runF func(*UnbindOptions) error) *cobra.Command {
	o := &UnbindOptions{}
	return &cobra.Command{
		Use:               "unbind NAME|ID BINDING_ID",
		Short:             "Revoke a binding: its token is refused from then on",
		Args:              exactArgs("NAME|ID", "BINDING_ID"),
		ValidArgsFunction: completeEnvironments(f),
		RunE:              runE(f, o, runF),
	}
}

// Complete takes the streams, the profile's services and cache, and the arguments.
func (o *UnbindOptions) Complete(f *Factory, args []string) error {
	o.IO, o.Profile, o.CacheDir, o.Bindings, o.envs = f.IOStreams, f.Profile, f.CacheDir, f.Bindings, environmentsOf(f)
	o.Arg, o.BindingID = args[0], args[1]
	return nil
}

// Validate has nothing to check that cobra did not: the two arguments are opaque.
func (o *UnbindOptions) Validate() error { return nil }

// Run deletes the binding and drops the cached credential that holds it.
func (o *UnbindOptions) Run(ctx context.Context) error {
	env, err := o.envs.resolve(ctx, o.Arg)
	if err != nil {
		return err
	}
	svc, err := o.Bindings()
	if err != nil {
		return err
	}
	if err := svc.Delete(ctx, env.ID, o.BindingID); err != nil {
		if errors.Is(err, binding.ErrNotFound) {
			return fmt.Errorf("environment %q has no binding %s", env.Name, o.BindingID)
		}
		return fmt.Errorf("unbind %s: %w", o.BindingID, err)
	}
	o.forgetCached(env.ID)
	fmt.Fprintf(o.IO.Out, "binding/%s deleted\n", o.BindingID)
	return nil
}

// forgetCached drops this machine's cached credential if it holds the revoked binding,
// so the next kubectl call makes a new binding at once rather than after a 401.
func (o *UnbindOptions) forgetCached(envID string) {
	p, err := o.Profile()
	if err != nil {
		return
	}
	dir, err := o.CacheDir()
	if err != nil {
		return
	}
	cache := credential.Cache{Dir: dir}
	key := credential.Key{Profile: p.Name, Environment: envID}
	if e := cache.Load(key); e != nil && e.BindingID == o.BindingID {
		_ = cache.Remove(key)
	}
}
