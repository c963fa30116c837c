package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// This file serves the Provisioning Service API of SAP's Cloud Management service
// (https://api.sap.com/api/APIProvisioningService/overview), for Kyma environments.

// availableEnvironment is one entry of GET /provisioning/v1/availableEnvironments.
type availableEnvironment struct {
	AvailabilityLevel string `json:"availabilityLevel"`
	CreateSchema      string `json:"createSchema"`
	Description       string `json:"description"`
	EnvironmentType   string `json:"environmentType"`
	LandscapeLabel    string `json:"landscapeLabel"`
	PlanName          string `json:"planName"`
	PlanUpdatable     bool   `json:"planUpdatable"`
	ServiceName       string `json:"serviceName"`
	TechnicalKey      string `json:"technicalKey"`
	UpdateSchema      string `json:"updateSchema"`
}

func (s *server) handleAvailableEnvironments(w http.ResponseWriter, r *http.Request) {
	var out []availableEnvironment
	for _, p := range plans() {
		create, err := json.Marshal(p.createSchema(s.opts.Region))
		if err != nil {
			writeCISError(w, r, http.StatusInternalServerError, cisCodeInternal, "encode schema: "+err.Error())
			return
		}
		update, err := json.Marshal(p.updateSchema())
		if err != nil {
			writeCISError(w, r, http.StatusInternalServerError, cisCodeInternal, "encode schema: "+err.Error())
			return
		}
		out = append(out, availableEnvironment{
			AvailabilityLevel: "available", CreateSchema: string(create), UpdateSchema: string(update),
			Description: p.description, EnvironmentType: environmentType, LandscapeLabel: s.opts.Region,
			PlanName: p.name, PlanUpdatable: p.updatable, ServiceName: kymaServiceName,
			TechnicalKey: kymaServiceName + "-" + p.name,
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"availableEnvironments": out})
}

// createEnvironmentRequest is the body of POST /provisioning/v1/environments.
type createEnvironmentRequest struct {
	EnvironmentType string          `json:"environmentType"`
	ServiceName     string          `json:"serviceName"`
	PlanName        string          `json:"planName"`
	Name            string          `json:"name"`
	User            string          `json:"user"`
	Parameters      json.RawMessage `json:"parameters"`
	LandscapeLabel  string          `json:"landscapeLabel"`
	Origin          string          `json:"origin"`
}

func (s *server) handleCreateEnvironment(w http.ResponseWriter, r *http.Request) {
	var req createEnvironmentRequest
	if err := decodeBody(r, &req); err != nil {
		writeCISError(w, r, http.StatusBadRequest, cisCodeBadRequest, "Invalid request body: "+err.Error())
		return
	}
	var missing string
	switch {
	case req.EnvironmentType == "":
		missing = "environmentType"
	case req.PlanName == "":
		missing = "planName"
	case req.ServiceName == "":
		missing = "serviceName"
	}
	if missing != "" {
		writeCISError(w, r, http.StatusBadRequest, cisCodeBadRequest, fmt.Sprintf("Missing required property %q", missing))
		return
	}
	if req.EnvironmentType != environmentType || req.ServiceName != kymaServiceName {
		writeCISError(w, r, http.StatusBadRequest, cisCodeBadRequest,
			fmt.Sprintf("Environment type %q with service %q is not available in this subaccount: the emulator offers %q with service %q", req.EnvironmentType, req.ServiceName, environmentType, kymaServiceName))
		return
	}
	p := planByName(req.PlanName)
	if p == nil {
		writeCISError(w, r, http.StatusBadRequest, cisCodeBadRequest, fmt.Sprintf("Plan %q of service %q is not available in this subaccount", req.PlanName, kymaServiceName))
		return
	}
	if err := p.validateParameters(req.Parameters, s.opts.Region); err != nil {
		writeCISError(w, r, http.StatusBadRequest, cisCodeBroker, err.Error())
		return
	}
	globalAccountID, subaccountID, _ := s.store.ids()
	name := req.Name
	if name == "" {
		name = environmentName(req.Parameters)
	}
	e := &environment{
		ID: newEnvironmentID(), Name: name, PlanName: p.name, User: req.User,
		Parameters: compactJSON(req.Parameters), GlobalAccountID: globalAccountID, SubaccountID: subaccountID,
		LandscapeLabel: req.LandscapeLabel, Origin: req.Origin,
	}
	if err := s.addEnvironment(e); err != nil {
		writeCISError(w, r, http.StatusInternalServerError, cisCodeInternal, err.Error())
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"id": e.ID})
}

func (s *server) handleListEnvironments(w http.ResponseWriter, r *http.Request) {
	now := s.opts.now()
	out := []instance{}
	for _, e := range s.store.environments() {
		if e.stateAt(now) != stateGone {
			out = append(out, s.instanceView(&e, now))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"environmentInstances": out})
}

// liveEnvironment returns the environment of the request's {id}, or writes the
// Provisioning Service's 404 and returns nil.
func (s *server) liveEnvironment(w http.ResponseWriter, r *http.Request) *environment {
	e := s.store.environment(r.PathValue("id"))
	if e == nil || e.stateAt(s.opts.now()) == stateGone {
		writeCISError(w, r, http.StatusNotFound, cisCodeNotFound, "Environment instance not found")
		return nil
	}
	return e
}

