package plugin

import (
	"context"
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-kyma/kubectl-kyma/internal/version"
)

// VersionOptions prints what make build stamped into the binary.
type VersionOptions struct {
	IO genericiooptions.IOStreams

	Short bool
}

// NewCmdVersion builds `kubectl kyma version`; runF, when set, replaces Run (tests).
func NewCmdVersion(f *Factory, runF func(*VersionOptions) error) *cobra.Command {
	o := &VersionOptions{}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of kubectl-kyma",
		Args:  cobra.NoArgs,
		RunE:  runE(f, o, runF),
	}
	cmd.Flags().BoolVar(&o.Short, "short", false, "print only the version")
	return cmd
}

// Complete takes the streams.
func (o *VersionOptions) Complete(f *Factory, _ []string) error {
	o.IO = f.IOStreams
	return nil
}

// Validate has nothing to check: the command takes one boolean flag.
func (o *VersionOptions) Validate() error { return nil }

// Run prints the version, alone with --short.
func (o *VersionOptions) Run(context.Context) error {
	if o.Short {
		fmt.Fprintln(o.IO.Out, version.Version)
		return nil
	}
	fmt.Fprintf(o.IO.Out, "kubectl-kyma %s (commit %s, built %s, %s %s/%s)\n",
		version.Version, version.Commit, version.Date, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
