package plugin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-kyma/kubectl-kyma/internal/broker"
	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
	"github.com/kubectl-kyma/kubectl-kyma/internal/follow"
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
	if p.Kind == config.KindBroker {
		return o.runBroker(ctx, p)
	}
	env, err := o.envs.find(ctx, o.Arg)
	if err != nil {
		return err
	}
	name := env.DisplayName()
	c, err := o.Provisioning()
	if err != nil {
		return err
	}
	// The service requires planName, also when the plan stays.
	plan := o.Plan
	if plan == "" {
		plan = env.PlanName
	}
	if err := c.UpdateEnvironment(ctx, env.ID, provisioning.UpdateEnvironmentRequest{PlanName: plan, Parameters: o.params}); err != nil {
		return fmt.Errorf("update %q: %w", name, err)
	}
	fmt.Fprintf(o.IO.Out, "environment/%s updating (id %s)\n", name, env.ID)
	if !o.Wait {
		return nil
	}
	check := follow.Environment{Client: c, ID: env.ID, Verb: "update", Before: env,
		Pending: []string{provisioning.StateUpdating}, OK: (*provisioning.Environment).Ready}
	return follower(o.IO, o.Clock).Do(ctx, follow.Input{Name: name, Outcome: "is updated",
		Follow: "follow it with 'kubectl kyma get " + name + "'", Timeout: o.Timeout, Check: check.Check()})
}

// runBroker updates through KEB's OSB API and follows the operation's last_operation.
func (o *UpdateOptions) runBroker(ctx context.Context, p *config.Profile) error {
	c, err := o.Broker()
	if err != nil {
		return err
	}
	planID := o.Plan
	if planID == "" {
		// Keep the plan: KEB takes a missing plan_id as a change of plan.
		in, err := c.GetInstance(ctx, o.Arg)
		if err != nil {
			return fmt.Errorf("update %q: read its current plan: %w", o.Arg, err)
		}
		planID = in.PlanID
	}
	op, err := c.Update(ctx, o.Arg, broker.UpdateRequest{ServiceID: p.ServiceID, PlanID: planID, Parameters: o.params})
	if err != nil {
		return fmt.Errorf("update %q: %w", o.Arg, err)
	}
	if !op.Async {
		fmt.Fprintf(o.IO.Out, "environment/%s unchanged: the broker found nothing to change\n", o.Arg)
		return nil
	}
	fmt.Fprintf(o.IO.Out, "environment/%s updating (operation %s)\n", o.Arg, op.Operation)
	if !o.Wait {
		return nil
	}
	return follower(o.IO, o.Clock).Do(ctx, follow.Input{Name: o.Arg, Outcome: "is updated",
		Follow: "KEB's last_operation of instance " + o.Arg + " tells how it ends", Timeout: o.Timeout,
		Check: follow.BrokerUpdate(c, o.Arg, op.Operation, p.ServiceID)})
}
