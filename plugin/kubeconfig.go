package plugin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
	"github.com/kubectl-kyma/kubectl-kyma/internal/kubeconfig"
	"github.com/kubectl-kyma/kubectl-kyma/internal/mint"
)

// execCommand is what the kubeconfig runs: the name on PATH, where Krew links it. Never
// `kubectl` (a whole kubectl start-up before each call) and never an absolute path into
// Krew's store (versioned: an upgrade deletes it).
const execCommand = "kubectl-kyma"

// KubeconfigOptions writes a kubeconfig whose user asks kubectl-kyma for tokens.
type KubeconfigOptions struct {
	IO       genericiooptions.IOStreams
	Clock    clock.Clock
	Profile  func() (*config.Profile, error)
	CacheDir func() (string, error)
	Bindings func() (binding.Service, error)
	envs     environments
	limit    madeHere
	// record notes a binding this machine made (see recordMade).
	record func(envID, bindingID, kind string)
	// minter makes the bindings of an environment's cached credential, as the
	// credential helper does.
	minter func(envID string) credential.Minter

	Arg         string
	Kubeconfig  string
	OutputFile  string
	ContextName string
	NoSwitch    bool
	Static      bool
	Expiration  expirationFlag
	Margin      time.Duration
	Ahead       float64
	// DryRun prints the change to the file as a diff and changes nothing: no cache
	// entry, and a binding made only to learn the cluster is deleted again.
	DryRun bool
	// OIDC, when its Source is set, writes the user of a CI job of an existing trust
	// (see 'kubectl kyma oidc') instead of a binding's.
	OIDC credential.OIDC
}

// NewCmdKubeconfig builds `kubectl kyma kubeconfig NAME|ID`; runF, when set, replaces
// Run (tests).
func NewCmdKubeconfig(f *Factory, runF func(*KubeconfigOptions) error) *cobra.Command {
	o := &KubeconfigOptions{}
	cmd := &cobra.Command{
		Use:   "kubeconfig NAME|ID",
		Short: "Add the environment to your kubeconfig, with a user that never holds a stale token",
		Long: `Add a cluster, user and context named kyma-NAME to the kubeconfig that --kubeconfig,
KUBECONFIG or ~/.kube/config names (as kubectl config does), and switch to it.

The user runs 'kubectl-kyma credential' through client-go's exec mechanism: no token is
written to the file, and kubectl always gets a token that is valid.`,
		Example: `  kubectl kyma kubeconfig my-kyma && kubectl get pods -A
  kubectl kyma kubeconfig my-kyma --output-file kyma.yaml
  kubectl kyma kubeconfig my-kyma --context-name prod --dry-run   # show the diff, write nothing
  kubectl kyma kubeconfig my-kyma --static --expiration 2h --output-file kyma.yaml  # a plain token, as 'bind'`,
		Args:              exactArgs("NAME|ID"),
		ValidArgsFunction: completeEnvironments(f),
		RunE:              runE(f, o, runF),
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Kubeconfig, "kubeconfig", "", "the kubeconfig to merge into (default: $KUBECONFIG, else ~/.kube/config)")
	fl.StringVar(&o.OutputFile, "output-file", "", "write a standalone kubeconfig to this file instead of merging")
	fl.StringVar(&o.ContextName, "context-name", "", "name of the cluster, user and context (default: kyma-NAME)")
	fl.BoolVar(&o.NoSwitch, "no-switch", false, "merge, but leave the current context as it is")
	fl.BoolVar(&o.Static, "static", false, "write the binding's own token instead of the exec credential (it stops working when the binding expires)")
	fl.Var(&o.Expiration, "expiration", "lifetime of the bindings: seconds (600 to 7200) or a duration (10m to 2h)")
	fl.Float64Var(&o.Ahead, "refresh-ahead", 0, "share of a token's time until due after which kubectl-kyma makes the next binding in the background: 0.5 to 1 (default 0.8; 1 turns it off)")
	fl.DurationVar(&o.Margin, "refresh-margin", 0, "make a new binding this long before the cached one expires, at most half its lifetime (default: the larger of 1m and a tenth of its lifetime)")
	fl.BoolVar(&o.DryRun, "dry-run", false, "print the change to the kubeconfig as a unified diff and change nothing")
	fl.StringVar(&o.OIDC.Source, credential.FlagOIDC, "", "write the user of a trusted CI job instead (see 'kubectl kyma oidc'): github, gitlab or file")
	fl.StringVar(&o.OIDC.TokenEnv, credential.FlagTokenEnv, "", "with --oidc gitlab: the variable that holds the job's token (default "+credential.DefaultGitLabTokenEnv+")")
	fl.StringVar(&o.OIDC.TokenFile, credential.FlagTokenFile, "", "with --oidc file: the file that holds the token")
	cmd.MarkFlagsMutuallyExclusive("kubeconfig", "output-file")
	return cmd
}

