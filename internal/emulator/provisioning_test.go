package emulator

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAvailableEnvironments(t *testing.T) {
	tt := newTester(t, nil)
	r := tt.cis(http.MethodGet, "/provisioning/v1/availableEnvironments", nil)
	if r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	var got struct {
		AvailableEnvironments []struct {
			EnvironmentType, ServiceName, PlanName, Description, AvailabilityLevel string
			PlanUpdatable                                                          bool
			CreateSchema, UpdateSchema                                             string
		}
	}
	r.json(t, &got)
	var names []string
	for _, e := range got.AvailableEnvironments {
		names = append(names, e.PlanName)
		if e.EnvironmentType != "kyma" || e.ServiceName != "kymaruntime" || e.Description == "" || e.AvailabilityLevel != "available" {
			t.Errorf("entry %+v", e)
		}
		var schema struct {
			Properties map[string]struct{ Enum []string }
			Required   []string
		}
		if err := json.Unmarshal([]byte(e.CreateSchema), &schema); err != nil {
			t.Fatalf("%s createSchema is not a JSON string of a schema: %v", e.PlanName, err)
		}
		if !json.Valid([]byte(e.UpdateSchema)) {
			t.Errorf("%s updateSchema is not JSON", e.PlanName)
		}
		regions := schema.Properties["region"].Enum
		switch e.PlanName {
		case "trial":
			if regions != nil || slices.Contains(schema.Required, "region") {
				t.Errorf("trial offers regions %v", regions)
			}
		case "aws", "free":
			if !slices.Contains(regions, "eu-central-1") || !slices.Contains(schema.Required, "region") {
				t.Errorf("%s regions = %v, required %v", e.PlanName, regions, schema.Required)
			}
		case "sap-converged-cloud":
			if diff := cmp.Diff([]string{"eu-de-2"}, regions); diff != "" {
				t.Errorf("sap-converged-cloud regions in cf-eu10 (-want +got):\n%s", diff)
			}
		default:
			if len(regions) == 0 {
				t.Errorf("%s has no regions", e.PlanName)
			}
		}
	}
	if diff := cmp.Diff([]string{"aws", "azure", "azure_lite", "gcp", "sap-converged-cloud", "trial", "free"}, names); diff != "" {
		t.Errorf("plans (-want +got):\n%s", diff)
	}
}

