package plugin

import (
	"context"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
	"github.com/kubectl-kyma/kubectl-kyma/internal/mint"
	"github.com/kubectl-kyma/kubectl-kyma/internal/probe"
	"github.com/kubectl-kyma/kubectl-kyma/internal/sibling"
)

// CredentialOptions is the exec credential plugin's slow path: kubectl-kyma answers
// cache hits itself and hands misses here (see package launcher).
type CredentialOptions struct {
	IO    genericiooptions.IOStreams
	Clock clock.Clock
	// Profile and CacheDir are the factory's, resolved only when a binding's token
	// is asked for (an OIDC token needs no profile).
	Profile  func() (*config.Profile, error)
	CacheDir func() (string, error)
	// Minter makes the environment's bindings.
	Minter credential.Minter
	// ExecInfo is KUBERNETES_EXEC_INFO, as kubectl passed it.
	ExecInfo string
	// Verbosity is -v, passed on to the background refresh.
	Verbosity int

	// Args are the exec stanza's arguments; Args.Profile is --profile as given.
	Args       credential.Args
	Expiration expirationFlag
	// Background is the detached refresh that a cache hit started, under the
	// entry's lock (see credential.Cache.BackgroundLock).
	Background bool
	// LockFD is the entry's lock, already held, that the launcher hands over on a miss.
	LockFD int
	// LockHeld says the launcher, this process's parent, holds the entry's lock for it
	// until it ends (on Windows, where a lock cannot be handed over).
	LockHeld bool
	// Caller is the calling kubectl's identity as the launcher saw it, set on Windows,
	// where this process is the launcher's child rather than the launcher itself; nil
	// means this process's parent is the caller.
	Caller *string

	callerFlag optionalString
}

// NewCmdCredential builds `kubectl kyma credential`, which kubectl runs through the
// exec stanza that `kubectl kyma kubeconfig` writes; runF, when set, replaces Run
// (tests).
func NewCmdCredential(f *Factory, runF func(*CredentialOptions) error) *cobra.Command {
	o := &CredentialOptions{}
	cmd := &cobra.Command{
		Use:   "credential --environment ID",
		Short: "Print an ExecCredential for kubectl (run by kubectl through a kubeconfig's exec stanza)",
		Long: `Print a client.authentication.k8s.io ExecCredential with a binding token of the environment.

kubectl runs this command through the exec stanza that 'kubectl kyma kubeconfig' writes.
The token comes from a cache; a new binding is made when the cached one is within the
refresh margin of its expiry, or when the cluster refused it.`,
		Args: cobra.NoArgs,
		RunE: runE(f, o, runF),
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Args.Environment, credential.FlagEnvironment, "", "the environment (instance) id")
	fl.DurationVar(&o.Args.Margin, credential.FlagMargin, 0, "stop handing out a token this long before it expires, at most half its lifetime (default: the larger of 1m and a tenth of its lifetime)")
	fl.Float64Var(&o.Args.Ahead, credential.FlagAhead, 0, "share of a token's time until due after which a call starts a background refresh: 0.5 to 1 (default 0.8; 1 turns it off)")
	fl.BoolVar(&o.Background, "background-refresh", false, "run as the detached background refresh (set by the plugin itself)")
	_ = fl.MarkHidden("background-refresh")
	fl.IntVar(&o.LockFD, "lock-fd", 0, "the file descriptor of the entry's lock, held (set by kubectl-kyma itself)")
	_ = fl.MarkHidden("lock-fd")
	fl.BoolVar(&o.LockHeld, "lock-held", false, "the parent process holds the entry's lock for this one (set by kubectl-kyma itself on Windows)")
	_ = fl.MarkHidden("lock-held")
	fl.Var(&o.callerFlag, "caller", "the calling kubectl's identity (set by kubectl-kyma itself on Windows)")
	_ = fl.MarkHidden("caller")
	fl.StringVar(&o.Args.OIDC.Source, credential.FlagOIDC, "", "hand out the CI job's own ID token instead of a binding's: github, gitlab or file (see 'kubectl kyma oidc')")
	fl.StringVar(&o.Args.OIDC.Audience, credential.FlagAudience, "", "with --oidc: the audience to ask for; only the server the kubeconfig calls (the default) is accepted")
	fl.StringVar(&o.Args.OIDC.TokenEnv, credential.FlagTokenEnv, "", "with --oidc gitlab: the variable that holds the token (default "+credential.DefaultGitLabTokenEnv+")")
	fl.StringVar(&o.Args.OIDC.TokenFile, credential.FlagTokenFile, "", "with --oidc file: the file that holds the token")
	fl.Var(&o.Expiration, credential.FlagExpiration, "lifetime of the bindings it makes: seconds (600 to 7200) or a duration (10m to 2h); default the service's, 600")
	return cmd
}

