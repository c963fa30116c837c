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
//	-> 202 {"operation":"...","metadata":{"labels":{...}}}, or 200 {} when nothing changes
//	   (brokerapi's handlers/update.go and KEB's internal/broker/instance_update.go)
//
// Both merge the parameters into the ones in force, as KEB keeps its instance's
// parameters; the environment is UPDATING for the provisioning delay, then OK with the
// merged parameters (or UPDATE_FAILED with the old ones, for a "fail-update-" name).

// updateInput is an update request from either API.
type updateInput struct {
	id string
	// planName is the plan to move to; "" or the current plan keeps it.
	planName string
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

// updateEnvironment starts an update. It returns the environment as the update left it
// and whether anything is to change (an update that changes nothing starts nothing, as in
// KEB), or KEB's refusal.
func (s *server) updateEnvironment(in updateInput) (*environment, bool, *brokerError) {
	now := s.opts.now()
	var out *environment
	var changed bool
	var berr *brokerError
	refuse := func(status int, format string, args ...any) (bool, error) {
		berr = newBrokerError(status, format, args...)
		return false, berr
	}
	_ = s.store.mutate(func(d *persisted) (bool, error) {
		e := d.findEnvironment(in.id)
		if e == nil || e.stateAt(now) == stateGone {
			return refuse(http.StatusNotFound, "could not execute update for instanceID %s", in.id)
		}
		switch e.stateAt(now) {
		case stateCreationFailed:
			return refuse(http.StatusUnprocessableEntity, "Unable to process an update of a failed instance")
		case stateDeleting, stateDeletionFailed:
			return refuse(http.StatusUnprocessableEntity, "Unable to process an update of a deprovisioned instance")
		case stateCreating, stateUpdating:
			// KEB queues such an update; the emulator keeps one operation at a time.
			return refuse(http.StatusUnprocessableEntity, "instance %s has an operation in progress (%s): update it when that is done", in.id, e.stateAt(now))
		}
		current := e.planAt(now)
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
		merged, err := mergeParameters(e.parametersAt(now), in.parameters)
		if err != nil {
			return refuse(http.StatusBadRequest, "while unmarshaling raw parameters: %v", err)
		}
		if err := target.validateUpdateParameters(merged); err != nil {
			return refuse(http.StatusBadRequest, "%v", err)
		}
		if !in.always && bytes.Equal(merged, e.parametersAt(now)) && target.name == current {
			c := *e
			out = &c
			return false, nil
		}
		if !in.async {
			berr = &brokerError{status: http.StatusUnprocessableEntity, key: "AsyncRequired", description: "This service plan requires client support for asynchronous service operations."}
			return false, berr
		}
		// The outcome of an earlier update becomes the base of this one.
		e.Parameters, e.PlanName = e.parametersAt(now), current
		e.UpdateParameters, e.UpdatePlanName = merged, target.name
		e.UpdateRequestedAt, e.UpdatedAt = now, now.Add(s.opts.ProvisioningDelay)
		e.UpdateOperation = newUUID()
		c := *e
		out, changed = &c, true
		return true, nil
	})
	if berr != nil {
		return nil, false, berr
	}
	if changed {
		s.log.Info("environment updating", "id", in.id, "plan", out.UpdatePlanName)
	}
	return out, changed, nil
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
		writeJSON(w, http.StatusNotFound, osbError{Description: fmt.Sprintf("could not execute update for instanceID %s", id)})
		return
	}
	// KEB decodes the context before anything else and fails without one.
	var ec ersContext
	if err := json.Unmarshal(d.Context, &ec); err != nil {
		writeJSON(w, http.StatusInternalServerError, osbError{Description: "unable to unmarshal context"})
		return
	}
	in := updateInput{id: id, parameters: d.Parameters, async: r.FormValue("accepts_incomplete") == "true"}
	if d.PlanID != "" {
		p := planByID(d.PlanID)
		if p == nil {
			writeJSON(w, http.StatusBadRequest, osbError{Description: "plan-id not in the catalog"})
			return
		}
		in.planName = p.name
	}
	e, changed, berr := s.updateEnvironment(in)
	switch {
	case berr != nil:
		writeBrokerError(w, berr)
	case !changed:
		writeJSON(w, http.StatusOK, struct{}{})
	default:
		writeJSON(w, http.StatusAccepted, map[string]any{
			"operation": e.UpdateOperation,
			"metadata":  map[string]any{"labels": s.labels(e, s.opts.now())},
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