func TestEnvironmentLifecycle(t *testing.T) {
	tt := newTester(t, nil)
	created := tt.clock.Now()
	r := tt.cis(http.MethodPost, "/provisioning/v1/environments", map[string]any{
		"environmentType": "kyma", "serviceName": "kymaruntime", "planName": "aws", "user": "jane@example.com",
		"parameters": map[string]any{"name": "my-kyma", "region": "eu-central-1"},
	})
	if r.status != http.StatusAccepted {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var idOnly map[string]string
	r.json(t, &idOnly)
	id := idOnly["id"]
	if len(idOnly) != 1 || id == "" || id != strings.ToUpper(id) {
		t.Fatalf("create body = %s, want {\"id\"} with an uppercase UUID", r.body)
	}

	get := func() instance {
		t.Helper()
		r := tt.cis(http.MethodGet, "/provisioning/v1/environments/"+id, nil)
		if r.status != 200 {
			t.Fatalf("get: %d %s", r.status, r.body)
		}
		var in instance
		r.json(t, &in)
		return in
	}
	in := get()
	globalAccount, subaccount, broker := tt.e.s.store.ids()
	want := instance{
		ID: id, Name: "my-kyma", BrokerID: broker, GlobalAccountGUID: globalAccount, SubaccountGUID: subaccount, TenantID: subaccount,
		ServiceID: kymaServiceID, PlanID: "361c511f-f939-4621-b228-d0fb79a1fe15", ServiceName: "kymaruntime", PlanName: "aws",
		EnvironmentType: "kyma", Operation: "provision", Type: "Provision", Status: "Processing", State: "CREATING",
		StateMessage: "Provisioning in progress.", Parameters: `{"name":"my-kyma","region":"eu-central-1"}`, Labels: `{"Name":"my-kyma"}`,
		CustomLabels: map[string][]string{}, LandscapeLabel: "cf-eu10", PlatformID: in.PlatformID,
		CreatedDate: created.UnixMilli(), ModifiedDate: created.UnixMilli(),
	}
	if diff := cmp.Diff(want, in); diff != "" {
		t.Errorf("CREATING instance (-want +got):\n%s", diff)
	}

	r = tt.cis(http.MethodPut, "/provisioning/v1/environments/"+id+"/bindings", nil)
	if r.status != 400 || !strings.Contains(string(r.body), "instance "+id+" creation is in progress") {
		t.Errorf("bind while CREATING: %d %s", r.status, r.body)
	}

	tt.clock.Advance(5 * time.Second)
	in = get()
	var labels map[string]string
	if err := json.Unmarshal([]byte(in.Labels), &labels); err != nil {
		t.Fatalf("labels is not a JSON string: %v", err)
	}
	wantLabels := map[string]string{"Name": "my-kyma", "KubeconfigURL": tt.e.URL + "/kubeconfig/" + id, "APIServerURL": "https://127.0.0.1:6443"}
	if diff := cmp.Diff(wantLabels, labels); diff != "" {
		t.Errorf("OK labels (-want +got):\n%s", diff)
	}
	if in.State != "OK" || in.Status != "Processed" || in.ModifiedDate != created.Add(5*time.Second).UnixMilli() {
		t.Errorf("OK instance: state %s status %s modified %d", in.State, in.Status, in.ModifiedDate)
	}
	kc := tt.do(http.MethodGet, "/kubeconfig/"+id, nil, nil)
	if kc.status != 200 || !strings.Contains(string(kc.body), "server: https://127.0.0.1:6443") || strings.Contains(string(kc.body), "token") {
		t.Errorf("KubeconfigURL: %d %s", kc.status, kc.body)
	}

	var list struct{ EnvironmentInstances []instance }
	tt.cis(http.MethodGet, "/provisioning/v1/environments", nil).json(t, &list)
	if len(list.EnvironmentInstances) != 1 || list.EnvironmentInstances[0].ID != id {
		t.Errorf("list = %+v", list)
	}

	bind := tt.cis(http.MethodPut, "/provisioning/v1/environments/"+id+"/bindings", nil)
	if bind.status != http.StatusAccepted {
		t.Fatalf("bind: %d %s", bind.status, bind.body)
	}
	bindingID := bind.header.Get("Location")

	r = tt.cis(http.MethodDelete, "/provisioning/v1/environments/"+id, nil)
	if r.status != http.StatusAccepted {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	var deleted instance
	r.json(t, &deleted)
	if deleted.State != "OK" || deleted.ID != id {
		t.Errorf("delete answered with %s %s, want the instance as it was (OK)", deleted.ID, deleted.State)
	}
	if tt.backend.isLive(bindingID) {
		t.Error("deleting the environment left its binding's Kubernetes objects")
	}
	if in := get(); in.State != "DELETING" || in.Operation != "deprovision" || in.Type != "Deprovision" {
		t.Errorf("after delete: %s %s %s", in.State, in.Operation, in.Type)
	}
	if r := tt.cis(http.MethodDelete, "/provisioning/v1/environments/"+id, nil); r.status != http.StatusAccepted {
		t.Errorf("second delete while DELETING: %d", r.status)
	}

	tt.clock.Advance(5 * time.Second)
	r = tt.cis(http.MethodGet, "/provisioning/v1/environments/"+id, nil)
	var gone cisError
	r.json(t, &gone)
	if r.status != 404 || gone.Error.Message != "Environment instance not found" || gone.Error.CorrelationID == "" || gone.Error.Code == 0 {
		t.Errorf("gone: %d %s", r.status, r.body)
	}
	tt.cis(http.MethodGet, "/provisioning/v1/environments", nil).json(t, &list)
	if len(list.EnvironmentInstances) != 0 {
		t.Errorf("list after deletion = %+v", list)
	}
	if r := tt.cis(http.MethodDelete, "/provisioning/v1/environments/"+id, nil); r.status != 404 {
		t.Errorf("delete of a deleted environment: %d", r.status)
	}
}

func TestCreateEnvironmentRefusals(t *testing.T) {
	tt := newTester(t, nil)
	good := func() map[string]any {
		return map[string]any{
			"environmentType": "kyma", "serviceName": "kymaruntime", "planName": "aws",
			"parameters": map[string]any{"name": "x", "region": "eu-central-1"},
		}
	}
	with := func(k string, v any) map[string]any { b := good(); b[k] = v; return b }
	without := func(k string) map[string]any { b := good(); delete(b, k); return b }
	tests := []struct {
		name    string
		body    any
		message string
	}{
		{"no environmentType", without("environmentType"), `Missing required property "environmentType"`},
		{"no planName", without("planName"), `Missing required property "planName"`},
		{"no serviceName", without("serviceName"), `Missing required property "serviceName"`},
		{"cloudfoundry", with("environmentType", "cloudfoundry"), "is not available"},
		{"unknown plan", with("planName", "huge"), `Plan "huge"`},
		{"no name", with("parameters", map[string]any{"region": "eu-central-1"}), "missing property 'name'"},
		{"bad name", with("parameters", map[string]any{"name": "a b", "region": "eu-central-1"}), "does not match pattern"},
		{"no region", with("parameters", map[string]any{"name": "x"}), "missing property 'region'"},
		{"other provider's region", with("parameters", map[string]any{"name": "x", "region": "westeurope"}), "value must be one of"},
		{"not JSON", "{", "Invalid request body"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tt.cis(http.MethodPost, "/provisioning/v1/environments", tc.body)
			var e cisError
			r.json(t, &e)
			if r.status != 400 || !strings.Contains(e.Error.Message, tc.message) || e.Error.Target != "/provisioning/v1/environments" {
				t.Errorf("%d %s, want 400 saying %q", r.status, r.body, tc.message)
			}
		})
	}
	t.Run("trial needs no region", func(t *testing.T) {
		r := tt.cis(http.MethodPost, "/provisioning/v1/environments", with("planName", "trial"))
		if r.status != http.StatusAccepted {
			t.Errorf("%d %s", r.status, r.body)
		}
	})
}

func TestCISBindings(t *testing.T) {
	tt := newTester(t, nil)
	id := tt.createEnvironment("aws", "my-kyma")
	path := "/provisioning/v1/environments/" + id + "/bindings"

	r := tt.cis(http.MethodPut, path, map[string]any{"parameters": map[string]any{"expiration_seconds": 900}, "serviceInstanceId": id, "planId": "whatever"})
	if r.status != http.StatusAccepted {
		t.Fatalf("bind: %d %s", r.status, r.body)
	}
	bid := r.header.Get("Location")
	if bid == "" || strings.Contains(bid, "/") {
		t.Fatalf("Location = %q, want a bare binding id", bid)
	}
	var created struct {
		Credentials struct{ Kubeconfig string }
		Metadata    struct {
			ExpiresAt string `json:"expires_at"`
		}
	}
	r.json(t, &created)
	wantExpiry := tt.clock.Now().Add(900*time.Second).UTC().Format("2006-01-02T15:04:05") + ".0Z"
	if created.Metadata.ExpiresAt != wantExpiry {
		t.Errorf("expires_at = %q, want %q", created.Metadata.ExpiresAt, wantExpiry)
	}
	if !strings.HasPrefix(created.Credentials.Kubeconfig, "\n---\n") || !strings.Contains(created.Credentials.Kubeconfig, "token: token-"+bid) {
		t.Errorf("kubeconfig = %q", created.Credentials.Kubeconfig)
	}

	var list struct {
		Bindings []bindingListEntry
	}
	tt.cis(http.MethodGet, path, nil).json(t, &list)
	wantList := []bindingListEntry{{
		BindingID: bid, InstanceID: id, CreatedBy: tt.serviceKey().Credentials.UAA.ClientID,
		CreatedDate: tt.clock.Now().UnixMilli(), ExpiresAt: tt.clock.Now().Add(900 * time.Second).UnixMilli(),
	}}
	if diff := cmp.Diff(wantList, list.Bindings); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}

	r = tt.cis(http.MethodGet, path+"/"+bid, nil)
	var got map[string]map[string]string
	r.json(t, &got)
	if r.status != 200 || got["credentials"]["kubeconfig"] != created.Credentials.Kubeconfig || len(got) != 1 {
		t.Errorf("get: %d %s", r.status, r.body)
	}

	if r := tt.cis(http.MethodDelete, path+"/"+bid, nil); r.status != 200 {
		t.Errorf("delete: %d %s", r.status, r.body)
	}
	if tt.backend.isLive(bid) {
		t.Error("the binding's Kubernetes objects survived its deletion")
	}
	if r := tt.cis(http.MethodGet, path+"/"+bid, nil); r.status != 404 || len(r.body) != 0 {
		t.Errorf("get after delete: %d %q, want 404 with an empty body", r.status, r.body)
	}
	if r := tt.cis(http.MethodDelete, path+"/"+bid, nil); r.status != 404 {
		t.Errorf("delete again: %d, want 404", r.status)
	}
	tt.cis(http.MethodGet, path, nil).json(t, &list)
	if list.Bindings == nil || len(list.Bindings) != 0 {
		t.Errorf("list after delete: %+v, want []", list)
	}
	if r := tt.cis(http.MethodGet, "/provisioning/v1/environments/NOPE/bindings", nil); r.status != 404 {
		t.Errorf("bindings of an unknown environment: %d", r.status)
	}
}

