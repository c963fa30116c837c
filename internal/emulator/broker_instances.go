package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
)

// This file serves KEB's service instance endpoints (OSB provisioning, deprovisioning,
// last_operation) and its catalog, with brokerapi's checks and KEB's answers
// (internal/broker/instance_*.go).

// ersContext is what KEB requires of the OSB context when provisioning.
type ersContext struct {
	GlobalAccountID string `json:"globalaccount_id"`
	SubaccountID    string `json:"subaccount_id"`
	UserID          string `json:"user_id"`
}

// handleProvision serves PUT /v2/service_instances/{instance_id}?accepts_incomplete=true.
func (s *server) handleProvision(w http.ResponseWriter, r *http.Request) {
	d, ok := decodeOSBDetails(w, r)
	if !ok {
		return
	}
	if d.ServiceID != kymaServiceID {
		writeJSON(w, http.StatusBadRequest, osbError{Description: "service-id not in the catalog"})
		return
	}
	p := planByID(d.PlanID)
	if p == nil {
		writeJSON(w, http.StatusBadRequest, osbError{Description: "plan-id not in the catalog"})
		return
	}
	// KEB never looks at accepts_incomplete here: provisioning is always asynchronous,
	// 202 (instance_create.go Provision returns IsAsync: true).
	if len(d.Parameters) == 0 {
		writeJSON(w, http.StatusBadRequest, osbError{Description: "while unmarshaling raw parameters: unexpected end of JSON input"})
		return
	}
	if err := p.validateParameters(d.Parameters, s.opts.Region); err != nil {
		writeJSON(w, http.StatusBadRequest, osbError{Description: err.Error()})
		return
	}
	var ec ersContext
	var msg string
	switch err := json.Unmarshal(d.Context, &ec); {
	case err != nil:
		msg = "while decoding context: " + err.Error()
	case ec.GlobalAccountID == "":
		msg = "global accountID parameter cannot be empty"
	case ec.SubaccountID == "":
		msg = "subAccountID parameter cannot be empty"
	case ec.UserID == "":
		msg = "UserID parameter cannot be empty"
	}
	if msg != "" {
		writeJSON(w, http.StatusBadRequest, osbError{Description: msg})
		return
	}
	id := r.PathValue("instance_id")
	name := environmentName(d.Parameters)
	if e := s.store.environment(id); e != nil {
		// KEB compares the request with the first one: the same again is answered with
		// the same operation, anything else is a conflict.
		if e.PlanName != p.name || !bytes.Equal(e.Parameters, compactJSON(d.Parameters)) || !bytes.Equal(e.Context, compactJSON(d.Context)) {
			writeJSON(w, http.StatusConflict, osbError{Description: "provisioning operation already exist"})
			return
		}
		writeJSON(w, http.StatusAccepted, provisionResponse(e.ProvisionOperation, s.labels(e, s.opts.now())))
		return
	}
	e := &environment{
		ID: id, Name: name, PlanName: p.name, User: ec.UserID,
		Parameters: compactJSON(d.Parameters), Context: compactJSON(d.Context),
		GlobalAccountID: ec.GlobalAccountID, SubaccountID: ec.SubaccountID,
	}
	if err := s.addEnvironment(e); err != nil {
		writeJSON(w, http.StatusInternalServerError, osbError{Description: err.Error()})
		return
	}
	writeJSON(w, http.StatusAccepted, provisionResponse(e.ProvisionOperation, s.labels(e, s.opts.now())))
}

func provisionResponse(operation string, labels map[string]string) map[string]any {
	return map[string]any{"operation": operation, "metadata": map[string]any{"labels": labels}}
}

// handleDeprovision serves DELETE /v2/service_instances/{instance_id}: 202 with the
// operation, or 200 {} for an instance KEB does not have.
func (s *server) handleDeprovision(w http.ResponseWriter, r *http.Request) {
	if !checkIDs(w, r.FormValue("service_id"), r.FormValue("plan_id")) {
		return
	}
	id := r.PathValue("instance_id")
	_, err := s.deleteEnvironment(r.Context(), id)
	switch {
	case errors.Is(err, errNoEnvironment):
		writeJSON(w, http.StatusOK, struct{}{})
	case err != nil:
		s.log.Error("deprovision", "id", id, "error", err)
		writeJSON(w, http.StatusInternalServerError, osbError{Description: err.Error()})
	default:
		writeJSON(w, http.StatusAccepted, map[string]string{"operation": s.store.environment(id).DeprovisionOperation})
	}
}