// Complete takes the streams, the clock, the profile's services and cache, and the
// argument.
func (o *KubeconfigOptions) Complete(f *Factory, args []string) error {
	o.IO, o.Clock, o.Profile, o.CacheDir, o.Bindings = f.IOStreams, f.Clock, f.Profile, f.CacheDir, f.Bindings
	o.envs, o.limit = environmentsOf(f), madeHereOf(f)
	o.record = func(envID, bindingID, kind string) { recordMade(f, envID, bindingID, kind) }
	o.minter = func(envID string) credential.Minter {
		return newMinter(f, envID, o.Expiration.d, madeByKubeconfig)
	}
	o.Arg = args[0]
	return nil
}

// Validate checks the flags before any network call.
func (o *KubeconfigOptions) Validate() error {
	if o.OIDC.Source != "" {
		if o.Static || o.Expiration.d != 0 || o.Margin != 0 || o.Ahead != 0 {
			return errors.New("--oidc writes a CI job's user, which makes no binding: drop --static, --expiration and --refresh-*")
		}
		return o.OIDC.Check()
	}
	if o.Margin < 0 {
		return errors.New("--refresh-margin must not be negative")
	}
	if err := credential.ValidAhead(o.Ahead); err != nil {
		return err
	}
	if o.Static && o.Margin != 0 {
		return errors.New("--refresh-margin goes with the exec credential, not --static")
	}
	return nil
}

// Run learns the cluster's server and CA from the environment's cached credential
// when it is fresh, or else from a new binding, made under the cache entry's lock and
// kept as the cached credential (so parallel runs make one), then writes the
// kubeconfig, or with --dry-run prints the change. --static and --dry-run make their
// own binding when they need one.
func (o *KubeconfigOptions) Run(ctx context.Context) error {
	p, err := o.Profile()
	if err != nil {
		return err
	}
	env, err := o.envs.resolve(ctx, o.Arg)
	if err != nil {
		return err
	}
	var e *credential.Entry
	if o.Static || o.DryRun {
		e, err = o.ownBinding(ctx, p.Name, env)
	} else {
		e, err = o.cachedBinding(ctx, p.Name, env)
	}
	if err != nil {
		return err
	}
	name, cfg := o.build(p.Name, env, e)
	dest := kubeconfig.Target{Standalone: o.OutputFile, Explicit: o.Kubeconfig, Switch: !o.NoSwitch}
	if o.DryRun {
		path, diff, err := dest.Diff(cfg)
		if err != nil {
			return err
		}
		if diff == "" {
			fmt.Fprintf(o.IO.ErrOut, "No change to %s.\n", path)
			return nil
		}
		fmt.Fprint(o.IO.Out, diff)
		return nil
	}
	path, err := dest.Write(cfg)
	if err != nil {
		return err
	}
	switch {
	case o.OutputFile != "":
		fmt.Fprintf(o.IO.Out, "Wrote context %q to %s.\n", name, path)
	case o.NoSwitch:
		fmt.Fprintf(o.IO.Out, "Added context %q in %s.\n", name, path)
	default:
		fmt.Fprintf(o.IO.Out, "Switched to context %q in %s.\n", name, path)
	}
	return nil
}

// build is the kubeconfig to write, and the name of its cluster, user and context:
// the cluster e reaches, and a user that runs the credential helper, with --oidc as a
// CI job of a trust, or with --static holds e's token (redacted in a dry run, whose
// binding is deleted: never print its token). It reads only the flags and its
// arguments.
func (o *KubeconfigOptions) build(profile string, env target, e *credential.Entry) (string, *clientcmdapi.Config) {
	name := o.ContextName
	if name == "" {
		name = "kyma-" + env.Name
	}
	user := &clientcmdapi.AuthInfo{Exec: o.execConfig(profile, env.ID)}
	switch {
	case o.OIDC.Source != "":
		user = &clientcmdapi.AuthInfo{Exec: oidcExecConfig(o.OIDC, e.Server)}
	case o.Static && o.DryRun:
		user = &clientcmdapi.AuthInfo{Token: "REDACTED"}
	case o.Static:
		user = &clientcmdapi.AuthInfo{Token: e.Token}
	}
	cluster := &clientcmdapi.Cluster{Server: e.Server, CertificateAuthorityData: e.CAData, TLSServerName: e.TLSServerName}
	return name, kubeconfig.New(name, cluster, user)
}

