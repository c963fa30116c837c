package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
)

// This file serves the update of an environment in both APIs:
//
//	PATCH /provisioning/v1/environments/{id}  {"planName":"aws","parameters":{"autoScalerMax":7}}
//	-> 202 {}   (SAP's OpenAPI spec of the Provisioning Service: planName required,
//	             parameters an object, 202 with an object it leaves open)
//
//	PATCH /oauth/v2/service_instances/{id}?accepts_incomplete=true
//	{"service_id":"...","plan_id":"...","context":{},"parameters":{"autoScalerMax":7}}
//	-> 202 {"operation":"...","metadata":{"labels":{...}}}; 200 {"dashboard_url","metadata"}
//	   when there is nothing to do (no parameters, the instance's own plan_id); 200 {}
//	   when the parameters come out unchanged (brokerapi's handlers/update.go and KEB's
//	   internal/broker/instance_update.go)
//
// Both merge the parameters into the ones in force, as KEB keeps its instance's
// parameters; the environment is UPDATING for the provisioning delay, then OK with the
// merged parameters (or UPDATE_FAILED with the old ones, for a "fail-update-" name).

// updateInput is an update request from either API.
type updateInput struct {
	id string
	// planName is the plan to move to; "" or the current plan keeps it.
	planName string
	// planGiven is OSB's plan_id as sent: KEB takes a plan_id that is not the
	// instance's, an absent one included, as something to do (shouldUpdate in
	// internal/broker/instance_update.go).
	planGiven string
	// parameters are merged into the parameters in force, key by key.
	parameters json.RawMessage
	// async is OSB's accepts_incomplete=true: without it KEB refuses an update that has
	// something to do. The Provisioning Service always accepts it.
	async bool
	// always starts an update even when nothing changes: the Provisioning Service
	// records every update it accepts (type Update, then OK), while KEB answers 200 and
	// starts nothing.
	always bool
}

// updateOutcome is what an accepted update did.
type updateOutcome int

const (
	// updateNothing: KEB's shouldUpdate is false (no parameters, the instance's own
	// plan_id): 200 with the dashboard URL and labels.
	updateNothing updateOutcome = iota
	// updateSame: something to do, but the parameters and plan come out as they are
	// (KEB's shouldSkipNewOperation, syncEmptyUpdateResponseEnabled on as in KEB's
	// chart): 200 {}, or 202 with the running update's operation.
	updateSame
	// updateStarted: a new update operation, 202.
	updateStarted
)

// updateEnvironment starts an update. It returns the environment as the update left it
// and what the update did, or KEB's refusal. As KEB, it accepts an update while the
// environment is still being created or updated (KEB docs/user/03-25-runtime-updates.md;
// checkProvisioningState refuses only a failed provisioning): the new update runs
// after the creation, on top of the parameters the running update asked for.
func (s *server) updateEnvironment(in updateInput) (*environment, updateOutcome, *brokerError) {
	now := s.opts.now()
	var out *environment
	var outcome updateOutcome
	var berr *brokerError
	refuse := func(status int, format string, args ...any) (bool, error) {
		berr = newBrokerError(status, format, args...)
		return false, berr
	}
	_ = s.store.mutate(func(d *persisted) (bool, error) {
		e := d.findEnvironment(in.id)
		if e == nil || e.stateAt(now) == stateGone {
			// KEB's storage error (internal/storage/postsql/read.go GetInstanceByID).
			return refuse(http.StatusNotFound, "Cannot find Instance for instanceID:'%s'", in.id)
		}
		state := e.stateAt(now)
		switch state {
		case stateCreationFailed:
			return refuse(http.StatusUnprocessableEntity, "Unable to process an update of a failed instance")
		case stateDeleting, stateDeletionFailed:
			return refuse(http.StatusUnprocessableEntity, "Unable to process an update of a deprovisioned instance")
		}
		current := e.planAt(now)
		base := e.parametersAt(now)
		if state == stateUpdating {
			// KEB stores an accepted update's parameters on the instance at once.
			base, current = e.UpdateParameters, e.UpdatePlanName
		}
		target := planByName(current)
		if in.planName != "" && in.planName != current {
			p := planByName(in.planName)
			switch {
			case p == nil:
				return refuse(http.StatusBadRequest, "plan %q is not in the catalog", in.planName)
			case !target.updatable:
				return refuse(http.StatusBadRequest, "plan %s cannot be changed to %s: only the free plan can move to another plan", current, in.planName)
			}
			target = p
		}
		c := *e
		out = &c
		if !in.always && len(bytes.TrimSpace(in.parameters)) == 0 && in.planGiven == planByName(current).id {
			outcome = updateNothing
			return false, nil
		}
		merged, err := mergeParameters(base, in.parameters)
		if err != nil {
			return refuse(http.StatusBadRequest, "while unmarshaling raw parameters: %v", err)
		}
		if err := target.validateUpdateParameters(merged); err != nil {
			return refuse(http.StatusBadRequest, "%v", err)
		}
		if !in.async {
			berr = &brokerError{status: http.StatusUnprocessableEntity, key: "AsyncRequired", description: "This service plan requires client support for asynchronous service operations."}
			return false, berr
		}
		if !in.always && bytes.Equal(merged, base) && target.name == current && state != stateUpdateFailed {
			outcome = updateSame
			return false, nil
		}
		// The outcome of earlier updates becomes the base of this one.
		e.Parameters, e.PlanName = base, current
		e.UpdateParameters, e.UpdatePlanName = merged, target.name
		e.UpdateRequestedAt, e.UpdatedAt = now, now.Add(s.opts.ProvisioningDelay)
		if state == stateCreating {
			e.UpdatedAt = e.ReadyAt.Add(s.opts.ProvisioningDelay)
		}
		e.UpdateOperation = newUUID()
		c = *e
		out, outcome = &c, updateStarted
		return true, nil
	})
	if berr != nil {
		return nil, 0, berr
	}
	if outcome == updateStarted {
		s.log.Info("environment updating", "id", in.id, "plan", out.UpdatePlanName)
	}
	return out, outcome, nil
}