func TestCISBindingRefusals(t *testing.T) {
	tt := newTester(t, nil)
	id := tt.createEnvironment("aws", "my-kyma")
	azure := tt.createEnvironment("azure", "az")
	path := "/provisioning/v1/environments/" + id + "/bindings"
	exp := func(v any) map[string]any {
		return map[string]any{"parameters": map[string]any{"expiration_seconds": v}}
	}
	tests := []struct {
		name       string
		path       string
		body       any
		wantStatus int
		message    string
	}{
		{"too short", path, exp(100), 400, "expiration_seconds cannot be less than 600"},
		{"too long", path, exp(7201), 400, "expiration_seconds cannot be greater than 7200"},
		{"not a number", path, exp("x"), 400, "failed to unmarshal parameters: cannot unmarshal string into expiration_seconds of type int"},
		{"not bindable", "/provisioning/v1/environments/" + azure + "/bindings", nil, 422, "binding is not supported"},
		{"not JSON", path, "{", 400, "Invalid request body"},
		{"unknown environment", "/provisioning/v1/environments/NOPE/bindings", nil, 404, "Environment instance not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tt.cis(http.MethodPut, tc.path, tc.body)
			var e cisError
			r.json(t, &e)
			if r.status != tc.wantStatus || e.Error.Message != tc.message && !strings.HasPrefix(e.Error.Message, tc.message) {
				t.Errorf("%d %s, want %d %q", r.status, r.body, tc.wantStatus, tc.message)
			}
		})
	}
	t.Run("limit of 10", func(t *testing.T) {
		for i := range 10 {
			if r := tt.cis(http.MethodPut, path, nil); r.status != http.StatusAccepted {
				t.Fatalf("binding %d: %d %s", i+1, r.status, r.body)
			}
		}
		r := tt.cis(http.MethodPut, path, nil)
		var e cisError
		r.json(t, &e)
		if r.status != 400 || e.Error.Message != "maximum number of non expired bindings reached: 10" {
			t.Errorf("11th: %d %s", r.status, r.body)
		}
		tt.clock.Advance(601 * time.Second)
		if r := tt.cis(http.MethodPut, path, nil); r.status != http.StatusAccepted {
			t.Errorf("after the others expired: %d %s", r.status, r.body)
		}
	})
	if s := tt.stats(); s.BindingsCreated != 11 || s.BindingRequests != 18 || s.LiveBindings != 1 {
		t.Errorf("stats = %+v", s)
	}
}

func TestCISBindTimeout(t *testing.T) {
	tt := newTester(t, func(o *Options) { o.BindTimeout = 100 * time.Millisecond })
	id := tt.createEnvironment("aws", "slow")
	tt.backend.set(func(f *fakeBackend) { f.block = make(chan struct{}) })
	r := tt.cis(http.MethodPut, "/provisioning/v1/environments/"+id+"/bindings", nil)
	var e cisError
	r.json(t, &e)
	if r.status != 503 || e.Error.Message != "request timeout: time exceeded 100ms" {
		t.Errorf("%d %s", r.status, r.body)
	}
}
