package plugin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
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
	var errs []error
	if o.Revoke {
		errs = append(errs, o.revokeCached(ctx, p.Name, dir))
	}
	errs = append(errs, forgetTokens(dir, p.Name))
	if o.Forget {
		cfg, err := o.Store.Load()
		if err == nil {
			delete(cfg.Profiles, p.Name)
			if cfg.Current == p.Name {
				cfg.Current = ""
			}
			err = o.Store.Save(cfg)
		}
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("log out of profile %q: %w", p.Name, err)
	}
	fmt.Fprintf(o.IO.Out, "Logged out of profile %q.\n", p.Name)
	return nil
}

// revokeCached deletes the bindings behind a profile's cached credentials.
func (o *LogoutOptions) revokeCached(ctx context.Context, profile, dir string) error {
	svc, err := o.Bindings()
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range (credential.Cache{Dir: dir}).Entries(profile) {
		if err := svc.Delete(ctx, e.Environment, e.BindingID); err != nil && !errors.Is(err, binding.ErrNotFound) && !errors.Is(err, binding.ErrExpired) {
			errs = append(errs, fmt.Errorf("delete binding %s: %w", e.BindingID, err))
		}
	}
	return errors.Join(errs...)
}

// forgetTokens removes a profile's cached OAuth token and binding credentials. Earlier
// versions named the token file after the raw profile name: for a name that is one
// plain path element (such as "ci@team") that file goes too; a name that could climb
// out of the folder ("../x") never reaches a path unescaped.
func forgetTokens(dir, profile string) error {
	files := []string{credential.ProfilePath(dir, "tokens", profile) + ".json"}
	if profile != "." && profile != ".." && !strings.ContainsAny(profile, `/\`) && filepath.Base(profile) == profile {
		files = append(files, filepath.Join(dir, "tokens", profile+".json"))
	}
	var errs []error
	for _, f := range files {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(credential.ProfilePath(dir, "credentials", profile)); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
