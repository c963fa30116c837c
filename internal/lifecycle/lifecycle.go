// Package lifecycle creates, changes and deletes Kyma environments, and with --wait
// follows each operation to its end (internal/follow): through the Provisioning
// Service for a Cloud Management profile, through KEB's OSB API for a broker profile
// (update). It is the use case behind provision, update and deprovision; the commands
// only find the environment and the client.
package lifecycle

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/broker"
	"github.com/kubectl-kyma/kubectl-kyma/internal/follow"
	"github.com/kubectl-kyma/kubectl-kyma/internal/provisioning"
)

// Runner starts operations and says so on Out, one line each ("environment/NAME
// created (id ID)").
type Runner struct {
	Out io.Writer
	// Wait, when set, follows the operation to its end or Timeout (--wait).
	Wait    *follow.Follower
	Timeout time.Duration
}

// follow waits for the operation, when asked to.
func (r Runner) follow(ctx context.Context, name, outcome, how string, check follow.Check) error {
	if r.Wait == nil {
		return nil
	}
	return r.Wait.Do(ctx, follow.Input{Name: name, Outcome: outcome, Follow: how, Timeout: r.Timeout, Check: check})
}

// getHint says how to follow an environment once the wait gives up.
func getHint(name string) string { return "follow it with 'kubectl kyma get " + name + "'" }

// Provision creates the environment req describes and follows it to OK.
func (r Runner) Provision(ctx context.Context, c *provisioning.Client, req provisioning.CreateEnvironmentRequest) error {
	env, err := c.CreateEnvironment(ctx, req)
	if err != nil {
		return fmt.Errorf("provision %q: %w", req.Name, err)
	}
	fmt.Fprintf(r.Out, "environment/%s created (id %s)\n", req.Name, env.ID)
	// Terraform's provider waits through UPDATING too: the service may pass through it
	// on the way to OK.
	check := follow.Environment{Client: c, ID: env.ID, Verb: "provisioning",
		Pending: []string{provisioning.StateCreating, provisioning.StateUpdating}, OK: (*provisioning.Environment).Ready}
	return r.follow(ctx, req.Name, "is ready", getHint(req.Name), check.Check())
}

// Update sends env's new plan (empty: keep its plan, which the service requires) and
// parameters, and follows the update to OK.
func (r Runner) Update(ctx context.Context, c *provisioning.Client, env *provisioning.Environment, plan string, params map[string]any) error {
	name := env.DisplayName()
	if plan == "" {
		plan = env.PlanName
	}
	if err := c.UpdateEnvironment(ctx, env.ID, provisioning.UpdateEnvironmentRequest{PlanName: plan, Parameters: params}); err != nil {
		return fmt.Errorf("update %q: %w", name, err)
	}
	fmt.Fprintf(r.Out, "environment/%s updating (id %s)\n", name, env.ID)
	check := follow.Environment{Client: c, ID: env.ID, Verb: "update", Before: env,
		Pending: []string{provisioning.StateUpdating}, OK: (*provisioning.Environment).Ready}
	return r.follow(ctx, name, "is updated", getHint(name), check.Check())
}

// UpdateBroker updates a KEB instance through the OSB API: its new plan (empty: keep
// the instance's own, since KEB takes a missing plan_id as a change of plan) and
// parameters, and follows the operation's last_operation.
func (r Runner) UpdateBroker(ctx context.Context, c *broker.Client, instanceID, serviceID, planID string, params map[string]any) error {
	if planID == "" {
		in, err := c.GetInstance(ctx, instanceID)
		if err != nil {
			return fmt.Errorf("update %q: read its current plan: %w", instanceID, err)
		}
		planID = in.PlanID
	}
	op, err := c.Update(ctx, instanceID, broker.UpdateRequest{ServiceID: serviceID, PlanID: planID, Parameters: params})
	if err != nil {
		return fmt.Errorf("update %q: %w", instanceID, err)
	}
	if !op.Async {
		fmt.Fprintf(r.Out, "environment/%s unchanged: the broker found nothing to change\n", instanceID)
		return nil
	}
	fmt.Fprintf(r.Out, "environment/%s updating (operation %s)\n", instanceID, op.Operation)
	return r.follow(ctx, instanceID, "is updated", "KEB's last_operation of instance "+instanceID+" tells how it ends",
		follow.BrokerUpdate(c, instanceID, op.Operation, serviceID))
}

// Deprovision deletes env and follows it until the service no longer knows it.
func (r Runner) Deprovision(ctx context.Context, c *provisioning.Client, env *provisioning.Environment) error {
	name := env.DisplayName()
	if _, err := c.DeleteEnvironment(ctx, env.ID); err != nil {
		return fmt.Errorf("deprovision %q: %w", name, err)
	}
	fmt.Fprintf(r.Out, "environment/%s deprovisioning (id %s)\n", name, env.ID)
	check := follow.Environment{Client: c, ID: env.ID, Verb: "deprovisioning", Before: env,
		Pending: []string{provisioning.StateDeleting}, OK: func(*provisioning.Environment) bool { return false }, GoneIsDone: true}
	return r.follow(ctx, name, "is gone", getHint(name), check.Check())
}
