// Package plugin is kubectl-kyma's command layer: one file per verb, each built by
// NewCmdX(f, runF) with an options struct whose Complete resolves what Run needs (the
// streams, the clients, a clock) from the Factory, and whose Validate and Run use only
// what it holds (as kubectl's own commands do). runF lets a test check the parsed flags
// without running anything; other tests run commands in process.
//
// Commands only map flags to calls: the use cases live below plugin/ (internal/...),
// HTTP in internal/apiclient and the clients built on it, the credential logic in
// package credential.
package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// StdStreams are the process's standard streams.
func StdStreams() genericiooptions.IOStreams {
	return genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
}

// Run executes the command line args (without the program name) and returns the exit
// code: 0, or 1 after printing "error: <one sentence>" once on stderr, or the code of
// an *ExitError (kubectl kyma run exits with its command's status).
func Run(ctx context.Context, args []string, streams genericiooptions.IOStreams) int {
	f := NewFactory(streams)
	cmd := NewRootCmd(f)
	cmd.SetArgs(args)
	return exitCode(cmd.ExecuteContext(ctx), streams.ErrOut)
}

// exitCode prints err once, as "error: ...", and returns the process's exit code.
func exitCode(err error, errOut io.Writer) int {
	if err == nil {
		return 0
	}
	var exit *ExitError
	if errors.As(err, &exit) {
		if exit.Err != nil {
			fmt.Fprintf(errOut, "error: %v\n", exit.Err)
		}
		return exit.Code
	}
	fmt.Fprintf(errOut, "error: %v\n", err)
	return 1
}

// command is what every command's options do. Complete takes what the command needs
// from the Factory (streams, clock, and the clients as the Factory's lazy functions, so
// a flag error still comes before any profile is read) and reads the arguments;
// Validate checks flags and arguments, one sentence each, before any network call;
// Run does the work.
type command interface {
	Complete(f *Factory, args []string) error
	Validate() error
	Run(ctx context.Context) error
}

// runE is the RunE of a command whose options are o: Complete, Validate, then Run, or
// runF in place of Run when a test gives one, to see what the flags parsed into
// without calling any service.
func runE[O command](f *Factory, o O, runF func(O) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := o.Complete(f, args); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return err
		}
		if runF != nil {
			return runF(o)
		}
		return o.Run(cmd.Context())
	}
}

// NewRootCmd builds `kubectl kyma` and its subcommands.
func NewRootCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kyma",
		Short: "Provision SAP BTP, Kyma runtime environments and reach them from kubectl",
		Long: `kubectl kyma provisions SAP BTP, Kyma runtime environments and binds kubectl to them.

Log in once with a Cloud Management service key, then:
  kubectl kyma provision my-kyma --plan aws --region eu-central-1 --user me@example.com --wait
  kubectl kyma kubeconfig my-kyma
  kubectl get pods -A

The kubeconfig holds no token: kubectl asks kubectl-kyma for one when it needs it, and
kubectl-kyma makes a fresh binding before the cached one expires.`,
		Annotations: map[string]string{
			cobra.CommandDisplayNameAnnotation: "kubectl kyma",
		},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.SetIn(f.IOStreams.In)
	cmd.SetOut(f.IOStreams.Out)
	cmd.SetErr(f.IOStreams.ErrOut)
	// Flag errors are one sentence like the others, and name the flag.
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())
	})
	f.AddFlags(cmd.PersistentFlags())
	_ = cmd.RegisterFlagCompletionFunc("profile", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		cfg, err := f.ConfigStore().Load()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return cfg.Names(), cobra.ShellCompDirectiveNoFileComp
	})

	cmd.AddGroup(
		&cobra.Group{ID: "env", Title: "Environments:"},
		&cobra.Group{ID: "access", Title: "Access:"},
		&cobra.Group{ID: "setup", Title: "Set-up:"},
	)
	add := func(group string, cs ...*cobra.Command) {
		for _, c := range cs {
			c.GroupID = group
			cmd.AddCommand(c)
		}
	}
	add("setup",
		NewCmdLogin(f, nil),
		NewCmdLogout(f, nil),
		NewCmdProfiles(f, nil),
		NewCmdVersion(f, nil),
	)
	add("env",
		NewCmdAvailable(f, nil),
		NewCmdList(f, nil),
		NewCmdGet(f, nil),
		NewCmdProvision(f, nil),
		NewCmdUpdate(f, nil),
		NewCmdDeprovision(f, nil),
	)
	add("access",
		NewCmdBind(f, nil),
		NewCmdBindings(f, nil),
		NewCmdUnbind(f, nil),
		NewCmdKubeconfig(f, nil),
		NewCmdCredential(f, nil),
	)
	add("access",
		NewCmdRun(f, nil),
		NewCmdStatus(f, nil),
		NewCmdGC(f, nil),
		NewCmdOIDC(f),
	)
	cmd.SetHelpCommandGroupID("setup")
	cmd.SetCompletionCommandGroupID("setup")
	return cmd
}
