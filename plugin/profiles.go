package plugin

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
	"github.com/kubectl-kyma/kubectl-kyma/internal/logout"
)

// ProfilesOptions lists the stored profiles and marks the current one.
type ProfilesOptions struct {
	IO    genericiooptions.IOStreams
	Store config.Store
}

// NewCmdProfiles builds `kubectl kyma profiles`; runF, when set, replaces Run (tests).
func NewCmdProfiles(f *Factory, runF func(*ProfilesOptions) error) *cobra.Command {
	o := &ProfilesOptions{}
	return &cobra.Command{
		Use:   "profiles",
		Short: "List the stored profiles; * marks the current one",
		Args:  cobra.NoArgs,
		RunE:  runE(f, o, runF),
	}
}

// Complete takes the streams and the profile store.
func (o *ProfilesOptions) Complete(f *Factory, _ []string) error {
	o.IO, o.Store = f.IOStreams, f.ConfigStore()
	return nil
}

// Validate has nothing to check: the command takes no flags of its own.
func (o *ProfilesOptions) Validate() error { return nil }

// Run prints a table of the profiles.
func (o *ProfilesOptions) Run(context.Context) error {
	cfg, err := o.Store.Load()
	if err != nil {
		return err
	}
	if len(cfg.Profiles) == 0 {
		fmt.Fprintln(o.IO.ErrOut, "No profiles: run 'kubectl kyma login --service-key FILE'.")
		return nil
	}
	w := tabwriter.NewWriter(o.IO.Out, 0, 8, 3, ' ', 0)
	fmt.Fprintln(w, "CURRENT\tNAME\tKIND\tENDPOINT")
	for _, n := range cfg.Names() {
		p := cfg.Profiles[n]
		mark := ""
		if n == cfg.Current {
			mark = "*"
		}
		endpoint := p.ProvisioningURL
		if p.Kind == config.KindBroker {
			endpoint = p.BrokerURL
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", mark, n, p.Kind, endpoint)
	}
	return w.Flush()
}

// LogoutOptions forgets a profile's cached tokens, and with --revoke the bindings this
// machine made for it.
type LogoutOptions struct {
	IO       genericiooptions.IOStreams
	Store    config.Store
	Profile  func() (*config.Profile, error)
	CacheDir func() (string, error)
	Bindings func() (binding.Service, error)

	Revoke bool
	Forget bool
}

// NewCmdLogout builds `kubectl kyma logout`; runF, when set, replaces Run (tests).
func NewCmdLogout(f *Factory, runF func(*LogoutOptions) error) *cobra.Command {
	o := &LogoutOptions{}
	cmd := &cobra.Command{
		Use:   "logout",
		Short: "Forget the profile's cached tokens (--revoke: also delete the bindings this machine made)",
		Args:  cobra.NoArgs,
		RunE:  runE(f, o, runF),
	}
	cmd.Flags().BoolVar(&o.Revoke, "revoke", false, "also delete the bindings this machine made for the profile's cached credentials")
	cmd.Flags().BoolVar(&o.Forget, "forget", false, "also delete the profile itself")
	return cmd
}

// Complete takes the streams, the store and the profile's services. A stored profile
// whose name is no longer valid resolves here, so that it can be removed.
func (o *LogoutOptions) Complete(f *Factory, _ []string) error {
	f.legacyNames = true
	o.IO, o.Store = f.IOStreams, f.ConfigStore()
	o.Profile, o.CacheDir, o.Bindings = f.Profile, f.CacheDir, f.Bindings
	return nil
}

// Validate has nothing to check: the flags are two booleans that go together.
func (o *LogoutOptions) Validate() error { return nil }

// Run removes the cached tokens and credentials, and what --revoke and --forget add.
func (o *LogoutOptions) Run(ctx context.Context) error {
	p, err := o.Profile()
	if err != nil {
		return err
	}
	dir, err := o.CacheDir()
	if err != nil {
		return err
	}
	err = logout.Do(ctx, logout.Input{Profile: p.Name, CacheDir: dir, Revoke: o.Revoke, Bindings: o.Bindings, Forget: o.Forget, Store: o.Store})
	if err != nil {
		return fmt.Errorf("log out of profile %q: %w", p.Name, err)
	}
	fmt.Fprintf(o.IO.Out, "Logged out of profile %q.\n", p.Name)
	return nil
}
