package plugin

import (
	"context"
	"errors"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-kyma/kubectl-kyma/internal/broker"
	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
	"github.com/kubectl-kyma/kubectl-kyma/internal/parameters"
	"github.com/kubectl-kyma/kubectl-kyma/internal/provisioning"
)

// UpdateOptions changes a Kyma environment's plan or parameters.
type UpdateOptions struct {
	IO           genericiooptions.IOStreams
	Clock        clock.Clock
	Profile      func() (*config.Profile, error)
	Provisioning func() (*provisioning.Client, error)
	Broker       func() (*broker.Client, error)
	envs         environments

	Arg string
	// Parameters is --parameters: JSON, or @FILE holding it.
	Parameters string
	Plan       string
	Wait       bool
	Timeout    time.Duration

	params map[string]any
}

// NewCmdUpdate builds `kubectl kyma update NAME|ID`; runF, when set, replaces Run
// (tests).
func NewCmdUpdate(f *Factory, runF func(*UpdateOptions) error) *cobra.Command {
	o := &UpdateOptions{}
	cmd := &cobra.Command{
		Use:   "update NAME|ID [--parameters JSON|@FILE] [--plan PLAN] [--wait]",
		Short: "Change a Kyma environment's parameters or plan",
		Long: `Change a Kyma environment: the parameters given are merged into the ones it has
(the plan's update schema says which may change: machineType, autoScalerMin,
autoScalerMax, administrators, oidc, ...), and --plan moves it to another plan where
the plan allows it (free to a paid plan).

On a profile that talks to the Kyma Environment Broker directly, NAME|ID is the
instance id and --plan takes the plan's id from KEB's catalog.`,
		Example: `  kubectl kyma update my-kyma --parameters '{"autoScalerMax":7}' --wait
  kubectl kyma update my-kyma --parameters @update.json
  kubectl kyma update my-free-kyma --plan aws --wait`,
		Args:              exactArgs("NAME|ID"),
		ValidArgsFunction: completeEnvironments(f),
		RunE:              runE(f, o, runF),
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Parameters, "parameters", "", "parameters to change, as a JSON object or @FILE holding one")
	fl.StringVar(&o.Plan, "plan", "", "the plan to move to (default: keep the plan)")
	fl.BoolVar(&o.Wait, "wait", false, "wait until the update is done, showing the state")
	fl.DurationVar(&o.Timeout, "timeout", time.Hour, "how long --wait waits")
	return cmd
}

// Complete takes the streams, the clock and the clients, and reads the arguments and
// --parameters.
func (o *UpdateOptions) Complete(f *Factory, args []string) (err error) {
	o.IO, o.Clock, o.Profile, o.Provisioning, o.Broker = f.IOStreams, f.Clock, f.Profile, f.Provisioning, f.brokerClient
	o.envs = environmentsOf(f)
	o.Arg = args[0]
	o.params, err = parameters.Read(o.Parameters)
	return err
}

// Validate checks the flags before any network call.
func (o *UpdateOptions) Validate() error {
	if o.Parameters == "" && o.Plan == "" {
		return errors.New("update needs --parameters, --plan or both: say what to change")
	}
	if o.Timeout <= 0 {
		return errors.New("--timeout must be positive")
	}
	return nil
}

// Run sends the update and, with --wait, follows it to its end.
func (o *UpdateOptions) Run(ctx context.Context) error {
	p, err := o.Profile()
	if err != nil {
		return err
	}
	r := runner(o.IO, o.Clock, o.Wait, o.Timeout)
	if p.Kind == config.KindBroker {
		c, err := o.Broker()
		if err != nil {
			return err
		}
		return r.UpdateBroker(ctx, c, o.Arg, p.ServiceID, o.Plan, o.params)
	}
	env, err := o.envs.find(ctx, o.Arg)
	if err != nil {
		return err
	}
	c, err := o.Provisioning()
	if err != nil {
		return err
	}
	return r.Update(ctx, c, env, o.Plan, o.params)
}
