// Package plugin is kubectl-kyma's command layer: one file per verb, each an options
// struct with Complete, Validate and Run (as kubectl's own commands), taking its
// streams and clients from a Factory so tests run commands in process.
//
// Commands only map flags to calls: HTTP lives in internal/provisioning and
// internal/broker, the credential logic in package credential.
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
		NewCmdLogin(f),
		NewCmdLogout(f),
		NewCmdProfiles(f),
		NewCmdVersion(f),
	)
	add("env",
		NewCmdAvailable(f),
		NewCmdList(f),
		NewCmdGet(f),
		NewCmdProvision(f),
		NewCmdUpdate(f),
		NewCmdDeprovision(f),
	)
	add("access",
		NewCmdBind(f),
		NewCmdBindings(f),
		NewCmdUnbind(f),
		NewCmdKubeconfig(f),
		NewCmdCredential(f),
	)
	add("access",
		NewCmdRun(f),
		NewCmdStatus(f),
		NewCmdGC(f),
		NewCmdOIDC(f),
	)
	cmd.SetHelpCommandGroupID("setup")
	cmd.SetCompletionCommandGroupID("setup")
	return cmd
}
