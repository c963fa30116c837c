package plugin

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"slices"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/rbac"
	"github.com/kubectl-kyma/kubectl-kyma/internal/session"
)

// ExitError ends a command with a given exit code (session.ExitError): kubectl kyma
// run exits with its command's status.
type ExitError = session.ExitError

// RunOptions runs a command with a binding made for it alone.
type RunOptions struct {
	IO       genericiooptions.IOStreams
	Bindings func() (binding.Service, error)
	envs     environments
	made     madeHere

	Arg        string
	Command    []string
	Expiration expirationFlag
	Role       string

	// environ is the environment COMMAND inherits, before KUBECONFIG is set.
	environ []string
	// signals delivers the signals to forward and stops delivering them when stop is
	// called (signal.Notify; tests send their own).
	signals func() (c <-chan os.Signal, stop func())
	// narrow narrows the binding to Role before COMMAND starts (rbac.Narrow).
	narrow func(ctx context.Context, kubeconfig, bindingID, role string) error
	// dash and commandPath are where "--" splits the arguments (cobra's ArgsLenAtDash)
	// and the command's name, for Complete.
	dash        int
	commandPath string
}

// NewCmdRun builds `kubectl kyma run NAME|ID -- COMMAND [ARGS...]`; runF, when set,
// replaces Run (tests).
func NewCmdRun(f *Factory, runF func(*RunOptions) error) *cobra.Command {
	o := &RunOptions{Role: rbac.Admin}
	cmd := &cobra.Command{
		Use:   "run NAME|ID [--role view|edit|admin] [--expiration S] -- COMMAND [ARGS...]",
		Short: "Run a command with a binding made for it alone, deleted when the command ends",
		Long: `Make a binding of the environment, run COMMAND with KUBECONFIG pointing at the
binding's kubeconfig (a temporary 0600 file), and delete the binding when COMMAND ends,
also after Ctrl-C or SIGTERM, which are passed on to COMMAND. The exit status is
COMMAND's (128 + the signal number when a signal ended it).

--role narrows the binding's ClusterRole kyma-binding-ID before COMMAND starts:
  view   get, list and watch on every resource
  edit   also create, update, patch, delete and deletecollection on every resource
         of the API groups the cluster serves at that moment, except RBAC
  admin  the binding as made: every verb on every resource (the default)

COMMAND also gets KUBECTL_KYMA_BINDING_ID, the binding's id.`,
		Example: `  kubectl kyma run my-kyma -- kubectl get pods -A
  kubectl kyma run my-kyma --role view --expiration 1h -- ./smoke-test.sh
  kubectl kyma run my-kyma --role edit -- helm upgrade --install app ./chart`,
		ValidArgsFunction: completeEnvironments(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.dash, o.commandPath = cmd.ArgsLenAtDash(), cmd.CommandPath()
			return runE(f, o, runF)(cmd, args)
		},
	}
	cmd.Flags().Var(&o.Expiration, "expiration", "the binding's lifetime: seconds (600 to 7200) or a duration (10m to 2h); default the service's, 600")
	cmd.Flags().StringVar(&o.Role, "role", rbac.Admin, "what COMMAND may do: view, edit or admin")
	_ = cmd.RegisterFlagCompletionFunc("role", cobra.FixedCompletions(rbac.Roles, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Complete takes the streams, the profile's services and made record, splits the arguments
// at "--" and reads the environment COMMAND inherits.
func (o *RunOptions) Complete(f *Factory, args []string) error {
	if o.dash != 1 || len(args) < 2 {
		return fmt.Errorf("%s takes NAME|ID -- COMMAND [ARGS...]: put the command after --", o.commandPath)
	}
	o.IO, o.Bindings = f.IOStreams, f.Bindings
	o.envs, o.made = environmentsOf(f), madeHereOf(f)
	o.Arg, o.Command = args[0], args[1:]
	o.environ = os.Environ()
	o.narrow = rbac.Narrow
	if o.signals == nil {
		o.signals = func() (<-chan os.Signal, func()) {
			c := make(chan os.Signal, 8)
			signal.Notify(c, session.Signals...)
			return c, func() { signal.Stop(c) }
		}
	}
	return nil
}

// Validate checks the flags before any network call.
func (o *RunOptions) Validate() error {
	if slices.Contains(rbac.Roles, o.Role) {
		return nil
	}
	return fmt.Errorf("--role must be view, edit or admin, not %q", o.Role)
}

// Run resolves the environment and runs the session (package session). It returns an
// *ExitError carrying COMMAND's status when that is not zero.
func (o *RunOptions) Run(ctx context.Context) error {
	// Signals are caught from the start: one that arrives while the binding is being
	// made must not kill this process before it deletes the binding.
	sigs, stop := o.signals()
	defer stop()

	env, err := o.envs.resolve(ctx, o.Arg)
	if err != nil {
		return err
	}
	svc, err := o.Bindings()
	if err != nil {
		return err
	}
	in := session.Input{
		Bindings: svc, EnvID: env.ID, EnvName: env.Name, Expiration: o.Expiration.d,
		Role: o.Role, Narrow: o.narrow, Command: o.Command, Environ: o.environ,
		In: o.IO.In, Out: o.IO.Out, ErrOut: o.IO.ErrOut, Signals: sigs, Clock: o.made.clock,
		Explain: func(ctx context.Context, err error) error { return o.made.explainLimit(ctx, svc, env, err) },
	}
	if r, ok := o.made.open(env.ID); ok {
		in.Made = &r
	}
	return session.Do(ctx, in)
}
