package emulator

import (
	"net/http"
	"time"
)

// runtimeDTO is one entry of GET /info/runtimes (KEB's internal/appinfo, removed from KEB
// in 2026 but still served here for the clients that use it).
type runtimeDTO struct {
	RuntimeID         string    `json:"runtimeId"`
	GlobalAccountID   string    `json:"globalAccountId"`
	SubAccountID      string    `json:"subaccountId"`
	SubAccountRegion  string    `json:"subaccountRegion"`
	ServiceInstanceID string    `json:"serviceInstanceId"`
	ServiceClassID    string    `json:"serviceClassId"`
	ServiceClassName  string    `json:"serviceClassName"`
	ServicePlanID     string    `json:"servicePlanId"`
	ServicePlanName   string    `json:"servicePlanName"`
	Status            statusDTO `json:"status"`
}

type statusDTO struct {
	CreatedAt      *time.Time          `json:"createdAt,omitempty"`
	UpdatedAt      *time.Time          `json:"updatedAt,omitempty"`
	DeletedAt      *time.Time          `json:"deletedAt,omitempty"`
	Provisioning   *operationStatusDTO `json:"provisioning,omitempty"`
	Deprovisioning *operationStatusDTO `json:"deprovisioning,omitempty"`
}

type operationStatusDTO struct {
	State       string `json:"state"`
	Description string `json:"description"`
}

// handleRuntimes serves GET /info/runtimes: every runtime, deleted ones included.
func (s *server) handleRuntimes(w http.ResponseWriter, r *http.Request) {
	now := s.opts.now()
	out := []runtimeDTO{}
	for _, e := range s.store.environments() {
		created, updated := e.CreatedAt.UTC(), e.modifiedAt(now).UTC()
		dto := runtimeDTO{
			RuntimeID: e.RuntimeID, GlobalAccountID: e.GlobalAccountID, SubAccountID: e.SubaccountID,
			SubAccountRegion: s.opts.Region, ServiceInstanceID: e.ID,
			ServiceClassID: kymaServiceID, ServiceClassName: kymaServiceName, ServicePlanName: e.PlanName,
			Status: statusDTO{CreatedAt: &created, UpdatedAt: &updated},
		}
		if p := planByName(e.PlanName); p != nil {
			dto.ServicePlanID = p.id
		}
		provisioning := &operationStatusDTO{State: "succeeded", Description: "Operation succeeded"}
		if e.stateAt(now) == stateCreating {
			provisioning = &operationStatusDTO{State: "in progress", Description: "Operation created"}
		}
		dto.Status.Provisioning = provisioning
		if !e.DeleteRequestedAt.IsZero() {
			state, description := osbState(&e, now)
			dto.Status.Deprovisioning = &operationStatusDTO{State: state, Description: description}
			if e.stateAt(now) == stateGone {
				deleted := e.DeletedAt.UTC()
				dto.Status.DeletedAt = &deleted
			}
		}
		out = append(out, dto)
	}
	writeJSON(w, http.StatusOK, out)
}

// handleRuntimeKubeconfig serves GET /kubeconfig/{instance_id}, the target of the
// KubeconfigURL label: like KEB's endpoint, a kubeconfig without credentials.
func (s *server) handleRuntimeKubeconfig(w http.ResponseWriter, r *http.Request) {
	e := s.store.environment(r.PathValue("instance_id"))
	if e == nil || e.stateAt(s.opts.now()) != stateOK {
		http.Error(w, "runtime not found or not ready", http.StatusNotFound)
		return
	}
	server, ca := s.backend.Cluster()
	w.Header().Set("Content-Type", "application/x-yaml")
	_, _ = w.Write([]byte(runtimeKubeconfig(e.Name, server, ca)))
}
