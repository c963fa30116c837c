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

	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/provisioning"
)

// ProvisionOptions creates a Kyma environment.
type ProvisionOptions struct {
	f *Factory

	Name    string
	Plan    string
	Region  string
	User    string
	Wait    bool
	Timeout time.Duration
}

// NewCmdProvision builds `kubectl kyma provision NAME`.
func NewCmdProvision(f *Factory) *cobra.Command {
	o := &ProvisionOptions{f: f}
	cmd := &cobra.Command{
		Use:   "provision NAME --plan PLAN --region REGION --user EMAIL",
		Short: "Create a Kyma environment",
		Example: `  kubectl kyma provision my-kyma --plan aws --region eu-central-1 --user me@example.com --wait
  kubectl kyma available   # the plans and regions the subaccount may use`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Plan, "plan", "", "the Kyma plan, as 'kubectl kyma available' lists them (aws, azure, gcp, ...)")
	fl.StringVar(&o.Region, "region", "", "the cluster's region, one the plan offers")
	fl.StringVar(&o.User, "user", "", "the user (e-mail) who becomes the environment's administrator")
	fl.BoolVar(&o.Wait, "wait", false, "wait until the environment is ready, showing its state")
	fl.DurationVar(&o.Timeout, "timeout", time.Hour, "how long --wait waits")
	return cmd
}

// Validate checks the flags before any network call.
func (o *ProvisionOptions) Validate() error {
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
	return nil
}

// Run creates the environment and, with --wait, follows it to OK.
func (o *ProvisionOptions) Run(ctx context.Context) error {
	c, err := o.f.Provisioning()
	if err != nil {
		return err
	}
	env, err := c.CreateEnvironment(ctx, provisioning.CreateEnvironmentRequest{
		EnvironmentType: provisioning.EnvironmentTypeKyma,
		ServiceName:     provisioning.ServiceNameKyma,
		PlanName:        o.Plan,
		Name:            o.Name,
		User:            o.User,
		Parameters:      map[string]any{"name": o.Name, "region": o.Region},
	})
	if err != nil {
		return fmt.Errorf("provision %q: %w", o.Name, err)
	}
	fmt.Fprintf(o.f.IOStreams.Out, "environment/%s created (id %s)\n", o.Name, env.ID)
	if !o.Wait {
		return nil
	}
	return waitState(ctx, o.f, env.ID, o.Name, "is ready", o.Timeout, func(e *provisioning.Environment, err error) (bool, error) {
		if err != nil {
			return false, err
		}
		if e.Failed() {
			return false, fmt.Errorf("provisioning of %q failed: %s", o.Name, orDefault(e.StateMessage, e.State))
		}
		return e.Ready(), nil
	})
}

// DeprovisionOptions deletes a Kyma environment.
type DeprovisionOptions struct {
	f *Factory

	Arg     string
	Wait    bool
	Yes     bool
	Timeout time.Duration
}

// NewCmdDeprovision builds `kubectl kyma deprovision NAME|ID`.
func NewCmdDeprovision(f *Factory) *cobra.Command {
	o := &DeprovisionOptions{f: f}
	cmd := &cobra.Command{
		Use:               "deprovision NAME|ID",
		Short:             "Delete a Kyma environment and its cluster",
		Args:              exactArgs("NAME|ID"),
		ValidArgsFunction: completeEnvironments(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Arg = args[0]
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().BoolVar(&o.Wait, "wait", false, "wait until the environment is gone")
	cmd.Flags().BoolVarP(&o.Yes, "yes", "y", false, "do not ask for confirmation on a terminal")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", time.Hour, "how long --wait waits")
	return cmd
}

// Run asks (on a terminal), deletes and, with --wait, follows the environment until
// the service no longer knows it.
func (o *DeprovisionOptions) Run(ctx context.Context) error {
	env, err := findEnvironment(ctx, o.f, o.Arg)
	if err != nil {
		return err
	}
	name := env.DisplayName()
	if !o.Yes && isTerminal(o.f.IOStreams.In) {
		fmt.Fprintf(o.f.IOStreams.ErrOut, "Deprovision environment %q (%s)? Its cluster and everything in it will be deleted. [y/N]: ", name, env.ID)
		answer, _ := bufio.NewReader(o.f.IOStreams.In).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			return errors.New("deprovision cancelled")
		}
	}
	c, err := o.f.Provisioning()
	if err != nil {
		return err
	}
	if _, err := c.DeleteEnvironment(ctx, env.ID); err != nil {
		return fmt.Errorf("deprovision %q: %w", name, err)
	}
	fmt.Fprintf(o.f.IOStreams.Out, "environment/%s deprovisioning (id %s)\n", name, env.ID)
	if !o.Wait {
		return nil
	}
	return waitState(ctx, o.f, env.ID, name, "is gone", o.Timeout, func(e *provisioning.Environment, err error) (bool, error) {
		if errors.Is(err, binding.ErrNotFound) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		if e.State == provisioning.StateDeletionFailed {
			return false, fmt.Errorf("deprovisioning of %q failed: %s", name, orDefault(e.StateMessage, e.State))
		}
		return false, nil
	})
}

// pollInterval is how often --wait asks; provisioning takes minutes, the emulator
// seconds.
var pollInterval = 2 * time.Second

// waitState polls the environment until done says so, showing its state: on a terminal
// one line that updates in place, otherwise a line per change. Ctrl-C (ctx cancelled)
// stops the waiting, never the operation.
func waitState(ctx context.Context, f *Factory, id, name, outcome string, timeout time.Duration, done func(*provisioning.Environment, error) (bool, error)) error {
	c, err := f.Provisioning()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := f.Now()
	tty := isTerminal(f.IOStreams.ErrOut)
	last := ""
	for {
		e, err := c.GetEnvironment(ctx, id)
		if ctx.Err() == nil {
			ok, derr := done(e, err)
			state := "GONE"
			if e != nil {
				state = e.State
			}
			elapsed := f.Now().Sub(start).Round(time.Second)
			if tty {
				fmt.Fprintf(f.IOStreams.ErrOut, "\r\033[K%s: %s (%s)", name, state, elapsed)
			} else if state != last {
				fmt.Fprintf(f.IOStreams.ErrOut, "%s: %s (%s)\n", name, state, elapsed)
			}
			last = state
			if derr != nil || ok {
				if tty {
					fmt.Fprintln(f.IOStreams.ErrOut)
				}
				if ok {
					fmt.Fprintf(f.IOStreams.Out, "environment/%s %s after %s\n", name, outcome, elapsed)
				}
				return derr
			}
		}
		select {
		case <-ctx.Done():
			if tty {
				fmt.Fprintln(f.IOStreams.ErrOut)
			}
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%q is still %s after %s; the operation goes on: follow it with 'kubectl kyma get %s'", name, last, timeout, name)
			}
			return fmt.Errorf("stopped waiting; the operation goes on: follow it with 'kubectl kyma get %s'", name)
		case <-time.After(pollInterval):
		}
	}
}

func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