// handleLastOperation serves GET /v2/service_instances/{instance_id}/last_operation, with
// an optional ?operation= id, as KEB's LastOperationEndpoint answers.
func (s *server) handleLastOperation(w http.ResponseWriter, r *http.Request) {
	now := s.opts.now()
	id, op := r.PathValue("instance_id"), r.FormValue("operation")
	e := s.store.environment(id)
	hasOp := func(x *environment) bool {
		return op == x.ProvisionOperation || op == x.UpdateOperation || op == x.DeprovisionOperation
	}
	if op != "" {
		for _, other := range s.store.environments() {
			if hasOp(&other) && other.ID != id {
				writeJSON(w, http.StatusBadRequest, osbError{Description: "operation exists, but instanceID is invalid"})
				return
			}
		}
		// An unknown operation: KEB then reports on the instance only if it was deleted.
		if e != nil && !hasOp(e) && e.stateAt(now) != stateGone {
			e = nil
		}
	}
	if e == nil {
		writeJSON(w, http.StatusNotFound, osbError{Description: "Operation not found"})
		return
	}
	state, description := osbState(e, now)
	if op != "" && hasOp(e) {
		// The state of that operation, whatever happened to the instance since.
		state, description = operationState(e, op, now)
	}
	writeJSON(w, http.StatusOK, map[string]string{"state": state, "description": description})
}

// handleCatalog serves GET /v2/catalog: the Kyma service and its plans.
func (s *server) handleCatalog(w http.ResponseWriter, r *http.Request) {
	var ps []map[string]any
	for _, p := range plans() {
		create := p.createSchema(s.opts.Region)
		ps = append(ps, map[string]any{
			"id": p.id, "name": p.name, "description": p.description, "bindable": s.bindable(p.name),
			"metadata": map[string]any{"displayName": p.description},
			"schemas": map[string]any{"service_instance": map[string]any{
				"create": map[string]any{"parameters": create},
				"update": map[string]any{"parameters": p.updateSchema()},
			}},
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"services": []map[string]any{{
		"id": kymaServiceID, "name": kymaServiceName,
		"description":           "Kyma environment is a runtime you can use to build cloud-native Kubernetes-based applications by using microservices and serverless functions.",
		"bindable":              true,
		"instances_retrievable": true,
		"bindings_retrievable":  true,
		"plan_updateable":       true,
		"metadata":              map[string]any{"displayName": "Kyma Environment"},
		"plans":                 ps,
	}}})
}

// handleGetInstance serves GET /v2/service_instances/{instance_id}: brokerapi's
// handlers/get_instance.go (412 below OSB 2.14) and KEB's
// internal/broker/instance_get.go (404 while the provisioning runs or after it failed,
// and once deprovisioning began).
func (s *server) handleGetInstance(w http.ResponseWriter, r *http.Request) {
	if minorVersion(r) < 14 {
		writeJSON(w, http.StatusPreconditionFailed, osbError{Description: "get instance endpoint only supported starting with OSB version 2.14"})
		return
	}
	id := r.PathValue("instance_id")
	now := s.opts.now()
	e := s.store.environment(id)
	var state string
	if e != nil {
		state = e.stateAt(now)
	}
	switch state {
	case stateGone, stateDeleting, stateDeletionFailed:
		writeJSON(w, http.StatusNotFound, osbError{Description: "instance with instanceID " + id + " does not exist"})
		return
	case stateCreating:
		writeJSON(w, http.StatusNotFound, osbError{Description: "provisioning of instanceID " + id + " in progress"})
		return
	case stateCreationFailed:
		writeJSON(w, http.StatusNotFound, osbError{Description: "provisioning of instanceID " + id + " failed"})
		return
	}
	plan := e.planAt(now)
	params := e.parametersAt(now)
	if state == stateUpdating {
		// KEB stores an accepted update's plan and parameters on the instance at once.
		plan, params = e.UpdatePlanName, e.UpdateParameters
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"service_id":    kymaServiceID,
		"plan_id":       planByName(plan).id,
		"dashboard_url": s.baseURL + "/dashboard/" + e.ID,
		"parameters":    json.RawMessage(params),
		"metadata":      map[string]any{"labels": s.labels(e, now)},
	})
}
