package follow

import (
	"context"
	"errors"
	"fmt"

	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/broker"
	"github.com/kubectl-kyma/kubectl-kyma/internal/provisioning"
)

// Environment is what to follow of an environment at the Provisioning Service.
type Environment struct {
	Client *provisioning.Client
	ID     string
	// Verb names the operation in errors ("provisioning", "update", "deprovisioning").
	Verb string
	// Before is the environment as it was before the request, nil for a new one: a
	// state is believed only once the service shows that the request took effect, by a
	// Pending state seen or a later modifiedDate, so a lagging answer that still shows
	// the state from before the request (an earlier failure, say) does not end the wait.
	Before  *provisioning.Environment
	Pending []string
	// OK says the operation succeeded.
	OK func(*provisioning.Environment) bool
	// GoneIsDone makes a 404 the end of the wait (a deletion).
	GoneIsDone bool
}

// Check follows the environment until OK or a *_FAILED state, which is an error
// naming the state and the service's message.
func (w Environment) Check() Check {
	sawPending := w.Before == nil
	return func(ctx context.Context) (string, bool, error) {
		e, err := w.Client.GetEnvironment(ctx, w.ID)
		if err != nil {
			if w.GoneIsDone && errors.Is(err, binding.ErrNotFound) {
				return "GONE", true, nil
			}
			return "", false, err
		}
		for _, p := range w.Pending {
			if e.State == p {
				sawPending = true
			}
		}
		switch {
		case !sawPending && !e.ModifiedDate.After(w.Before.ModifiedDate.Time):
			return e.State, false, nil
		case e.Failed():
			return e.State, false, stateError(w.Verb, e)
		case w.OK(e):
			return e.State, true, nil
		}
		return e.State, false, nil
	}
}

// stateError names the failed state and gives the service's message.
func stateError(verb string, e *provisioning.Environment) error {
	if e.StateMessage == "" {
		return fmt.Errorf("%s of %q ended in %s", verb, e.DisplayName(), e.State)
	}
	return fmt.Errorf("%s of %q ended in %s: %s", verb, e.DisplayName(), e.State, e.StateMessage)
}

// BrokerUpdate follows an update of a KEB instance through its last_operation until
// it succeeds, or fails with KEB's description.
func BrokerUpdate(c *broker.Client, instanceID, operation, serviceID string) Check {
	return func(ctx context.Context) (string, bool, error) {
		lo, err := c.LastOperation(ctx, instanceID, operation, serviceID, "")
		if err != nil {
			return "", false, err
		}
		switch lo.State {
		case broker.StateSucceeded:
			return lo.State, true, nil
		case broker.StateFailed:
			if lo.Description == "" {
				return lo.State, false, fmt.Errorf("update of %q failed (last_operation state %q)", instanceID, lo.State)
			}
			return lo.State, false, fmt.Errorf("update of %q failed (last_operation state %q): %s", instanceID, lo.State, lo.Description)
		}
		return lo.State, false, nil
	}
}
