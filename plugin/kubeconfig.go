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
	"github.com/kubectl-kyma/kubectl-kyma/internal/addcontext"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
	"github.com/kubectl-kyma/kubectl-kyma/internal/kubeconfig"
)

// execCommand is what a kubeconfig's user runs (addcontext.ExecCommand).
const execCommand = addcontext.ExecCommand

// KubeconfigOptions writes a kubeconfig whose user asks kubectl-kyma for tokens.
type KubeconfigOptions struct {
	IO       genericiooptions.IOStreams
	Clock    clock.Clock
	Profile  func() (*config.Profile, error)
	CacheDir func() (string, error)
	Bindings func() (binding.Service, error)
	envs     environments
	made     madeHere
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
	o.envs, o.made = environmentsOf(f), madeHereOf(f)
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

// Run adds the environment to the kubeconfig (package addcontext), or with --dry-run
// prints the change.
func (o *KubeconfigOptions) Run(ctx context.Context) error {
	p, err := o.Profile()
	if err != nil {
		return err
	}
	env, err := o.envs.resolve(ctx, o.Arg)
	if err != nil {
		return err
	}
	name := o.ContextName
	if name == "" {
		name = "kyma-" + env.Name
	}
	in := addcontext.Input{
		Profile: p.Name, EnvID: env.ID, EnvName: env.Name, Name: name,
		Target: kubeconfig.Target{Standalone: o.OutputFile, Explicit: o.Kubeconfig, Switch: !o.NoSwitch},
		Static: o.Static, DryRun: o.DryRun, Expiration: o.Expiration.d, Margin: o.Margin, Ahead: o.Ahead,
		CacheDir: o.CacheDir, Minter: o.minter(env.ID), Bindings: o.Bindings, Clock: o.Clock, Stderr: o.IO.ErrOut,
		Record: func(id string) { o.made.add(env.ID, id, madeByKubeconfig) },
		Explain: func(ctx context.Context, svc binding.Service, err error) error {
			return o.made.explainLimit(ctx, svc, env, err)
		},
	}
	if o.OIDC.Source != "" {
		in.OIDCExec = func(string) *clientcmdapi.ExecConfig { return oidcExecConfig(o.OIDC) }
	}
	r, err := addcontext.Do(ctx, in)
	switch {
	case err != nil:
		return err
	case o.DryRun && r.Diff == "":
		fmt.Fprintf(o.IO.ErrOut, "No change to %s.\n", r.Path)
	case o.DryRun:
		fmt.Fprint(o.IO.Out, r.Diff)
	case o.OutputFile != "":
		fmt.Fprintf(o.IO.Out, "Wrote context %q to %s.\n", name, r.Path)
	case o.NoSwitch:
		fmt.Fprintf(o.IO.Out, "Added context %q in %s.\n", name, r.Path)
	default:
		fmt.Fprintf(o.IO.Out, "Switched to context %q in %s.\n", name, r.Path)
	}
	return nil
}
