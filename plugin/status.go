package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/broker"
	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
	"github.com/kubectl-kyma/kubectl-kyma/internal/ledger"
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

// credentialStatus is one row of `kubectl kyma status`, and its -o json form.
type credentialStatus struct {
	Profile         string    `json:"profile"`
	Environment     string    `json:"environment"`
	EnvironmentName string    `json:"environmentName,omitempty"`
	BindingID       string    `json:"bindingId"`
	IssuedAt        time.Time `json:"issuedAt,omitzero"`
	ExpiresAt       time.Time `json:"expiresAt"`
	// TimeLeft is until the binding expires, in whole seconds; negative once expired.
	TimeLeft   int64 `json:"timeLeftSeconds"`
	Superseded int   `json:"supersededBindings"`

	// ClockNote says why the expiry is not what the service said (a skewed Date
	// header ignored, a lifetime out of bounds).
	ClockNote string `json:"clockNote,omitempty"`

	RefreshInFlight bool          `json:"refreshInFlight"`
	RefreshPID      int           `json:"refreshPid,omitempty"`
	LastError       *refreshError `json:"lastRefreshError,omitempty"`

	// Live bindings of the environment at the service: not with --cached-only.
	LiveBindings *int   `json:"liveBindings,omitempty"`
	BindingLimit int    `json:"bindingLimit,omitempty"`
	MadeHere     *int   `json:"liveBindingsMadeHere,omitempty"`
	LiveError    string `json:"liveBindingsError,omitempty"`
}

type refreshError struct {
	Time  time.Time `json:"time"`
	Error string    `json:"error"`
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
	entries := cache.Entries(p.Name)
	slices.SortFunc(entries, func(a, b *credential.Entry) int { return strings.Compare(a.Environment, b.Environment) })
	rows := make([]credentialStatus, 0, len(entries))
	for _, e := range entries {
		s := credentialStatus{
			Profile:     p.Name,
			Environment: e.Environment,
			BindingID:   e.BindingID,
			IssuedAt:    e.IssuedAt,
			ExpiresAt:   e.ExpiresAt,
			TimeLeft:    int64(e.ExpiresAt.Sub(now) / time.Second),
			Superseded:  len(e.Superseded),
			ClockNote:   e.ClockNote,
		}
		r := cache.RefreshState(credential.Key{Profile: p.Name, Environment: e.Environment})
		s.RefreshInFlight, s.RefreshPID = r.InFlight, r.PID
		if r.LastError != "" {
			s.LastError = &refreshError{Time: r.LastErrorTime, Error: r.LastError}
		}
		rows = append(rows, s)
	}
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

// addLive fills in each environment's live bindings at the service.
func (o *StatusOptions) addLive(ctx context.Context, p *config.Profile, dir string, rows []credentialStatus) {
	names := map[string]string{}
	if p.Kind == config.KindCIS {
		if c, err := o.Provisioning(); err == nil {
			if envs, err := c.ListEnvironments(ctx); err == nil {
				for _, e := range envs {
					names[e.ID] = e.DisplayName()
				}
			}
		}
	}
	svc, svcErr := o.Bindings()
	for i := range rows {
		r := &rows[i]
		r.EnvironmentName = names[r.Environment]
		if svcErr != nil {
			r.LiveError = svcErr.Error()
			continue
		}
		live, err := svc.List(ctx, r.Environment)
		switch {
		case errors.Is(err, broker.ErrListNotSupported):
			r.LiveError = "a broker profile cannot list bindings"
		case err != nil:
			r.LiveError = err.Error()
		default:
			n, ours := len(live), 0
			made := ledger.Open(dir, p.Name, r.Environment).Read()
			for _, b := range live {
				if _, ok := made[b.ID]; ok {
					ours++
				}
			}
			r.LiveBindings, r.MadeHere, r.BindingLimit = &n, &ours, binding.MaxLive
		}
	}
}

// print shows the rows; times are in now's zone: the local one, as time.Now gives it.
func (o *StatusOptions) print(rows []credentialStatus, now time.Time) error {
	l := printers.Listing{
		Kind: "CachedCredential",
		Columns: []metav1.TableColumnDefinition{
			printers.Column("PROFILE", false), printers.Column("ENVIRONMENT", false), printers.Column("BINDING", false),
			printers.Column("EXPIRES", false), printers.Column("TIME LEFT", false), printers.Column("REFRESH", false),
			printers.Column("LAST ERROR", false),
		},
	}
	if !o.CachedOnly {
		l.Columns = append(l.Columns, printers.Column("LIVE BINDINGS", false))
	}
	l.Columns = append(l.Columns, printers.Column("SUPERSEDED", true), printers.Column("ISSUED", true))
	for _, r := range rows {
		raw, err := json.Marshal(r)
		if err != nil {
			return err
		}
		l.Items = append(l.Items, raw)
		l.Names = append(l.Names, r.Profile+"/"+r.Environment)
		env := r.Environment
		if r.EnvironmentName != "" {
			env = r.EnvironmentName
		}
		refresh := "-"
		if r.RefreshInFlight {
			refresh = "in flight"
			if r.RefreshPID != 0 {
				refresh = fmt.Sprintf("in flight (pid %d)", r.RefreshPID)
			}
		}
		lastErr := "-"
		if r.LastError != nil {
			lastErr = fmt.Sprintf("%s ago: %s", printers.Age(now, r.LastError.Time), r.LastError.Error)
		}
		if r.ClockNote != "" {
			lastErr = "clock: " + r.ClockNote
			if r.LastError != nil {
				lastErr = fmt.Sprintf("%s ago: %s; clock: %s", printers.Age(now, r.LastError.Time), r.LastError.Error, r.ClockNote)
			}
		}
		row := []any{r.Profile, env, r.BindingID, r.ExpiresAt.In(now.Location()).Format(time.DateTime), timeLeft(r.ExpiresAt.Sub(now)), refresh, lastErr}
		if !o.CachedOnly {
			live := r.LiveError
			if r.LiveBindings != nil {
				live = fmt.Sprintf("%d/%d (%d made here)", *r.LiveBindings, r.BindingLimit, *r.MadeHere)
			}
			row = append(row, live)
		}
		row = append(row, r.Superseded, printers.Age(now, r.IssuedAt)+" ago")
		l.Rows = append(l.Rows, row)
	}
	return o.out.Print(o.IO.Out, o.IO.ErrOut, l)
}

// timeLeft is a duration until expiry, as kubectl prints ages, or "expired".
func timeLeft(d time.Duration) string {
	if d <= 0 {
		return "expired"
	}
	return duration.HumanDuration(d)
}