// Complete takes the streams, the clock, kubectl's KUBERNETES_EXEC_INFO and the
// profile's services, and completes Args with --profile (a root flag).
func (o *CredentialOptions) Complete(f *Factory, _ []string) error {
	o.IO, o.Clock, o.Profile, o.CacheDir, o.Verbosity = f.IOStreams, f.Clock, f.Profile, f.CacheDir, f.verbosity
	o.ExecInfo = os.Getenv("KUBERNETES_EXEC_INFO")
	o.Args.Profile, o.Args.Expiration = f.profileFlag, o.Expiration.d
	if o.callerFlag.set {
		o.Caller = &o.callerFlag.value
	}
	o.Minter = newMinter(f, o.Args.Environment, o.Expiration.d, madeByCredential)
	return nil
}

// Validate checks the arguments before the cache or any service is asked.
func (o *CredentialOptions) Validate() error { return o.Args.Validate() }

// Run prints the ExecCredential, making a binding when the cache cannot answer.
func (o *CredentialOptions) Run(ctx context.Context) error {
	if o.Args.OIDC.Source != "" {
		return o.runOIDC(ctx)
	}
	in, err := o.Args.Input(o.ExecInfo)
	if err != nil {
		return err
	}
	p, err := o.Profile()
	if err != nil {
		return err
	}
	dir, err := o.CacheDir()
	if err != nil {
		return err
	}
	r := &credential.Refresher{Cache: credential.Cache{Dir: dir}, Minter: o.Minter, Probe: probe.Token}
	in.Key.Profile = p.Name
	in.Caller, in.Clock, in.Stderr = o.caller(), o.Clock, o.IO.ErrOut
	in.Spawn = func(lock *os.File) error { return sibling.SpawnRefresh(o.refreshArgs(), lock) }
	if o.Background {
		lock := r.Cache.BackgroundLock(ctx, in.Key)
		if lock == nil {
			return nil // another process is refreshing the entry
		}
		return r.Background(ctx, in, lock)
	}
	if o.LockFD > 0 {
		return r.DoHolding(ctx, in, o.IO.Out, os.NewFile(uintptr(o.LockFD), "lock"))
	}
	if o.LockHeld {
		return r.DoHolding(ctx, in, o.IO.Out, nil)
	}
	return r.Do(ctx, in, o.IO.Out)
}

// refreshArgs are the arguments of the background refresh this run starts: its own,
// and -v as given, for the refresh's own requests.
func (o *CredentialOptions) refreshArgs() []string {
	args := o.Args.Render()
	if o.Verbosity != 0 {
		args = append(args, "--v="+strconv.Itoa(o.Verbosity))
	}
	return args
}

// optionalString is a string flag that tells "not given" from "given empty".
type optionalString struct {
	value string
	set   bool
}

func (s *optionalString) String() string { return s.value }
func (s *optionalString) Set(v string) error {
	s.value, s.set = v, true
	return nil
}
func (s *optionalString) Type() string { return "string" }

// caller is the identity of the kubectl process that ran the plugin.
func (o *CredentialOptions) caller() string {
	if o.Caller != nil {
		return *o.Caller
	}
	return credential.Caller()
}

// newMinter makes the environment's bindings for the credential cache (package mint),
// noting each in the made record as kind's, and explaining a refusal at the limit.
func newMinter(f *Factory, envID string, expiration time.Duration, kind string) *mint.Minter {
	m := &mint.Minter{
		Bindings: f.Bindings, Env: envID, Expiration: expiration, Clock: f.Clock,
		Record: func(id string) { recordMade(f, envID, id, kind) },
		Explain: func(ctx context.Context, svc binding.Service, err error) error {
			return explainLimit(ctx, f, svc, target{ID: envID, Name: envID}, err)
		},
	}
	if f.verbosity > 0 {
		m.Log = f.IOStreams.ErrOut
	}
	return m
}