// execConfig is the user stanza: kubectl runs kubectl-kyma credential, which never
// prompts (interactiveMode Never) and holds no secret in its arguments.
func (o *KubeconfigOptions) execConfig(profile, envID string) *clientcmdapi.ExecConfig {
	a := credential.Args{Profile: profile, Environment: envID, Expiration: o.Expiration.d, Margin: o.Margin, Ahead: o.Ahead}
	args := append([]string{"credential"}, a.Render()...)
	return &clientcmdapi.ExecConfig{
		APIVersion:      "client.authentication.k8s.io/v1",
		Command:         execCommand,
		Args:            args,
		InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
		// kubectl then says which cluster it calls, and the helper refuses to hand a
		// token to any other.
		ProvideClusterInfo: true,
		InstallHint: `kubectl-kyma is not installed: install it with
  kubectl krew install kyma
and log in with 'kubectl kyma login --service-key FILE'.`,
	}
}

// cachedBinding is the environment's cached credential, fresh, made under the entry's
// lock when there is none, exactly as the credential helper would: the binding is in
// the ledger before it is stored, and the helper's budget holds.
func (o *KubeconfigOptions) cachedBinding(ctx context.Context, profile string, env target) (*credential.Entry, error) {
	dir, err := o.CacheDir()
	if err != nil {
		return nil, err
	}
	r := &credential.Refresher{Cache: credential.Cache{Dir: dir}, Minter: o.minter(env.ID)}
	e, err := r.Ensure(ctx, credential.Input{
		Key:    credential.Key{Profile: profile, Environment: env.ID},
		Margin: o.Margin, Ahead: o.Ahead, Clock: o.Clock, Stderr: o.IO.ErrOut,
	})
	if err != nil {
		return nil, fmt.Errorf("bind %q: %w", env.Name, err)
	}
	return e, nil
}

// ownBinding is the binding of --static (a plain token for the kubeconfig) or
// --dry-run (to learn the cluster when nothing is cached; deleted again).
func (o *KubeconfigOptions) ownBinding(ctx context.Context, profile string, env target) (*credential.Entry, error) {
	e, err := o.dryRunEntry(profile, env.ID)
	if err != nil || e != nil {
		return e, err
	}
	svc, err := o.Bindings()
	if err != nil {
		return nil, err
	}
	b, err := svc.Create(ctx, env.ID, o.Expiration.d)
	if err != nil {
		var made *binding.MadeError
		if errors.As(err, &made) {
			o.record(env.ID, made.ID, madeByKubeconfig)
			_ = o.deleteDryRunBinding(ctx, svc, env.ID, made.ID)
		}
		return nil, o.limit.explainLimit(ctx, svc, env, fmt.Errorf("bind %q: %w", env.Name, err))
	}
	if !o.DryRun {
		o.record(env.ID, b.ID, madeByKubeconfig)
	}
	e, err = mint.EntryOf(b, o.Clock.Now(), o.Expiration.d)
	if o.DryRun || err != nil {
		_ = o.deleteDryRunBinding(ctx, svc, env.ID, b.ID)
	}
	return e, err
}

// dryRunEntry is, for --dry-run, the cached credential of the environment: its server
// and CA are all the kubeconfig needs, so a dry run makes no binding when there is one.
func (o *KubeconfigOptions) dryRunEntry(profile, envID string) (*credential.Entry, error) {
	if !o.DryRun || o.Static {
		return nil, nil
	}
	dir, err := o.CacheDir()
	if err != nil {
		return nil, err
	}
	return (credential.Cache{Dir: dir}).Load(credential.Key{Profile: profile, Environment: envID}), nil
}

// deleteDryRunBinding deletes the binding a dry run made to learn the cluster, or one
// made and not used.
func (o *KubeconfigOptions) deleteDryRunBinding(ctx context.Context, svc binding.Service, envID, bindingID string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return svc.Delete(ctx, envID, bindingID)
}
