package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// This file serves the binding endpoints of KEB's Open Service Broker API 2.14 as KEB
// answers them: the request checks of github.com/pivotal-cf/brokerapi/v12 (handlers/*.go,
// middlewares), then KEB's own (kyma-project/kyma-environment-broker internal/broker).
// broker_instances.go has the instance endpoints. KEB's GET /info/runtimes is not served:
// KEB removed it in February 2026 (kyma-environment-broker#2797, commit eded8934).

// checkAPIVersion is brokerapi's APIVersionMiddleware: 412 with a capital-D Description.
func checkAPIVersion(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var major, minor int
		v := r.Header.Get("X-Broker-API-Version")
		var msg string
		switch n, err := fmt.Sscanf(v, "%d.%d", &major, &minor); {
		case v == "":
			msg = "X-Broker-API-Version Header not set"
		case err != nil || n < 2:
			msg = "X-Broker-API-Version Header must contain a version"
		case major != 2:
			msg = "X-Broker-API-Version Header must be 2.x"
		}
		if msg != "" {
			if id := r.Header.Get("X-Broker-API-Request-Identity"); id != "" {
				w.Header().Set("X-Broker-API-Request-Identity", id)
			}
			writeJSON(w, http.StatusPreconditionFailed, struct{ Description string }{msg})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// minorVersion is the minor part of X-Broker-API-Version (checked by checkAPIVersion).
func minorVersion(r *http.Request) int {
	var major, minor int
	_, _ = fmt.Sscanf(r.Header.Get("X-Broker-API-Version"), "%d.%d", &major, &minor)
	return minor
}

// writeBrokerError writes a refusal in brokerapi's shape.
func writeBrokerError(w http.ResponseWriter, e *brokerError) {
	if e.empty {
		writeJSON(w, e.status, struct{}{})
		return
	}
	writeJSON(w, e.status, osbError{Error: e.key, Description: e.description})
}

// osbDetails is what brokerapi reads of a PUT body (BindDetails, ProvisionDetails).
type osbDetails struct {
	ServiceID  string          `json:"service_id"`
	PlanID     string          `json:"plan_id"`
	Context    json.RawMessage `json:"context,omitempty"`
	Parameters json.RawMessage `json:"parameters,omitempty"`
}

// decodeOSBDetails reads a PUT body as brokerapi does: not JSON is 422 with the decoder's
// message; a missing service_id or plan_id is 400.
func decodeOSBDetails(w http.ResponseWriter, r *http.Request) (*osbDetails, bool) {
	var d osbDetails
	if err := json.NewDecoder(r.Body).Decode(&d); err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, osbError{Description: err.Error()})
		return nil, false
	}
	return &d, checkIDs(w, d.ServiceID, d.PlanID)
}

func checkIDs(w http.ResponseWriter, serviceID, planID string) bool {
	switch {
	case serviceID == "":
		writeJSON(w, http.StatusBadRequest, osbError{Description: "service_id missing"})
		return false
	case planID == "":
		writeJSON(w, http.StatusBadRequest, osbError{Description: "plan_id missing"})
		return false
	}
	return true
}

// handleBind serves PUT .../service_bindings/{binding_id}: 201 for a new binding, 200 for
// a repeated request. It runs inside KEB's bind timeout (see routes).
func (s *server) handleBind(w http.ResponseWriter, r *http.Request) {
	s.stats.bindingRequests.Add(1)
	d, ok := decodeOSBDetails(w, r)
	if !ok {
		return
	}
	out, berr := s.bind(r.Context(), bindInput{
		instanceID: r.PathValue("instance_id"), bindingID: r.PathValue("binding_id"),
		parameters: d.Parameters, context: d.Context,
	})
	switch {
	case berr != nil && berr.status == http.StatusNotFound:
		// brokerapi answers a missing instance on bind with a bare description.
		writeJSON(w, http.StatusNotFound, osbError{Description: berr.description})
	case berr != nil:
		writeBrokerError(w, berr)
	case out.existed:
		writeJSON(w, http.StatusOK, bindingResponse(out))
	default:
		writeJSON(w, http.StatusCreated, bindingResponse(out))
	}
}

// handleGetOSBBinding serves GET .../service_bindings/{binding_id}: the credentials only,
// without metadata, so a client must keep expires_at from the PUT.
func (s *server) handleGetOSBBinding(w http.ResponseWriter, r *http.Request) {
	if minorVersion(r) < 14 {
		writeJSON(w, http.StatusPreconditionFailed, osbError{Description: "get binding endpoint only supported starting with OSB version 2.14"})
		return
	}
	kubeconfig, berr := s.getBinding(r.PathValue("instance_id"), r.PathValue("binding_id"))
	if berr != nil {
		writeBrokerError(w, berr)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"credentials": map[string]string{"kubeconfig": kubeconfig}})
}

// handleUnbind serves DELETE .../service_bindings/{binding_id}?service_id=..&plan_id=..
func (s *server) handleUnbind(w http.ResponseWriter, r *http.Request) {
	if !checkIDs(w, r.FormValue("service_id"), r.FormValue("plan_id")) {
		return
	}
	if berr := s.unbind(r.Context(), r.PathValue("instance_id"), r.PathValue("binding_id")); berr != nil {
		writeBrokerError(w, berr)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// handleBindingLastOperation: KEB's bindings are synchronous and it says so with a 500.
func (s *server) handleBindingLastOperation(w http.ResponseWriter, r *http.Request) {
	if minorVersion(r) < 14 {
		writeJSON(w, http.StatusPreconditionFailed, osbError{Description: "get binding endpoint only supported starting with OSB version 2.14"})
		return
	}
	writeJSON(w, http.StatusInternalServerError, osbError{Description: "not supported"})
}
