package plugin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
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
	fl.StringVar(&o.Args.OIDC.Audience, credential.FlagAudience, "", "with --oidc: the audience the token is for (the trust's)")
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
	o.Minter = &minter{f: f, env: o.Args.Environment, expiration: o.Expiration.d, kind: madeByCredential}
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

// minter makes bindings for the credential helper (and `kubeconfig`) through the
// profile's service. Each binding is written to the made-bindings ledger as soon as the
// service names it, before it is stored or handed out, so `kubectl kyma gc` and the
// limit error know it even if this process dies next.
type minter struct {
	f          *Factory
	env        string
	expiration time.Duration
	kind       string
}

func (m *minter) Mint(ctx context.Context) (*credential.Entry, error) {
	svc, err := m.f.Bindings()
	if err != nil {
		return nil, err
	}
	b, err := svc.Create(ctx, m.env, m.expiration)
	if err != nil {
		var made *binding.MadeError
		if errors.As(err, &made) {
			recordMade(m.f, m.env, made.ID, m.kind)
			return nil, m.discard(ctx, svc, made.ID, err)
		}
		return nil, explainLimit(ctx, m.f, svc, target{ID: m.env, Name: m.env}, err)
	}
	recordMade(m.f, m.env, b.ID, m.kind)
	if b.ClockNote != "" && m.f.verbosity > 0 {
		fmt.Fprintf(m.f.IOStreams.ErrOut, "kubectl-kyma: binding %s: %s\n", b.ID, b.ClockNote)
	}
	e, err := entryOf(b, m.f.Clock.Now(), m.expiration)
	if err != nil {
		return nil, m.discard(ctx, svc, b.ID, err)
	}
	return e, nil
}

// discard deletes a binding that was made but cannot be used, within revokeBudget; the
// ledger already names it, so `kubectl kyma gc` finds it if the deletion fails too.
func (m *minter) discard(ctx context.Context, svc binding.Service, id string, cause error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeBudget)
	defer cancel()
	if err := svc.Delete(ctx, m.env, id); err != nil && !errors.Is(err, binding.ErrNotFound) && !errors.Is(err, binding.ErrExpired) {
		life := m.expiration
		if life == 0 {
			life = binding.DefaultExpiration
		}
		return &credential.LostBinding{
			Err:       fmt.Errorf("%w; deleting binding %s failed too (%v): 'kubectl kyma gc' deletes it later", cause, id, err),
			Undeleted: m.f.Clock.Now().Add(life + time.Minute),
		}
	}
	return &credential.LostBinding{Err: fmt.Errorf("%w; binding %s was deleted again", cause, id)}
}

// revokeBudget bounds the deletion of a binding made and not used.
const revokeBudget = 10 * time.Second

// Revoke deletes a binding; one already gone is no error.
func (m *minter) Revoke(ctx context.Context, bindingID string) error {
	svc, err := m.f.Bindings()
	if err != nil {
		return err
	}
	if err := svc.Delete(ctx, m.env, bindingID); err != nil && !errors.Is(err, binding.ErrNotFound) && !errors.Is(err, binding.ErrExpired) {
		return err
	}
	return nil
}

// entryOf turns a binding into a cache entry: the token, server and CA of its
// kubeconfig, and its expiry (from the service, else the token's own exp claim, else
// the lifetime asked for).
func entryOf(b *binding.Binding, now time.Time, expiration time.Duration) (*credential.Entry, error) {
	kc, err := binding.ParseKubeconfig(b.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("binding %s: %w", b.ID, err)
	}
	exp, note := b.ExpiresAt, b.ClockNote
	if exp.IsZero() {
		// The token's own exp claim, on the cluster's clock: bounded like the service's.
		jwtExp, _ := binding.JWTExpiry(kc.Token)
		exp, note = binding.LocalExpiry(jwtExp, "", now, expiration)
	}
	if exp.IsZero() {
		if expiration == 0 {
			expiration = binding.DefaultExpiration
		}
		exp = now.Add(expiration)
	}
	return &credential.Entry{
		ClockNote:     note,
		Environment:   b.EnvironmentID,
		BindingID:     b.ID,
		Token:         kc.Token,
		IssuedAt:      now,
		ExpiresAt:     exp,
		Server:        kc.Server,
		CAData:        kc.CAData,
		TLSServerName: kc.TLSServerName,
	}, nil
}
