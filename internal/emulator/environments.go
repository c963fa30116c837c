package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// errNoEnvironment: there is no such environment, or it is gone.
var errNoEnvironment = errors.New("environment instance not found")

// addEnvironment completes a new environment's bookkeeping and stores it. It becomes OK
// after the provisioning delay.
func (s *server) addEnvironment(e *environment) error {
	now := s.opts.now()
	e.CreatedAt = now
	e.ReadyAt = now.Add(s.opts.ProvisioningDelay)
	e.RuntimeID = newUUID()
	e.ProvisionOperation = newUUID()
	if e.LandscapeLabel == "" {
		e.LandscapeLabel = s.opts.Region
	}
	err := s.store.update(func(d *persisted) error {
		if d.findEnvironment(e.ID) != nil {
			return fmt.Errorf("environment %s already exists", e.ID)
		}
		d.Environments = append(d.Environments, e)
		return nil
	})
	if err != nil {
		return err
	}
	s.log.Info("environment created", "id", e.ID, "plan", e.PlanName, "name", e.Name)
	return nil
}

// deleteEnvironment starts deprovisioning: the environment's bindings and their
// Kubernetes objects are deleted at once (bindings do not block a deprovisioning), then
// the environment is DELETING for the provisioning delay. It returns the environment as
// it was before; deleting one already DELETING changes nothing.
func (s *server) deleteEnvironment(ctx context.Context, id string) (*environment, error) {
	now := s.opts.now()
	before := s.store.environment(id)
	if before == nil || before.stateAt(now) == stateGone {
		return nil, errNoEnvironment
	}
	if before.stateAt(now) == stateDeleting {
		return before, nil
	}
	for _, b := range s.store.bindings(id) {
		if err := s.backend.DeleteBinding(ctx, b.ID); err != nil {
			return nil, fmt.Errorf("delete binding %s of environment %s: %w", b.ID, id, err)
		}
	}
	err := s.store.update(func(d *persisted) error {
		e := d.findEnvironment(id)
		if e == nil {
			return errNoEnvironment
		}
		// The binding records stay until the environment is gone, as in KEB: an unbind
		// while deprovisioning answers 200 (internal/broker/bind_delete.go skips the
		// Kubernetes objects then and deletes the record).
		// A first delete, or another try after DELETION_FAILED.
		if e.stateAt(now) != stateDeleting {
			e.DeleteRequestedAt = now
			e.DeletedAt = now.Add(s.opts.ProvisioningDelay)
			e.DeprovisionOperation = newUUID()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("environment deleting", "id", id)
	return before, nil
}

// labels are the Kyma labels of an environment, as KEB returns them: the name, and once
// the cluster exists the URLs of its kubeconfig and API server.
func (s *server) labels(e *environment, now time.Time) map[string]string {
	l := map[string]string{"Name": e.Name}
	if e.usableAt(now) {
		server, _ := s.backend.Cluster()
		l["KubeconfigURL"] = s.baseURL + "/kubeconfig/" + e.ID
		l["APIServerURL"] = server
	}
	return l
}

// instance is an environment instance as the Provisioning Service returns it. Parameters
// and labels are JSON documents inside strings, dates epoch milliseconds.
type instance struct {
	ID                string              `json:"id"`
	Name              string              `json:"name"`
	BrokerID          string              `json:"brokerId"`
	GlobalAccountGUID string              `json:"globalAccountGUID"`
	SubaccountGUID    string              `json:"subaccountGUID"`
	TenantID          string              `json:"tenantId"`
	ServiceID         string              `json:"serviceId"`
	PlanID            string              `json:"planId"`
	ServiceName       string              `json:"serviceName"`
	PlanName          string              `json:"planName"`
	EnvironmentType   string              `json:"environmentType"`
	Operation         string              `json:"operation"`
	Type              string              `json:"type"`
	Status            string              `json:"status"`
	State             string              `json:"state"`
	StateMessage      string              `json:"stateMessage"`
	Parameters        string              `json:"parameters"`
	Labels            string              `json:"labels"`
	CustomLabels      map[string][]string `json:"customLabels"`
	DashboardURL      string              `json:"dashboardUrl"`
	LandscapeLabel    string              `json:"landscapeLabel"`
	PlatformID        string              `json:"platformId"`
	CreatedDate       int64               `json:"createdDate"`
	ModifiedDate      int64               `json:"modifiedDate"`
}

// instanceView renders an environment at time now.
func (s *server) instanceView(e *environment, now time.Time) instance {
	_, _, brokerID := s.store.ids()
	in := instance{
		ID: e.ID, Name: e.Name, BrokerID: brokerID,
		GlobalAccountGUID: e.GlobalAccountID, SubaccountGUID: e.SubaccountID, TenantID: e.SubaccountID,
		ServiceID: kymaServiceID, ServiceName: kymaServiceName, PlanName: e.planAt(now),
		EnvironmentType: environmentType, State: e.stateAt(now),
		CustomLabels: map[string][]string{}, LandscapeLabel: e.LandscapeLabel, PlatformID: e.RuntimeID,
		CreatedDate: e.CreatedAt.UnixMilli(), ModifiedDate: e.modifiedAt(now).UnixMilli(),
	}
	if p := planByName(in.PlanName); p != nil {
		in.PlanID = p.id
	}
	// Operation, type, status and message as the service shows them for each state
	// (SAP/terraform-provider-btp's recorded answers: "update"/"Update" while and after
	// an update, "Environment instance updated.").
	in.Operation, in.Type, in.Status = "provision", "Provision", "Processed"
	switch in.State {
	case stateCreating:
		in.Status, in.StateMessage = "Processing", "Provisioning in progress."
	case stateCreationFailed:
		in.StateMessage = creationFailedMessage
	case stateUpdating:
		in.Operation, in.Type, in.Status, in.StateMessage = "update", "Update", "Processing", "Updating environment instance."
	case stateUpdateFailed:
		in.Operation, in.Type, in.StateMessage = "update", "Update", updateFailedMessage
	case stateOK:
		in.StateMessage = "Environment instance created."
		if !e.UpdateRequestedAt.IsZero() {
			in.Operation, in.Type, in.StateMessage = "update", "Update", "Environment instance updated."
		}
	case stateDeletionFailed:
		in.Operation, in.Type, in.StateMessage = "deprovision", "Deprovision", deletionFailedMessage
	default:
		in.Operation, in.Type, in.Status, in.StateMessage = "deprovision", "Deprovision", "Processing", "Deprovisioning in progress."
	}
	params := e.parametersAt(now)
	if len(params) == 0 {
		params = json.RawMessage("{}")
	}
	in.Parameters = string(params)
	labels, _ := json.Marshal(s.labels(e, now)) // a map of strings always encodes
	in.Labels = string(labels)
	return in
}

// OSB last_operation states.
const (
	osbInProgress = "in progress"
	osbSucceeded  = "succeeded"
	osbFailed     = "failed"
)

// osbState is the OSB last_operation state of the environment's latest operation.
func osbState(e *environment, now time.Time) (state, description string) {
	op := e.ProvisionOperation
	switch {
	case !e.DeleteRequestedAt.IsZero():
		op = e.DeprovisionOperation
	case !e.UpdateRequestedAt.IsZero():
		op = e.UpdateOperation
	}
	return operationState(e, op, now)
}

// operationState is the OSB last_operation state of one of the environment's operations
// (its provisioning, its latest update or its latest deprovisioning), as KEB reports it:
// "failed" with a description of what failed.
func operationState(e *environment, op string, now time.Time) (state, description string) {
	switch op {
	case e.DeprovisionOperation:
		switch e.stateAt(now) {
		case stateDeleting:
			return osbInProgress, "Operation created"
		case stateDeletionFailed:
			return osbFailed, deletionFailedMessage
		}
		return osbSucceeded, "Operation succeeded. The instance was deprovisioned."
	case e.UpdateOperation:
		switch {
		case now.Before(e.UpdatedAt):
			return osbInProgress, "Operation created"
		case e.failsUpdate():
			return osbFailed, updateFailedMessage
		}
		return osbSucceeded, "Operation succeeded"
	}
	switch {
	case now.Before(e.ReadyAt):
		return osbInProgress, "Operation created"
	case e.failsCreation():
		return osbFailed, creationFailedMessage
	}
	return osbSucceeded, "Operation succeeded"
}
