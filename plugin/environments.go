package plugin

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
	"github.com/kubectl-kyma/kubectl-kyma/internal/listing"
	"github.com/kubectl-kyma/kubectl-kyma/internal/printers"
	"github.com/kubectl-kyma/kubectl-kyma/internal/provisioning"
)

// target is the environment a command acts on.
type target struct {
	ID   string
	Name string
}

// environments finds the environment a command names, through the profile's services.
type environments struct {
	profile      func() (*config.Profile, error)
	provisioning func() (*provisioning.Client, error)
}

// environmentsOf takes the factory's profile and Provisioning Service client, lazily.
func environmentsOf(f *Factory) environments {
	return environments{profile: f.Profile, provisioning: f.Provisioning}
}

// resolve finds the Kyma environment that arg names, by id or by name. A broker
// profile has no environment list: there arg is the instance id.
func (es environments) resolve(ctx context.Context, arg string) (target, error) {
	p, err := es.profile()
	if err != nil {
		return target{}, err
	}
	if p.Kind == config.KindBroker {
		return target{ID: arg, Name: arg}, nil
	}
	env, err := es.find(ctx, arg)
	if err != nil {
		return target{}, err
	}
	return target{ID: env.ID, Name: env.DisplayName()}, nil
}

// find looks arg up among the subaccount's Kyma environments: an id matches first,
// then a name, which must be unique.
func (es environments) find(ctx context.Context, arg string) (*provisioning.Environment, error) {
	c, err := es.provisioning()
	if err != nil {
		return nil, err
	}
	envs, err := c.ListEnvironments(ctx)
	if err != nil {
		return nil, fmt.Errorf("list environments: %w", err)
	}
	return provisioning.FindKyma(envs, arg)
}

// ListOptions lists the subaccount's Kyma environments.
type ListOptions struct {
	IO           genericiooptions.IOStreams
	Clock        clock.Clock
	Provisioning func() (*provisioning.Client, error)

	out printers.Flags
}

// NewCmdList builds `kubectl kyma list`; runF, when set, replaces Run (tests).
func NewCmdList(f *Factory, runF func(*ListOptions) error) *cobra.Command {
	o := &ListOptions{}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the subaccount's Kyma environments",
		Args:    cobra.NoArgs,
		RunE:    runE(f, o, runF),
	}
	o.out.AddFlags(cmd)
	return cmd
}

// Complete takes the streams, the clock and the Provisioning Service client.
func (o *ListOptions) Complete(f *Factory, _ []string) error {
	o.IO, o.Clock, o.Provisioning = f.IOStreams, f.Clock, f.Provisioning
	return nil
}

// Validate checks -o.
func (o *ListOptions) Validate() error { return o.out.Validate() }

// Run prints the environments.
func (o *ListOptions) Run(ctx context.Context) error {
	c, err := o.Provisioning()
	if err != nil {
		return err
	}
	envs, err := c.ListEnvironments(ctx)
	if err != nil {
		return fmt.Errorf("list environments: %w", err)
	}
	envs = slices.DeleteFunc(envs, func(e provisioning.Environment) bool {
		return !e.IsKyma()
	})
	l, err := listing.Environments(o.Clock.Now(), envs, false)
	if err != nil {
		return err
	}
	return o.out.Print(o.IO.Out, o.IO.ErrOut, l)
}

// GetOptions shows one Kyma environment.
type GetOptions struct {
	IO    genericiooptions.IOStreams
	Clock clock.Clock
	envs  environments

	Arg string
	out printers.Flags
}

// NewCmdGet builds `kubectl kyma get NAME|ID`; runF, when set, replaces Run (tests).
func NewCmdGet(f *Factory, runF func(*GetOptions) error) *cobra.Command {
	o := &GetOptions{}
	cmd := &cobra.Command{
		Use:               "get NAME|ID",
		Short:             "Show one Kyma environment",
		Args:              exactArgs("NAME|ID"),
		ValidArgsFunction: completeEnvironments(f),
		RunE:              runE(f, o, runF),
	}
	o.out.AddFlags(cmd)
	return cmd
}

// Complete takes the streams, the clock and the environment finder, and the argument.
func (o *GetOptions) Complete(f *Factory, args []string) error {
	o.IO, o.Clock, o.envs = f.IOStreams, f.Clock, environmentsOf(f)
	o.Arg = args[0]
	return nil
}

// Validate checks -o.
func (o *GetOptions) Validate() error { return o.out.Validate() }

// Run prints the environment.
func (o *GetOptions) Run(ctx context.Context) error {
	e, err := o.envs.find(ctx, o.Arg)
	if err != nil {
		return err
	}
	l, err := listing.Environments(o.Clock.Now(), []provisioning.Environment{*e}, true)
	if err != nil {
		return err
	}
	return o.out.Print(o.IO.Out, o.IO.ErrOut, l)
}

// AvailableOptions lists the Kyma plans the subaccount is entitled to.
type AvailableOptions struct {
	IO           genericiooptions.IOStreams
	Provisioning func() (*provisioning.Client, error)

	out printers.Flags
}

// NewCmdAvailable builds `kubectl kyma available`; runF, when set, replaces Run (tests).
func NewCmdAvailable(f *Factory, runF func(*AvailableOptions) error) *cobra.Command {
	o := &AvailableOptions{}
	cmd := &cobra.Command{
		Use:   "available",
		Short: "List the Kyma plans the subaccount is entitled to, with their regions",
		Args:  cobra.NoArgs,
		RunE:  runE(f, o, runF),
	}
	o.out.AddFlags(cmd)
	return cmd
}

// Complete takes the streams and the Provisioning Service client.
func (o *AvailableOptions) Complete(f *Factory, _ []string) error {
	o.IO, o.Provisioning = f.IOStreams, f.Provisioning
	return nil
}

// Validate checks -o.
func (o *AvailableOptions) Validate() error { return o.out.Validate() }

// Run prints the plans with their regions.
func (o *AvailableOptions) Run(ctx context.Context) error {
	c, err := o.Provisioning()
	if err != nil {
		return err
	}
	avail, err := c.AvailableEnvironments(ctx)
	if err != nil {
		return fmt.Errorf("list available environments: %w", err)
	}
	l, err := listing.Available(avail)
	if err != nil {
		return err
	}
	return o.out.Print(o.IO.Out, o.IO.ErrOut, l)
}

// exactArgs is cobra.ExactArgs with a sentence that names the missing argument.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != len(names) {
			return fmt.Errorf("%s takes %s, got %d arguments", cmd.CommandPath(), strings.Join(names, " "), len(args))
		}
		return nil
	}
}

// completeEnvironments completes environment names from the service.
func completeEnvironments(f *Factory) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		c, err := f.Provisioning()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		envs, err := c.ListEnvironments(cmd.Context())
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []string
		for _, e := range envs {
			if !e.IsKyma() {
				continue
			}
			if n := e.DisplayName(); strings.HasPrefix(n, toComplete) {
				names = append(names, n+"\t"+e.State)
			}
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}
