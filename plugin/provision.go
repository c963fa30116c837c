package plugin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

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
	// Parameters is --parameters: JSON, or @FILE holding it.
	Parameters string

	// params are the create parameters: --parameters with name and region set.
	params map[string]any
}

// NewCmdProvision builds `kubectl kyma provision NAME`.
func NewCmdProvision(f *Factory) *cobra.Command {
	o := &ProvisionOptions{f: f}
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
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
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
	fl.StringVar(&o.Parameters, "parameters", "", "more create parameters, as a JSON object or @FILE holding one")
	return cmd
}

// Complete reads the arguments and --parameters.
func (o *ProvisionOptions) Complete(args []string) error {
	o.Name = args[0]
	o.params = map[string]any{}
	if o.Parameters != "" {
		p, err := readParameters(o.Parameters)
		if err != nil {
			return err
		}
		o.params = p
	}
	return nil
}

// Validate checks the flags before any network call, and makes the create parameters:
// --parameters with name and region set from NAME and --region, which a parameter
// may repeat but not contradict.
func (o *ProvisionOptions) Validate() error {
	if err := agree(o.params, "name", o.Name, "the NAME argument"); err != nil {
		return err
	}
	if err := agree(o.params, "region", o.Region, "--region"); err != nil {
		return err
	}
	if o.Region == "" {
		o.Region, _ = o.params["region"].(string)
	}
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
	if o.params == nil {
		o.params = map[string]any{}
	}
	o.params["name"], o.params["region"] = o.Name, o.Region
	return nil
}

// agree checks that a parameter, when given, has the value a flag gives it.
func agree(params map[string]any, key, flagValue, flagName string) error {
	v, ok := params[key]
	if !ok || flagValue == "" {
		return nil
	}
	if s, _ := v.(string); s != flagValue {
		return fmt.Errorf("--parameters sets %s to %s but %s says %q: give it once, or the same in both", key, jsonText(v), flagName, flagValue)
	}
	return nil
}

// readParameters reads --parameters: a JSON object, or @FILE holding one. Numbers keep
// their exact text.
func readParameters(flag string) (map[string]any, error) {
	raw, what := []byte(flag), "--parameters"
	if name, ok := strings.CutPrefix(flag, "@"); ok {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read --parameters file: %w", err)
		}
		raw, what = b, "the --parameters file "+name
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var p map[string]any
	if err := dec.Decode(&p); err != nil || p == nil {
		return nil, fmt.Errorf("%s is not a JSON object such as '{\"machineType\":\"m6i.xlarge\"}'", what)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s holds more than one JSON value", what)
	}
	return p, nil
}

// jsonText is v as JSON, for messages.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
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
		Parameters:      o.params,
	})
	if err != nil {
		return fmt.Errorf("provision %q: %w", o.Name, err)
	}
	fmt.Fprintf(o.f.IOStreams.Out, "environment/%s created (id %s)\n", o.Name, env.ID)
	if !o.Wait {
		return nil
	}
	// Terraform's provider waits through UPDATING too: the service may pass through it
	// on the way to OK.
	return waitFor(ctx, o.f, o.Name, "is ready", "follow it with 'kubectl kyma get "+o.Name+"'", o.Timeout,
		environmentCheck(o.f, env.ID, "provisioning", nil, []string{provisioning.StateCreating, provisioning.StateUpdating},
			(*provisioning.Environment).Ready, false))
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
	return waitFor(ctx, o.f, name, "is gone", "follow it with 'kubectl kyma get "+name+"'", o.Timeout,
		environmentCheck(o.f, env.ID, "deprovisioning", env, []string{provisioning.StateDeleting},
			func(*provisioning.Environment) bool { return false }, true))
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
