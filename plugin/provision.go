package plugin

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/follow"
	"github.com/kubectl-kyma/kubectl-kyma/internal/lifecycle"
	"github.com/kubectl-kyma/kubectl-kyma/internal/parameters"
	"github.com/kubectl-kyma/kubectl-kyma/internal/provisioning"
)

// ProvisionOptions creates a Kyma environment.
type ProvisionOptions struct {
	IO           genericiooptions.IOStreams
	Clock        clock.Clock
	Provisioning func() (*provisioning.Client, error)

	Name    string
	Plan    string
	Region  string
	User    string
	Wait    bool
	Timeout time.Duration
	// Parameters is --parameters: JSON, or @FILE holding it.
	Parameters string

	// params are the create parameters: --parameters with name and region set.
	params map[string]any
}

// NewCmdProvision builds `kubectl kyma provision NAME`; runF, when set, replaces Run
// (tests).
func NewCmdProvision(f *Factory, runF func(*ProvisionOptions) error) *cobra.Command {
	o := &ProvisionOptions{}
	cmd := &cobra.Command{
		Use:   "provision NAME --plan PLAN --region REGION --user EMAIL",
		Short: "Create a Kyma environment",
		Long: `Create a Kyma environment. NAME, --region and --parameters make its create
parameters; --parameters takes any of the plan's parameters ('kubectl kyma available
-o json' shows each plan's schema), as JSON or @FILE holding JSON, for example
machineType, autoScalerMin, autoScalerMax, administrators, networking or oidc. A
parameter that a flag also sets must agree with it.`,
		Example: `  kubectl kyma provision my-kyma --plan aws --region eu-central-1 --user me@example.com --wait
  kubectl kyma provision my-kyma --plan aws --region eu-central-1 --user me@example.com \
    --parameters '{"machineType":"m6i.xlarge","autoScalerMax":5}'
  kubectl kyma provision my-kyma --plan aws --user me@example.com --parameters @params.json
  kubectl kyma available   # the plans and regions the subaccount may use`,
		Args: exactArgs("NAME"),
		RunE: runE(f, o, runF),
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Plan, "plan", "", "the Kyma plan, as 'kubectl kyma available' lists them (aws, azure, gcp, ...)")
	fl.StringVar(&o.Region, "region", "", "the cluster's region, one the plan offers")
	fl.StringVar(&o.User, "user", "", "the user (e-mail) who becomes the environment's administrator")
	fl.BoolVar(&o.Wait, "wait", false, "wait until the environment is ready, showing its state")
	fl.DurationVar(&o.Timeout, "timeout", time.Hour, "how long --wait waits")
	fl.StringVar(&o.Parameters, "parameters", "", "more create parameters, as a JSON object or @FILE holding one")
	return cmd
}

// Complete takes the streams, the clock and the client, and reads the arguments and
// --parameters.
func (o *ProvisionOptions) Complete(f *Factory, args []string) (err error) {
	o.IO, o.Clock, o.Provisioning = f.IOStreams, f.Clock, f.Provisioning
	o.Name = args[0]
	o.params, err = parameters.Read(o.Parameters)
	return err
}

// Validate checks the flags before any network call, and makes the create parameters
// (see parameters.Create).
func (o *ProvisionOptions) Validate() error {
	params, region, err := parameters.Create(o.params, o.Name, o.Region)
	if err != nil {
		return err
	}
	o.Region = region
	var missing []string
	for _, fl := range []struct{ name, value string }{{"--plan", o.Plan}, {"--region", o.Region}, {"--user", o.User}} {
		if fl.value == "" {
			missing = append(missing, fl.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("provision needs %s", strings.Join(missing, ", "))
	}
	if o.Timeout <= 0 {
		return errors.New("--timeout must be positive")
	}
	o.params = params
	return nil
}

// Run creates the environment and, with --wait, follows it to OK.
func (o *ProvisionOptions) Run(ctx context.Context) error {
	c, err := o.Provisioning()
	if err != nil {
		return err
	}
	return runner(o.IO, o.Clock, o.Wait, o.Timeout).Provision(ctx, c, provisioning.CreateEnvironmentRequest{
		EnvironmentType: provisioning.EnvironmentTypeKyma,
		ServiceName:     provisioning.ServiceNameKyma,
		PlanName:        o.Plan,
		Name:            o.Name,
		User:            o.User,
		Parameters:      o.params,
	})
}

// runner starts a command's operations and, with --wait, follows them, showing their
// progress in place on a terminal.
func runner(io genericiooptions.IOStreams, clk clock.Clock, wait bool, timeout time.Duration) lifecycle.Runner {
	r := lifecycle.Runner{Out: io.Out, Timeout: timeout}
	if wait {
		r.Wait = &follow.Follower{Clock: clk, Out: io.Out, ErrOut: io.ErrOut, TTY: isTerminal(io.ErrOut)}
	}
	return r
}

// DeprovisionOptions deletes a Kyma environment.
type DeprovisionOptions struct {
	IO           genericiooptions.IOStreams
	Clock        clock.Clock
	Provisioning func() (*provisioning.Client, error)
	envs         environments

	Arg     string
	Wait    bool
	Yes     bool
	Timeout time.Duration
}

// NewCmdDeprovision builds `kubectl kyma deprovision NAME|ID`; runF, when set,
// replaces Run (tests).
func NewCmdDeprovision(f *Factory, runF func(*DeprovisionOptions) error) *cobra.Command {
	o := &DeprovisionOptions{}
	cmd := &cobra.Command{
		Use:               "deprovision NAME|ID",
		Short:             "Delete a Kyma environment and its cluster",
		Args:              exactArgs("NAME|ID"),
		ValidArgsFunction: completeEnvironments(f),
		RunE:              runE(f, o, runF),
	}
	cmd.Flags().BoolVar(&o.Wait, "wait", false, "wait until the environment is gone")
	cmd.Flags().BoolVarP(&o.Yes, "yes", "y", false, "do not ask for confirmation on a terminal")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", time.Hour, "how long --wait waits")
	return cmd
}

// Complete takes the streams, the clock and the clients, and the argument.
func (o *DeprovisionOptions) Complete(f *Factory, args []string) error {
	o.IO, o.Clock, o.Provisioning, o.envs = f.IOStreams, f.Clock, f.Provisioning, environmentsOf(f)
	o.Arg = args[0]
	return nil
}

// Validate has nothing to check that cobra did not: a --timeout that is not positive
// only ends --wait at once, as it always has.
func (o *DeprovisionOptions) Validate() error { return nil }

// Run asks (on a terminal), deletes and, with --wait, follows the environment until
// the service no longer knows it.
func (o *DeprovisionOptions) Run(ctx context.Context) error {
	env, err := o.envs.find(ctx, o.Arg)
	if err != nil {
		return err
	}
	name := env.DisplayName()
	if !o.Yes && isTerminal(o.IO.In) {
		fmt.Fprintf(o.IO.ErrOut, "Deprovision environment %q (%s)? Its cluster and everything in it will be deleted. [y/N]: ", name, env.ID)
		answer, _ := bufio.NewReader(o.IO.In).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			return errors.New("deprovision cancelled")
		}
	}
	c, err := o.Provisioning()
	if err != nil {
		return err
	}
	return runner(o.IO, o.Clock, o.Wait, o.Timeout).Deprovision(ctx, c, env)
}

// isTerminal reports whether v is a terminal: a prompt or a progress line in place
// only makes sense there.
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
