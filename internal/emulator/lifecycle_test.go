package emulator

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// getInstance reads one environment through the Provisioning Service API.
func (tt *tester) getInstance(id string) instance {
	tt.t.Helper()
	r := tt.cis(http.MethodGet, "/provisioning/v1/environments/"+id, nil)
	if r.status != http.StatusOK {
		tt.t.Fatalf("get %s: %d %s", id, r.status, r.body)
	}
	var in instance
	r.json(tt.t, &in)
	return in
}

// Each failed state comes from the environment's name, after the provisioning delay,
// and is seen the same way through CIS and through KEB's last_operation.
func TestFailedStatesByName(t *testing.T) {
	tt := newTester(t, nil)
	const envs = "/provisioning/v1/environments"
	osbLast := func(id string) response {
		return tt.osb(http.MethodGet, "/oauth/v2/service_instances/"+id+"/last_operation", nil)
	}

	// fail-x: CREATION_FAILED once provisioning is over; no binding, no update.
	id := tt.createEnvironment("aws", "fail-x")
	in := tt.getInstance(id)
	if in.State != "CREATION_FAILED" || in.StateMessage != creationFailedMessage || in.Operation != "provision" || in.Status != "Processed" {
		t.Errorf("fail-x: %s %q %s %s", in.State, in.StateMessage, in.Operation, in.Status)
	}
	if strings.Contains(in.Labels, "APIServerURL") {
		t.Errorf("a failed creation has a cluster: %s", in.Labels)
	}
	wantBody(t, osbLast(id), 200, `{"state":"failed","description":`+jsonString(creationFailedMessage)+`}`)
	if r := tt.cis(http.MethodPut, envs+"/"+id+"/bindings", nil); r.status != 400 || !strings.Contains(string(r.body), "creation failed") {
		t.Errorf("bind of a failed environment: %d %s", r.status, r.body)
	}
	if r := tt.cis(http.MethodPatch, envs+"/"+id, map[string]any{"planName": "aws", "parameters": map[string]any{"autoScalerMax": 7}}); r.status != 422 ||
		!strings.Contains(string(r.body), "Unable to process an update of a failed instance") {
		t.Errorf("update of a failed environment: %d %s", r.status, r.body)
	}
	// It can still be deleted.
	if r := tt.cis(http.MethodDelete, envs+"/"+id, nil); r.status != http.StatusAccepted {
		t.Errorf("delete of a failed environment: %d %s", r.status, r.body)
	}
	tt.clock.Advance(5 * time.Second)
	if r := tt.cis(http.MethodGet, envs+"/"+id, nil); r.status != 404 {
		t.Errorf("failed environment after its deletion: %d", r.status)
	}

	// fail-delete-x: provisions fine, DELETING, then DELETION_FAILED and still there;
	// another delete tries again.
	id = tt.createEnvironment("aws", "fail-delete-x")
	if in := tt.getInstance(id); in.State != "OK" {
		t.Fatalf("fail-delete-x after provisioning: %s", in.State)
	}
	kept := newUUID()
	if r := tt.osb(http.MethodPut, bindingPath(id, kept), bindBody(nil)); r.status != http.StatusCreated {
		t.Fatalf("bind fail-delete-x: %d %s", r.status, r.body)
	}
	tt.cis(http.MethodDelete, envs+"/"+id, nil)
	if in := tt.getInstance(id); in.State != "DELETING" {
		t.Errorf("fail-delete-x right after delete: %s", in.State)
	}
	wantBody(t, osbLast(id), 200, `{"state":"in progress","description":"Operation created"}`)
	tt.clock.Advance(5 * time.Second)
	in = tt.getInstance(id)
	if in.State != "DELETION_FAILED" || in.StateMessage != deletionFailedMessage || in.Operation != "deprovision" || in.Type != "Deprovision" {
		t.Errorf("fail-delete-x: %s %q %s %s", in.State, in.StateMessage, in.Operation, in.Type)
	}
	wantBody(t, osbLast(id), 200, `{"state":"failed","description":`+jsonString(deletionFailedMessage)+`}`)
	// KEB's GET binding answers 404 once the last operation is a deprovisioning, failed
	// too (bind_get.go); the record is still there, so an unbind is 200 (bind_delete.go).
	wantBody(t, tt.osb(http.MethodGet, bindingPath(id, kept), nil), 404, `{"description":"Binding not found"}`)
	if r := tt.osb(http.MethodDelete, bindingPath(id, kept)+"?service_id="+kymaServiceID+"&plan_id="+awsPlanID, nil); r.status != http.StatusOK {
		t.Errorf("unbind after DELETION_FAILED: %d %s, want 200", r.status, r.body)
	}
	if r := tt.cis(http.MethodDelete, envs+"/"+id, nil); r.status != http.StatusAccepted {
		t.Errorf("delete again after DELETION_FAILED: %d %s", r.status, r.body)
	}
	if in := tt.getInstance(id); in.State != "DELETING" {
		t.Errorf("fail-delete-x deleted again: %s", in.State)
	}

	// fail-update-x: provisions fine, UPDATING, then UPDATE_FAILED with the old
	// parameters; it can still be bound and deleted.
	id = tt.createEnvironment("aws", "fail-update-x")
	if in := tt.getInstance(id); in.State != "OK" {
		t.Fatalf("fail-update-x after provisioning: %s", in.State)
	}
	r := tt.cis(http.MethodPatch, envs+"/"+id, map[string]any{"planName": "aws", "parameters": map[string]any{"autoScalerMax": 7}})
	if r.status != http.StatusAccepted {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	if in := tt.getInstance(id); in.State != "UPDATING" || in.Type != "Update" || in.Status != "Processing" {
		t.Errorf("fail-update-x right after update: %s %s %s", in.State, in.Type, in.Status)
	}
	tt.clock.Advance(5 * time.Second)
	in = tt.getInstance(id)
	if in.State != "UPDATE_FAILED" || in.StateMessage != updateFailedMessage || strings.Contains(in.Parameters, "autoScalerMax") {
		t.Errorf("fail-update-x: %s %q %s", in.State, in.StateMessage, in.Parameters)
	}
	wantBody(t, osbLast(id), 200, `{"state":"failed","description":`+jsonString(updateFailedMessage)+`}`)
	if r := tt.cis(http.MethodPut, envs+"/"+id+"/bindings", nil); r.status != http.StatusAccepted {
		t.Errorf("bind after UPDATE_FAILED: %d %s", r.status, r.body)
	}
	// The cluster is still there: the labels name it and its KubeconfigURL answers.
	if in := tt.getInstance(id); !strings.Contains(in.Labels, "KubeconfigURL") {
		t.Errorf("labels after UPDATE_FAILED: %s", in.Labels)
	}
	if r := tt.do(http.MethodGet, "/kubeconfig/"+id, nil, nil); r.status != http.StatusOK {
		t.Errorf("KubeconfigURL after UPDATE_FAILED: %d %s", r.status, r.body)
	}

	// The failed states survive a restart: they are derived from what is stored.
	tt.restart(nil)
	if in := tt.getInstance(id); in.State != "UPDATE_FAILED" {
		t.Errorf("after a restart: %s", in.State)
	}
}

func TestUpdateThroughCIS(t *testing.T) {
	tt := newTester(t, nil)
	id := tt.createEnvironment("aws", "upd")
	path := "/provisioning/v1/environments/" + id
	before := tt.getInstance(id)

	for _, tc := range []struct {
		body   any
		status int
		want   string
	}{
		{map[string]any{"parameters": map[string]any{"autoScalerMax": 7}}, 400, `Missing required property \"planName\"`},
		{map[string]any{"planName": "gcp"}, 400, "plan aws cannot be changed to gcp"},
		{map[string]any{"planName": "aws", "parameters": map[string]any{"machineType": "n2-standard-2"}}, 400, "at '/machineType': value must be one of"},
		{map[string]any{"planName": "aws", "parameters": map[string]any{"autoScalerMax": 301}}, 400, "at '/autoScalerMax': maximum: got 301, want 300"},
		{map[string]any{"planName": "aws", "parameters": map[string]any{"autoScalerMin": 9, "autoScalerMax": 5}}, 400, "should be larger than AutoScalerMin"},
		{`{"planName":`, 400, "Invalid request body"},
	} {
		if r := tt.cis(http.MethodPatch, path, tc.body); r.status != tc.status || !strings.Contains(string(r.body), tc.want) {
			t.Errorf("PATCH %v: %d %s, want %d %q", tc.body, r.status, r.body, tc.status, tc.want)
		}
	}
	if r := tt.cis(http.MethodPatch, "/provisioning/v1/environments/NOPE", map[string]any{"planName": "aws"}); r.status != 404 {
		t.Errorf("PATCH of an unknown environment: %d %s", r.status, r.body)
	}

	r := tt.cis(http.MethodPatch, path, map[string]any{"planName": "aws", "parameters": map[string]any{"autoScalerMax": 7, "machineType": "m6i.xlarge"}})
	if r.status != http.StatusAccepted || strings.TrimSpace(string(r.body)) != "{}" {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	in := tt.getInstance(id)
	if in.State != "UPDATING" || in.Operation != "update" || in.Parameters != before.Parameters {
		t.Errorf("while UPDATING: %s %s %s", in.State, in.Operation, in.Parameters)
	}
	// KEB accepts an update while another runs (docs/user/03-25-runtime-updates.md);
	// it builds on the running update's parameters.
	if r := tt.cis(http.MethodPatch, path, map[string]any{"planName": "aws", "parameters": map[string]any{"autoScalerMin": 3}}); r.status != http.StatusAccepted {
		t.Errorf("a second update while UPDATING: %d %s", r.status, r.body)
	}
	tt.clock.Advance(5 * time.Second)
	in = tt.getInstance(id)
	want := `{"autoScalerMax":7,"autoScalerMin":3,"machineType":"m6i.xlarge","name":"upd","region":"eu-central-1"}`
	if in.State != "OK" || in.StateMessage != "Environment instance updated." || in.Type != "Update" || in.Parameters != want {
		t.Errorf("after the update: %s %q %s %s, want parameters %s", in.State, in.StateMessage, in.Type, in.Parameters, want)
	}
	if in.ModifiedDate != tt.clock.Now().UnixMilli() {
		t.Errorf("modifiedDate %d, want the update's end %d", in.ModifiedDate, tt.clock.Now().UnixMilli())
	}
	// A second update merges into the first one's result.
	tt.cis(http.MethodPatch, path, map[string]any{"planName": "aws", "parameters": map[string]any{"autoScalerMin": 4}})
	tt.clock.Advance(5 * time.Second)
	if in := tt.getInstance(id); !strings.Contains(in.Parameters, `"autoScalerMin":4`) || !strings.Contains(in.Parameters, `"autoScalerMax":7`) {
		t.Errorf("after a second update: %s", in.Parameters)
	}

	// free may move to a paid plan.
	free := tt.createEnvironment("free", "free-one")
	if r := tt.cis(http.MethodPatch, "/provisioning/v1/environments/"+free, map[string]any{"planName": "aws"}); r.status != http.StatusAccepted {
		t.Fatalf("free to aws: %d %s", r.status, r.body)
	}
	tt.clock.Advance(5 * time.Second)
	if in := tt.getInstance(free); in.PlanName != "aws" || in.PlanID != awsPlanID {
		t.Errorf("after free to aws: plan %s %s", in.PlanName, in.PlanID)
	}
}

func TestUpdateThroughOSB(t *testing.T) {
	tt := newTester(t, nil)
	const iid = "5d3c0a4e-7f7e-4a53-9d8e-1c0f1f6e7b10"
	path := "/oauth/v2/service_instances/" + iid
	patch := func(query string, body any) response { return tt.osb(http.MethodPatch, path+query, body) }
	update := map[string]any{"service_id": kymaServiceID, "plan_id": awsPlanID, "context": map[string]any{}, "parameters": map[string]any{"autoScalerMax": 7}}

	wantBody(t, patch("?accepts_incomplete=true", update), 404, `{"description":"Cannot find Instance for instanceID:'`+iid+`'"}`)
	tt.osb(http.MethodPut, path+"?accepts_incomplete=true", provisionBody("osb-upd"))
	// GET of the instance: 404 while it is being provisioned (KEB instance_get.go).
	wantBody(t, tt.osb(http.MethodGet, path, nil), 404, `{"description":"provisioning of instanceID `+iid+` in progress"}`)
	tt.clock.Advance(5 * time.Second)
	var got struct {
		ServiceID string `json:"service_id"`
		PlanID    string `json:"plan_id"`
	}
	g := tt.osb(http.MethodGet, path, nil)
	g.json(t, &got)
	if g.status != http.StatusOK || got.PlanID != awsPlanID || got.ServiceID != kymaServiceID {
		t.Errorf("GET of the instance: %d %s", g.status, g.body)
	}

	wantBody(t, patch("?accepts_incomplete=true", `not json`), 422, `{"description":"invalid character 'o' in literal null (expecting 'u')"}`)
	wantBody(t, patch("?accepts_incomplete=true", map[string]any{"plan_id": awsPlanID, "context": map[string]any{}}), 400, `{"description":"service_id missing"}`)
	wantBody(t, patch("?accepts_incomplete=true", map[string]any{"service_id": kymaServiceID, "parameters": map[string]any{"autoScalerMax": 7}}), 500,
		`{"description":"unable to unmarshal context"}`)
	asyncRequired := `{"error":"AsyncRequired","description":"This service plan requires client support for asynchronous service operations."}`
	wantBody(t, patch("", update), 422, asyncRequired)
	// Nothing to do for KEB (no parameters, the instance's plan_id): 200 with the
	// dashboard URL and labels, with or without accepts_incomplete.
	for _, q := range []string{"", "?accepts_incomplete=true"} {
		r := patch(q, map[string]any{"service_id": kymaServiceID, "plan_id": awsPlanID, "context": map[string]any{}})
		var spec struct {
			DashboardURL string `json:"dashboard_url"`
			Metadata     struct{ Labels map[string]string }
		}
		r.json(t, &spec)
		if r.status != http.StatusOK || spec.DashboardURL == "" || spec.Metadata.Labels["Name"] != "osb-upd" {
			t.Errorf("PATCH%s with nothing to do: %d %s", q, r.status, r.body)
		}
	}
	// Without plan_id KEB sees a plan change ("" is not the instance's plan): it needs
	// accepts_incomplete, and then finds the parameters unchanged: 200 {}.
	noPlan := map[string]any{"service_id": kymaServiceID, "context": map[string]any{}}
	wantBody(t, patch("", noPlan), 422, asyncRequired)
	wantBody(t, patch("?accepts_incomplete=true", noPlan), 200, `{}`)

	r := patch("?accepts_incomplete=true", update)
	var op struct {
		Operation string
		Metadata  struct{ Labels map[string]string }
	}
	r.json(t, &op)
	if r.status != http.StatusAccepted || op.Operation == "" || op.Metadata.Labels["Name"] != "osb-upd" {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	// The same update again while it runs: KEB's running operation (202).
	again := patch("?accepts_incomplete=true", update)
	if !strings.Contains(string(again.body), op.Operation) || again.status != http.StatusAccepted {
		t.Errorf("the same update while it runs: %d %s, want 202 with %s", again.status, again.body, op.Operation)
	}
	last := path + "/last_operation?operation=" + op.Operation
	wantBody(t, tt.osb(http.MethodGet, last, nil), 200, `{"state":"in progress","description":"Operation created"}`)
	tt.clock.Advance(5 * time.Second)
	wantBody(t, tt.osb(http.MethodGet, last, nil), 200, `{"state":"succeeded","description":"Operation succeeded"}`)
	if in := tt.getInstance(iid); !strings.Contains(in.Parameters, `"autoScalerMax":7`) || in.State != "OK" {
		t.Errorf("after the OSB update: %s %s", in.State, in.Parameters)
	}
}