// mergeParameters sets the keys of update over those of base; either may be empty. An
// update given as a string holding JSON is taken as that JSON.
func mergeParameters(base, update json.RawMessage) (json.RawMessage, error) {
	params := map[string]any{}
	if len(bytes.TrimSpace(base)) > 0 {
		if err := json.Unmarshal(base, &params); err != nil {
			return nil, err
		}
	}
	update = bytes.TrimSpace(update)
	if len(update) > 0 && update[0] == '"' {
		var s string
		if err := json.Unmarshal(update, &s); err != nil {
			return nil, err
		}
		update = bytes.TrimSpace([]byte(s))
	}
	if len(update) > 0 && string(update) != "null" {
		var changes map[string]any
		if err := json.Unmarshal(update, &changes); err != nil {
			return nil, err
		}
		for k, v := range changes {
			params[k] = v
		}
	}
	out, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	return compactJSON(out), nil
}

// updateEnvironmentRequest is the body of PATCH /provisioning/v1/environments/{id}.
type updateEnvironmentRequest struct {
	PlanName   string          `json:"planName"`
	Parameters json.RawMessage `json:"parameters"`
}

// handleUpdateEnvironment serves the Provisioning Service's PATCH of an environment.
func (s *server) handleUpdateEnvironment(w http.ResponseWriter, r *http.Request) {
	e := s.liveEnvironment(w, r)
	if e == nil {
		return
	}
	var req updateEnvironmentRequest
	if err := decodeBody(r, &req); err != nil {
		writeCISError(w, r, http.StatusBadRequest, cisCodeBadRequest, "Invalid request body: "+err.Error())
		return
	}
	if req.PlanName == "" {
		writeCISError(w, r, http.StatusBadRequest, cisCodeBadRequest, `Missing required property "planName"`)
		return
	}
	_, _, berr := s.updateEnvironment(updateInput{id: e.ID, planName: req.PlanName, parameters: req.Parameters, async: true, always: true})
	switch {
	case berr != nil && berr.status == http.StatusNotFound:
		writeCISError(w, r, http.StatusNotFound, cisCodeNotFound, "Environment instance not found")
	case berr != nil:
		writeCISError(w, r, berr.status, cisCodeBroker, berr.description)
	default:
		writeJSON(w, http.StatusAccepted, struct{}{})
	}
}

