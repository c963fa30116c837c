package plugin

import (
	"context"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
	"github.com/kubectl-kyma/kubectl-kyma/internal/credstatus"
	"github.com/kubectl-kyma/kubectl-kyma/internal/printers"
	"github.com/kubectl-kyma/kubectl-kyma/internal/provisioning"
)

// StatusOptions shows what the credential cache holds.
type StatusOptions struct {
	IO    genericiooptions.IOStreams
	Clock clock.Clock
	// ProfileName is the profile --profile or KUBECTL_KYMA_PROFILE names, if any.
	ProfileName  func() (string, error)
	Profile      func() (*config.Profile, error)
	CacheDir     func() (string, error)
	Provisioning func() (*provisioning.Client, error)
	Bindings     func() (binding.Service, error)

	CachedOnly bool
	out        printers.Flags
}

// NewCmdStatus builds `kubectl kyma status`; runF, when set, replaces Run (tests).
func NewCmdStatus(f *Factory, runF func(*StatusOptions) error) *cobra.Command {
	o := &StatusOptions{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the cached credentials: binding, time left, refresh in flight, live bindings",
		Long: `Show each credential the profile has cached on this machine: the environment, the
binding whose token kubectl gets, when it expires, whether a refresh is in flight (and
which process makes it), the last background refresh's error, and the environment's
live bindings against the limit of 10.

--cached-only reads just the cache: no network call, fast enough for a shell prompt.`,
		Example: `  kubectl kyma status
  kubectl kyma status -o json
  kubectl kyma status --cached-only -o jsonpath='{.items[*].timeLeftSeconds}'`,
		Args: cobra.NoArgs,
		RunE: runE(f, o, runF),
	}
	cmd.Flags().BoolVar(&o.CachedOnly, "cached-only", false, "read only the local cache: no network call")
	o.out.AddFlags(cmd)
	return cmd
}

// Complete takes the streams, the clock, the profile's name, services and cache.
func (o *StatusOptions) Complete(f *Factory, _ []string) error {
	o.IO, o.Clock, o.ProfileName = f.IOStreams, f.Clock, f.ProfileName
	o.Profile, o.CacheDir, o.Provisioning, o.Bindings = f.Profile, f.CacheDir, f.Provisioning, f.Bindings
	return nil
}

// Validate checks -o.
func (o *StatusOptions) Validate() error { return o.out.Validate() }

// Run prints the status of every cached credential of the profile.
func (o *StatusOptions) Run(ctx context.Context) error {
	p, err := o.profile()
	if err != nil {
		return err
	}
	dir, err := o.CacheDir()
	if err != nil {
		return err
	}
	cache := credential.Cache{Dir: dir}
	now := o.Clock.Now()
	rows := credstatus.Cached(cache, p.Name, now)
	if !o.CachedOnly && len(rows) > 0 {
		o.addLive(ctx, p, dir, rows)
	}
	return o.print(rows, now)
}

// profile is the profile to show. With --cached-only only its name is needed, so a
// profile named by --profile or KUBECTL_KYMA_PROFILE is not even loaded.
func (o *StatusOptions) profile() (*config.Profile, error) {
	name, err := o.ProfileName()
	if err != nil {
		return nil, err
	}
	if o.CachedOnly && name != "" {
		return &config.Profile{Name: name}, nil
	}
	return o.Profile()
}

// addLive fills in each environment's live bindings at the service, with the
// environments' names where the profile can list them.
func (o *StatusOptions) addLive(ctx context.Context, p *config.Profile, dir string, rows []credstatus.Row) {
	names := environmentNames(ctx, p, o.Provisioning)
	svc, svcErr := o.Bindings()
	credstatus.AddLive(ctx, rows, credstatus.Live{Profile: p.Name, CacheDir: dir, Names: names, Bindings: svc, BindingsErr: svcErr})
}

// print shows the rows; times are in now's zone: the local one, as time.Now gives it.
func (o *StatusOptions) print(rows []credstatus.Row, now time.Time) error {
	l, err := credstatus.Listing(rows, now, o.CachedOnly)
	if err != nil {
		return err
	}
	return o.out.Print(o.IO.Out, o.IO.ErrOut, l)
}
