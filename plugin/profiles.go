package plugin

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
)

// NewCmdProfiles lists the stored profiles and marks the current one.
func NewCmdProfiles(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "profiles",
		Short: "List the stored profiles; * marks the current one",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := f.ConfigStore().Load()
			if err != nil {
				return err
			}
			if len(cfg.Profiles) == 0 {
				fmt.Fprintln(f.IOStreams.ErrOut, "No profiles: run 'kubectl kyma login --service-key FILE'.")
				return nil
			}
			w := tabwriter.NewWriter(f.IOStreams.Out, 0, 8, 3, ' ', 0)
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
		},
	}
}

// NewCmdLogout forgets a profile's cached tokens, and with --revoke the bindings this
// machine made for it.
func NewCmdLogout(f *Factory) *cobra.Command {
	var revoke, forget bool
	cmd := &cobra.Command{
		Use:   "logout",
		Short: "Forget the profile's cached tokens (--revoke: also delete the bindings this machine made)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f.legacyNames = true // a stored profile whose name is no longer valid can be removed
			p, err := f.Profile()
			if err != nil {
				return err
			}
			dir, err := f.CacheDir()
			if err != nil {
				return err
			}
			var errs []error
			if revoke {
				errs = append(errs, revokeCached(cmd.Context(), f, p.Name, dir))
			}
			errs = append(errs, forgetTokens(dir, p.Name))
			if forget {
				store := f.ConfigStore()
				cfg, err := store.Load()
				if err == nil {
					delete(cfg.Profiles, p.Name)
					if cfg.Current == p.Name {
						cfg.Current = ""
					}
					err = store.Save(cfg)
				}
				errs = append(errs, err)
			}
			if err := errors.Join(errs...); err != nil {
				return fmt.Errorf("log out of profile %q: %w", p.Name, err)
			}
			fmt.Fprintf(f.IOStreams.Out, "Logged out of profile %q.\n", p.Name)
			return nil
		},
	}
	cmd.Flags().BoolVar(&revoke, "revoke", false, "also delete the bindings this machine made for the profile's cached credentials")
	cmd.Flags().BoolVar(&forget, "forget", false, "also delete the profile itself")
	return cmd
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