// handleUpdate serves KEB's PATCH /v2/service_instances/{instance_id}: brokerapi checks
// the body and service_id (not plan_id), KEB the rest.
func (s *server) handleUpdate(w http.ResponseWriter, r *http.Request) {
	var d osbDetails
	if err := json.NewDecoder(r.Body).Decode(&d); err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, osbError{Description: err.Error()})
		return
	}
	if d.ServiceID == "" {
		writeJSON(w, http.StatusBadRequest, osbError{Description: "service_id missing"})
		return
	}
	id := r.PathValue("instance_id")
	if e := s.store.environment(id); e == nil || e.stateAt(s.opts.now()) == stateGone {
		// brokerapi sends the error's own text, KEB's storage error; the "could not
		// execute update" text is only its log action (domain/apiresponses).
		writeJSON(w, http.StatusNotFound, osbError{Description: fmt.Sprintf("Cannot find Instance for instanceID:'%s'", id)})
		return
	}
	// KEB decodes the context before anything else and fails without one.
	var ec ersContext
	if err := json.Unmarshal(d.Context, &ec); err != nil {
		writeJSON(w, http.StatusInternalServerError, osbError{Description: "unable to unmarshal context"})
		return
	}
	in := updateInput{id: id, planGiven: d.PlanID, parameters: d.Parameters, async: r.FormValue("accepts_incomplete") == "true"}
	if d.PlanID != "" {
		p := planByID(d.PlanID)
		if p == nil {
			writeJSON(w, http.StatusBadRequest, osbError{Description: "plan-id not in the catalog"})
			return
		}
		in.planName = p.name
	}
	e, outcome, berr := s.updateEnvironment(in)
	now := s.opts.now()
	switch {
	case berr != nil:
		writeBrokerError(w, berr)
	case outcome == updateNothing:
		// KEB's UpdateServiceSpec{IsAsync: false, DashboardURL, Metadata.Labels}, as
		// brokerapi's handlers/update.go writes it.
		writeJSON(w, http.StatusOK, map[string]any{
			"dashboard_url": s.baseURL + "/dashboard/" + e.ID,
			"metadata":      map[string]any{"labels": s.labels(e, now)},
		})
	case outcome == updateSame && e.stateAt(now) == stateUpdating:
		// KEB's responseWithoutNewOperation: the running update's operation.
		writeJSON(w, http.StatusAccepted, map[string]any{
			"operation": e.UpdateOperation,
			"metadata":  map[string]any{"labels": s.labels(e, now)},
		})
	case outcome == updateSame:
		writeJSON(w, http.StatusOK, struct{}{})
	default:
		writeJSON(w, http.StatusAccepted, map[string]any{
			"operation": e.UpdateOperation,
			"metadata":  map[string]any{"labels": s.labels(e, now)},
		})
	}
}

// validateUpdateParameters checks the parameters an update leaves in force against the
// plan's update schema, for the properties the emulator's schema has.
func (p *plan) validateUpdateParameters(raw json.RawMessage) error {
	var params map[string]any
	if err := json.Unmarshal(raw, &params); err != nil {
		return fmt.Errorf("while unmarshaling raw parameters: %w", err)
	}
	const prefix = "while validating update parameters: "
	if mt, present := params["machineType"]; present && len(p.machineTypes) > 0 {
		if s, _ := mt.(string); !slices.Contains(p.machineTypes, s) {
			return fmt.Errorf(prefix+"at '/machineType': value must be one of %s", quoteList(p.machineTypes))
		}
	}
	bounds := map[string]int{}
	for _, key := range []string{"autoScalerMin", "autoScalerMax"} {
		v, present := params[key]
		if !present || len(p.machineTypes) == 0 {
			continue
		}
		n, ok := v.(float64)
		switch {
		case !ok || n != float64(int(n)):
			return fmt.Errorf(prefix+"at '/%s': got %s, want integer", key, jsonKind(v))
		case int(n) < p.autoScaler[0]:
			return fmt.Errorf(prefix+"at '/%s': minimum: got %d, want %d", key, int(n), p.autoScaler[0])
		case int(n) > p.autoScaler[1]:
			return fmt.Errorf(prefix+"at '/%s': maximum: got %d, want %d", key, int(n), p.autoScaler[1])
		}
		bounds[key] = int(n)
	}
	lo, hasLo := bounds["autoScalerMin"]
	hi, hasHi := bounds["autoScalerMax"]
	if hasLo && hasHi && lo > hi {
		return fmt.Errorf("AutoScalerMax %d should be larger than AutoScalerMin %d", hi, lo)
	}
	if admins, present := params["administrators"]; present {
		list, ok := admins.([]any)
		if !ok {
			return fmt.Errorf(prefix+"at '/administrators': got %s, want array", jsonKind(admins))
		}
		for i, a := range list {
			if _, ok := a.(string); !ok {
				return fmt.Errorf(prefix+"at '/administrators/%d': got %s, want string", i, jsonKind(a))
			}
		}
	}
	return nil
}

// jsonKind names a decoded JSON value's type as JSON Schema does.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	}
	return "object"
}
