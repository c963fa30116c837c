package plugin

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/kubectl-kyma/kubectl-kyma/internal/version"
)

// NewCmdVersion prints what make build stamped into the binary.
func NewCmdVersion(f *Factory) *cobra.Command {
	var short bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of kubectl-kyma",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if short {
				fmt.Fprintln(f.IOStreams.Out, version.Version)
				return nil
			}
			fmt.Fprintf(f.IOStreams.Out, "kubectl-kyma %s (commit %s, built %s, %s %s/%s)\n",
				version.Version, version.Commit, version.Date, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
	cmd.Flags().BoolVar(&short, "short", false, "print only the version")
	return cmd
}