func (s *server) handleGetEnvironment(w http.ResponseWriter, r *http.Request) {
	if e := s.liveEnvironment(w, r); e != nil {
		writeJSON(w, http.StatusOK, s.instanceView(e, s.opts.now()))
	}
}

// handleDeleteEnvironment answers 202 with the instance as it was before the delete.
func (s *server) handleDeleteEnvironment(w http.ResponseWriter, r *http.Request) {
	now := s.opts.now()
	before, err := s.deleteEnvironment(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, errNoEnvironment):
		writeCISError(w, r, http.StatusNotFound, cisCodeNotFound, "Environment instance not found")
	case err != nil:
		s.log.Error("delete environment", "id", r.PathValue("id"), "error", err)
		writeCISError(w, r, http.StatusInternalServerError, cisCodeInternal, err.Error())
	default:
		writeJSON(w, http.StatusAccepted, s.instanceView(before, now))
	}
}

// createBindingRequest is the body of PUT .../bindings. Clients also send
// serviceInstanceId and planId (KEB's own end-to-end test does); they are ignored.
type createBindingRequest struct {
	Parameters json.RawMessage `json:"parameters"`
}

// handleCreateBinding makes a binding through the broker's logic and answers 202 with
// the binding id in Location (a bare id) and the credentials in the body.
func (s *server) handleCreateBinding(w http.ResponseWriter, r *http.Request) {
	s.stats.bindingRequests.Add(1)
	e := s.liveEnvironment(w, r)
	if e == nil {
		return
	}
	var req createBindingRequest
	if err := decodeBody(r, &req); err != nil {
		writeCISError(w, r, http.StatusBadRequest, cisCodeBadRequest, "Invalid request body: "+err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.BindTimeout)
	defer cancel()
	id := newUUID()
	out, berr := s.bind(ctx, bindInput{instanceID: e.ID, bindingID: id, parameters: req.Parameters, createdBy: clientIDFrom(r.Context())})
	switch {
	case berr != nil && ctx.Err() == context.DeadlineExceeded:
		writeCISError(w, r, http.StatusServiceUnavailable, cisCodeTimeout, fmt.Sprintf("request timeout: time exceeded %s", s.opts.BindTimeout))
	case berr != nil:
		writeCISError(w, r, berr.status, cisCodeBroker, berr.description)
	default:
		w.Header().Set("Location", id)
		writeJSON(w, http.StatusAccepted, bindingResponse(out))
	}
}

// bindingListEntry is one binding in GET .../bindings; dates are epoch milliseconds, as
// the instance's are.
type bindingListEntry struct {
	BindingID   string `json:"bindingId"`
	InstanceID  string `json:"instanceId"`
	CreatedBy   string `json:"createdBy"`
	CreatedDate int64  `json:"createdDate"`
	ExpiresAt   int64  `json:"expiresAt"`
}

func (s *server) handleListBindings(w http.ResponseWriter, r *http.Request) {
	e := s.liveEnvironment(w, r)
	if e == nil {
		return
	}
	out := []bindingListEntry{}
	for _, b := range s.store.bindings(e.ID) {
		out = append(out, bindingListEntry{
			BindingID: b.ID, InstanceID: b.InstanceID, CreatedBy: b.CreatedBy,
			CreatedDate: b.CreatedAt.UnixMilli(), ExpiresAt: b.ExpiresAt.UnixMilli(),
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"bindings": out})
}

// handleGetBinding answers 200 with the credentials; a binding that is not there (never
// made, deleted, expired or half-made) is a 404 with an empty body, as the real service
// answers after a delete.
func (s *server) handleGetBinding(w http.ResponseWriter, r *http.Request) {
	e := s.liveEnvironment(w, r)
	if e == nil {
		return
	}
	kubeconfig, berr := s.getBinding(e.ID, r.PathValue("bindingId"))
	switch {
	case berr != nil && berr.status == http.StatusNotFound:
		w.WriteHeader(http.StatusNotFound)
	case berr != nil:
		writeCISError(w, r, berr.status, cisCodeBroker, berr.description)
	default:
		writeJSON(w, http.StatusOK, map[string]any{"credentials": map[string]string{"kubeconfig": kubeconfig}})
	}
}

// handleDeleteBinding answers 200 with an empty body; an unknown binding is a 404.
func (s *server) handleDeleteBinding(w http.ResponseWriter, r *http.Request) {
	e := s.liveEnvironment(w, r)
	if e == nil {
		return
	}
	berr := s.unbind(r.Context(), e.ID, r.PathValue("bindingId"))
	switch {
	case berr != nil && berr.status == http.StatusGone:
		writeCISError(w, r, http.StatusNotFound, cisCodeNotFound, "Binding not found")
	case berr != nil:
		writeCISError(w, r, berr.status, cisCodeBroker, berr.description)
	default:
		w.WriteHeader(http.StatusOK)
	}
}

// bindingResponse is the body of a created binding, in both APIs.
func bindingResponse(out *bindOutput) map[string]any {
	return map[string]any{
		"credentials": map[string]string{"kubeconfig": out.kubeconfig},
		"metadata":    map[string]string{"expires_at": out.expiresAt.UTC().Format(expiresAtLayout)},
	}
}

// decodeBody reads a JSON request body into v; an empty body leaves v as it is.
func decodeBody(r *http.Request, v any) error {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	return json.Unmarshal(raw, v)
}

// compactJSON returns raw without insignificant space; nil for an empty document.
func compactJSON(raw json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return raw
	}
	return buf.Bytes()
}
