package emulator

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const awsPlanID = "361c511f-f939-4621-b228-d0fb79a1fe15"

// bindBody is an OSB bind request body.
func bindBody(params map[string]any) map[string]any {
	b := map[string]any{"service_id": kymaServiceID, "plan_id": awsPlanID}
	if params != nil {
		b["parameters"] = params
	}
	return b
}

func bindingPath(instanceID, bindingID string) string {
	return "/oauth/v2/service_instances/" + instanceID + "/service_bindings/" + bindingID
}

// wantBody compares a response's JSON body with want (a JSON document).
func wantBody(t *testing.T, r response, wantStatus int, want string) {
	t.Helper()
	if r.status != wantStatus {
		t.Errorf("status = %d, want %d (body %s)", r.status, wantStatus, r.body)
	}
	var got, w any
	r.json(t, &got)
	if err := jsonUnmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(w, got); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

func TestOSBBind(t *testing.T) {
	tt := newTester(t, nil)
	iid := tt.createEnvironment("aws", "my-kyma")
	bid := newUUID()

	r := tt.osb(http.MethodPut, bindingPath(iid, bid), bindBody(map[string]any{"expiration_seconds": 1200, "token_request": true}))
	if r.status != http.StatusCreated {
		t.Fatalf("new binding: %d %s", r.status, r.body)
	}
	var first struct {
		Credentials struct{ Kubeconfig string }
		Metadata    struct {
			ExpiresAt string `json:"expires_at"`
		}
	}
	r.json(t, &first)
	if !strings.HasSuffix(first.Metadata.ExpiresAt, ".0Z") {
		t.Errorf("expires_at = %q, want KEB's .0Z ending", first.Metadata.ExpiresAt)
	}

	again := tt.osb(http.MethodPut, bindingPath(iid, bid), bindBody(map[string]any{"expiration_seconds": 1200}))
	if again.status != http.StatusOK || string(again.body) != string(r.body) {
		t.Errorf("same PUT again: %d %s, want 200 with the identical body", again.status, again.body)
	}
	wantBody(t, tt.osb(http.MethodPut, bindingPath(iid, bid), bindBody(map[string]any{"expiration_seconds": 600})),
		409, `{"description":"binding already exists but with different parameters"}`)
	wantBody(t, tt.osb(http.MethodPut, bindingPath(iid, bid), bindBody(nil)),
		409, `{"description":"binding already exists but with different parameters"}`)

	get := tt.osb(http.MethodGet, bindingPath(iid, bid), nil)
	wantBody(t, get, 200, `{"credentials":{"kubeconfig":`+jsonString(first.Credentials.Kubeconfig)+`}}`)

	wantBody(t, tt.osb(http.MethodGet, bindingPath(iid, bid)+"/last_operation", nil), 500, `{"description":"not supported"}`)

	del := tt.osb(http.MethodDelete, bindingPath(iid, bid)+"?service_id="+kymaServiceID+"&plan_id="+awsPlanID, nil)
	wantBody(t, del, 200, `{}`)
	if tt.backend.isLive(bid) {
		t.Error("objects survive the unbind")
	}
	wantBody(t, tt.osb(http.MethodDelete, bindingPath(iid, bid)+"?service_id="+kymaServiceID+"&plan_id="+awsPlanID, nil), 410, `{}`)
	wantBody(t, tt.osb(http.MethodGet, bindingPath(iid, bid), nil), 404, `{"description":"Binding not found"}`)
}

func TestOSBBindRefusals(t *testing.T) {
	tt := newTester(t, nil)
	iid := tt.createEnvironment("aws", "my-kyma")
	azure := tt.createEnvironment("azure", "az")
	exp := func(v any) map[string]any { return bindBody(map[string]any{"expiration_seconds": v}) }
	tests := []struct {
		name       string
		instance   string
		body       any
		wantStatus int
		want       string
	}{
		{"expiration 100", iid, exp(100), 400, `{"description":"expiration_seconds cannot be less than 600"}`},
		{"expiration 7201", iid, exp(7201), 400, `{"description":"expiration_seconds cannot be greater than 7200"}`},
		{"expiration x", iid, exp("x"), 400, `{"description":"failed to unmarshal parameters: cannot unmarshal string into expiration_seconds of type int"}`},
		{"parameters not an object", iid, map[string]any{"service_id": kymaServiceID, "plan_id": awsPlanID, "parameters": "x"}, 400,
			`{"description":"failed to unmarshal parameters: cannot unmarshal string into Go value of type broker.BindingParams"}`},
		{"no service_id", iid, map[string]any{"plan_id": awsPlanID}, 400, `{"description":"service_id missing"}`},
		{"no plan_id", iid, map[string]any{"service_id": kymaServiceID}, 400, `{"description":"plan_id missing"}`},
		{"ids not checked against the instance", iid, map[string]any{"service_id": "a", "plan_id": "b"}, 201, ""},
		{"not JSON", iid, "nope", 422, `{"description":"invalid character 'o' in literal null (expecting 'u')"}`},
		{"empty body", iid, "", 422, `{"description":"EOF"}`},
		{"unknown instance", "nope", bindBody(nil), 404, `{"description":"instance does not exist"}`},
		{"plan not bindable", azure, bindBody(nil), 422, `{"error":"BindingNotSupported","description":"binding is not supported"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tt.osb(http.MethodPut, bindingPath(tc.instance, newUUID()), tc.body)
			if tc.want == "" {
				if r.status != tc.wantStatus {
					t.Errorf("status = %d, want %d: %s", r.status, tc.wantStatus, r.body)
				}
				return
			}
			wantBody(t, r, tc.wantStatus, tc.want)
		})
	}

	t.Run("instance still provisioning", func(t *testing.T) {
		r := tt.osb(http.MethodPut, "/oauth/v2/service_instances/new-one?accepts_incomplete=true", provisionBody("fresh"))
		if r.status != 202 {
			t.Fatalf("provision: %d %s", r.status, r.body)
		}
		wantBody(t, tt.osb(http.MethodPut, bindingPath("new-one", newUUID()), bindBody(nil)), 400, `{"description":"instance new-one creation is in progress"}`)
	})

	t.Run("limit of 10 and expired ids", func(t *testing.T) {
		iid := tt.createEnvironment("aws", "limits")
		var ids []string
		for range 10 {
			id := newUUID()
			ids = append(ids, id)
			if r := tt.osb(http.MethodPut, bindingPath(iid, id), bindBody(nil)); r.status != 201 {
				t.Fatalf("bind: %d %s", r.status, r.body)
			}
		}
		wantBody(t, tt.osb(http.MethodPut, bindingPath(iid, newUUID()), bindBody(nil)), 400, `{"description":"maximum number of non expired bindings reached: 10"}`)
		// The same request for an existing id is no new binding: it still answers 200.
		if r := tt.osb(http.MethodPut, bindingPath(iid, ids[0]), bindBody(nil)); r.status != 200 {
			t.Errorf("repeat at the limit: %d %s", r.status, r.body)
		}
		tt.clock.Advance(601 * time.Second)
		wantBody(t, tt.osb(http.MethodGet, bindingPath(iid, ids[0]), nil), 404, `{"description":"Binding expired"}`)
		wantBody(t, tt.osb(http.MethodPut, bindingPath(iid, ids[0]), bindBody(nil)), 400,
			`{"description":"failed to insert Kyma binding into storage: binding with id `+ids[0]+` already exists"}`)
		wantBody(t, tt.osb(http.MethodPut, bindingPath(iid, ids[0]), bindBody(map[string]any{"expiration_seconds": 900})), 409,
			`{"description":"binding already exists but with different parameters"}`)
		if r := tt.osb(http.MethodPut, bindingPath(iid, newUUID()), bindBody(nil)); r.status != 201 {
			t.Errorf("a fresh id once the others expired: %d %s", r.status, r.body)
		}
		// Deleting an expired binding works and frees its id.
		wantBody(t, tt.osb(http.MethodDelete, bindingPath(iid, ids[0])+"?service_id=s&plan_id=p", nil), 200, `{}`)
		if r := tt.osb(http.MethodPut, bindingPath(iid, ids[0]), bindBody(nil)); r.status != 201 {
			t.Errorf("reuse of a deleted id: %d %s", r.status, r.body)
		}
	})

	t.Run("id that is not a Kubernetes name", func(t *testing.T) {
		r := tt.osb(http.MethodPut, bindingPath(iid, "Not_Valid"), bindBody(nil))
		if r.status != 500 || !strings.Contains(string(r.body), "failed to create a Kyma binding using service account's kubeconfig: while creating a service account") {
			t.Errorf("%d %s, want 500", r.status, r.body)
		}
		wantBody(t, tt.osb(http.MethodPut, bindingPath(iid, "Not_Valid"), bindBody(nil)), 422, `{"description":"binding creation already in progress"}`)
		wantBody(t, tt.osb(http.MethodGet, bindingPath(iid, "Not_Valid"), nil), 404, `{"description":"Binding creation in progress"}`)
		wantBody(t, tt.osb(http.MethodDelete, bindingPath(iid, "Not_Valid")+"?service_id=s&plan_id=p", nil), 200, `{}`)
	})
}

func TestOSBConcurrentBind(t *testing.T) {
	tt := newTester(t, nil)
	iid := tt.createEnvironment("aws", "my-kyma")
	bid := newUUID()
	release := make(chan struct{})
	tt.backend.set(func(f *fakeBackend) { f.block = release })
	token := tt.brokerToken()
	h := map[string]string{"Authorization": "bearer " + token, "X-Broker-API-Version": "2.14"}

	var wg sync.WaitGroup
	var first response
	wg.Go(func() { first = tt.do(http.MethodPut, bindingPath(iid, bid), bindBody(nil), h) })
	// Wait until the first request holds the id.
	for deadline := time.Now().Add(5 * time.Second); tt.e.s.store.binding(iid, bid) == nil; {
		if time.Now().After(deadline) {
			t.Fatal("the first bind never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	wantBody(t, tt.do(http.MethodPut, bindingPath(iid, bid), bindBody(nil), h), 422, `{"description":"binding creation already in progress"}`)
	wantBody(t, tt.do(http.MethodGet, bindingPath(iid, bid), nil, h), 404, `{"description":"Binding creation in progress"}`)
	close(release)
	wg.Wait()
	if first.status != 201 {
		t.Errorf("first bind: %d %s", first.status, first.body)
	}
	if r := tt.do(http.MethodPut, bindingPath(iid, bid), bindBody(nil), h); r.status != 200 {
		t.Errorf("after it finished: %d", r.status)
	}
	if s := tt.stats(); s.BindingsCreated != 1 || s.BindingRequests != 3 {
		t.Errorf("stats = %+v, want one binding made of three requests", s)
	}
}

func TestOSBBindTimeout(t *testing.T) {
	tt := newTester(t, func(o *Options) { o.BindTimeout = 100 * time.Millisecond })
	iid := tt.createEnvironment("aws", "slow")
	tt.backend.set(func(f *fakeBackend) { f.block = make(chan struct{}) })
	bid := newUUID()
	r := tt.osb(http.MethodPut, bindingPath(iid, bid), bindBody(nil))
	if r.status != 503 || string(r.body) != "request timeout: time exceeded 100ms" {
		t.Errorf("%d %q", r.status, r.body)
	}
	// As in KEB, the id is stuck until it expires or is deleted.
	tt.backend.set(func(f *fakeBackend) { f.block = nil })
	wantBody(t, tt.osb(http.MethodPut, bindingPath(iid, bid), bindBody(nil)), 422, `{"description":"binding creation already in progress"}`)
}

func TestOSBVersionAndRoutes(t *testing.T) {
	tt := newTester(t, nil)
	iid := tt.createEnvironment("aws", "my-kyma")
	token := "bearer " + tt.brokerToken()
	path := bindingPath(iid, newUUID())
	tests := []struct {
		name    string
		version string
		want    string
	}{
		{"missing", "", `{"Description":"X-Broker-API-Version Header not set"}`},
		{"not a version", "latest", `{"Description":"X-Broker-API-Version Header must contain a version"}`},
		{"major 3", "3.0", `{"Description":"X-Broker-API-Version Header must be 2.x"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{"Authorization": token}
			if tc.version != "" {
				h["X-Broker-API-Version"] = tc.version
			}
			wantBody(t, tt.do(http.MethodPut, path, bindBody(nil), h), 412, tc.want)
		})
	}
	t.Run("GET binding needs 2.14", func(t *testing.T) {
		wantBody(t, tt.do(http.MethodGet, path, nil, map[string]string{"Authorization": token, "X-Broker-API-Version": "2.13"}),
			412, `{"description":"get binding endpoint only supported starting with OSB version 2.14"}`)
	})
	t.Run("regional prefix", func(t *testing.T) {
		r := tt.osb(http.MethodPut, "/oauth/cf-eu11/v2/service_instances/"+iid+"/service_bindings/"+newUUID(), bindBody(nil))
		if r.status != 201 {
			t.Errorf("%d %s", r.status, r.body)
		}
	})
	t.Run("no /oauth prefix", func(t *testing.T) {
		r := tt.osb(http.MethodPut, strings.TrimPrefix(path, "/oauth"), bindBody(nil))
		if r.status != 404 || !strings.HasPrefix(string(r.body), "404 page not found") {
			t.Errorf("%d %q", r.status, r.body)
		}
	})
	t.Run("DELETE without ids", func(t *testing.T) {
		wantBody(t, tt.osb(http.MethodDelete, path+"?plan_id=p", nil), 400, `{"description":"service_id missing"}`)
		wantBody(t, tt.osb(http.MethodDelete, path+"?service_id=s", nil), 400, `{"description":"plan_id missing"}`)
	})
	t.Run("DELETE on an unknown instance", func(t *testing.T) {
		wantBody(t, tt.osb(http.MethodDelete, bindingPath("nope", "x")+"?service_id=s&plan_id=p", nil), 410, `{}`)
	})
	t.Run("no token", func(t *testing.T) {
		r := tt.do(http.MethodPut, path, bindBody(nil), map[string]string{"X-Broker-API-Version": "2.14"})
		if r.status != 401 || r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%d", r.status)
		}
	})
}

func provisionBody(name string) map[string]any {
	return map[string]any{
		"service_id": kymaServiceID, "plan_id": awsPlanID,
		"context":    map[string]any{"globalaccount_id": "ga", "subaccount_id": "sa", "user_id": "jane@example.com"},
		"parameters": map[string]any{"name": name, "region": "eu-central-1"},
	}
}

func TestOSBProvisioning(t *testing.T) {
	tt := newTester(t, nil)
	const iid = "c2a1b7a4-5f7e-4a53-9d8e-1c0f1f6e7b10"
	path := "/oauth/v2/service_instances/" + iid

	// KEB provisions asynchronously whether or not accepts_incomplete is sent.
	if r := tt.osb(http.MethodPut, "/oauth/v2/service_instances/0a1b2c3d-0000-4000-8000-000000000001", provisionBody("no-flag")); r.status != http.StatusAccepted {
		t.Errorf("provision without accepts_incomplete: %d %s, want 202", r.status, r.body)
	}
	noContext := provisionBody("k")
	delete(noContext, "context")
	wantBody(t, tt.osb(http.MethodPut, path+"?accepts_incomplete=true", noContext), 400, `{"description":"while decoding context: unexpected end of JSON input"}`)
	badPlan := provisionBody("k")
	badPlan["plan_id"] = "nope"
	wantBody(t, tt.osb(http.MethodPut, path+"?accepts_incomplete=true", badPlan), 400, `{"description":"plan-id not in the catalog"}`)

	r := tt.osb(http.MethodPut, path+"?accepts_incomplete=true", provisionBody("k"))
	var op struct {
		Operation string
		Metadata  struct{ Labels map[string]string }
	}
	r.json(t, &op)
	if r.status != 202 || op.Operation == "" || op.Metadata.Labels["Name"] != "k" {
		t.Fatalf("provision: %d %s", r.status, r.body)
	}
	again := tt.osb(http.MethodPut, path+"?accepts_incomplete=true", provisionBody("k"))
	if again.status != 202 || !strings.Contains(string(again.body), op.Operation) {
		t.Errorf("same provision again: %d %s", again.status, again.body)
	}
	wantBody(t, tt.osb(http.MethodPut, path+"?accepts_incomplete=true", provisionBody("other")), 409, `{"description":"provisioning operation already exist"}`)

	wantBody(t, tt.osb(http.MethodGet, path+"/last_operation", nil), 200, `{"state":"in progress","description":"Operation created"}`)
	tt.clock.Advance(5 * time.Second)
	wantBody(t, tt.osb(http.MethodGet, path+"/last_operation?operation="+op.Operation, nil), 200, `{"state":"succeeded","description":"Operation succeeded"}`)

	// The same environment through the Provisioning Service API.
	var in instance
	tt.cis(http.MethodGet, "/provisioning/v1/environments/"+iid, nil).json(t, &in)
	if in.State != "OK" || in.GlobalAccountGUID != "ga" || in.Name != "k" {
		t.Errorf("CIS view of the OSB instance: %+v", in)
	}

	wantBody(t, tt.osb(http.MethodDelete, path+"?plan_id="+awsPlanID, nil), 400, `{"description":"service_id missing"}`)
	del := tt.osb(http.MethodDelete, path+"?service_id="+kymaServiceID+"&plan_id="+awsPlanID+"&accepts_incomplete=true", nil)
	var dop struct{ Operation string }
	del.json(t, &dop)
	if del.status != 202 || dop.Operation == "" || dop.Operation == op.Operation {
		t.Fatalf("deprovision: %d %s", del.status, del.body)
	}
	wantBody(t, tt.osb(http.MethodGet, path+"/last_operation?operation="+dop.Operation, nil), 200, `{"state":"in progress","description":"Operation created"}`)
	tt.clock.Advance(5 * time.Second)
	wantBody(t, tt.osb(http.MethodGet, path+"/last_operation?operation="+dop.Operation, nil), 200,
		`{"state":"succeeded","description":"Operation succeeded. The instance was deprovisioned."}`)
	wantBody(t, tt.osb(http.MethodDelete, path+"?service_id="+kymaServiceID+"&plan_id="+awsPlanID, nil), 200, `{}`)
	wantBody(t, tt.osb(http.MethodGet, "/oauth/v2/service_instances/never/last_operation", nil), 404, `{"description":"Operation not found"}`)

	// KEB removed GET /info/runtimes in February 2026 (#2797): its file server answers 404.
	if r := tt.do(http.MethodGet, "/info/runtimes", nil, map[string]string{"Authorization": "bearer " + tt.brokerToken()}); r.status != 404 {
		t.Errorf("GET /info/runtimes: %d %s, want 404", r.status, r.body)
	}
}

func TestJanitorRevokesAtReportedExpiry(t *testing.T) {
	tt := newTester(t, func(o *Options) { o.BindingTTL = time.Minute })
	iid := tt.createEnvironment("aws", "short")
	bid := newUUID()
	r := tt.osb(http.MethodPut, bindingPath(iid, bid), bindBody(nil))
	var b struct {
		Metadata struct {
			ExpiresAt string `json:"expires_at"`
		}
	}
	r.json(t, &b)
	if want := tt.clock.Now().Add(time.Minute).UTC().Format(expiresAtLayout); b.Metadata.ExpiresAt != want {
		t.Errorf("expires_at = %s, want the TTL's %s", b.Metadata.ExpiresAt, want)
	}
	tt.e.s.sweep(t.Context())
	if tt.backend.isRevoked(bid) {
		t.Fatal("revoked before the reported expiry")
	}
	tt.clock.Advance(time.Minute)
	tt.e.s.sweep(t.Context())
	if !tt.backend.isRevoked(bid) {
		t.Fatal("not revoked once the reported expiry passed")
	}
	if s := tt.stats(); s.LiveBindings != 0 {
		t.Errorf("liveBindings = %d after expiry", s.LiveBindings)
	}
	if rec := tt.e.s.store.binding(iid, bid); rec == nil || !rec.Revoked {
		t.Errorf("record = %+v, want Revoked", rec)
	}
}

func TestStateSurvivesRestart(t *testing.T) {
	tt := newTester(t, nil)
	iid := tt.createEnvironment("aws", "keep")
	bid := newUUID()
	created := tt.osb(http.MethodPut, bindingPath(iid, bid), bindBody(nil))
	creating := tt.cis(http.MethodPost, "/provisioning/v1/environments", map[string]any{
		"environmentType": "kyma", "serviceName": "kymaruntime", "planName": "trial", "parameters": map[string]any{"name": "later"},
	})
	var c struct{ ID string }
	creating.json(t, &c)

	tt.restart(nil)
	if r := tt.osb(http.MethodPut, bindingPath(iid, bid), bindBody(nil)); r.status != 200 || string(r.body) != string(created.body) {
		t.Errorf("binding after restart: %d %s", r.status, r.body)
	}
	var in instance
	tt.cis(http.MethodGet, "/provisioning/v1/environments/"+c.ID, nil).json(t, &in)
	if in.State != "CREATING" {
		t.Errorf("state after restart = %s, want CREATING still", in.State)
	}
	tt.clock.Advance(5 * time.Second)
	tt.cis(http.MethodGet, "/provisioning/v1/environments/"+c.ID, nil).json(t, &in)
	if in.State != "OK" {
		t.Errorf("state after the delay = %s, want OK", in.State)
	}
}

func TestBackendFailureOnDelete(t *testing.T) {
	tt := newTester(t, nil)
	iid := tt.createEnvironment("aws", "x")
	tt.backend.set(func(f *fakeBackend) { f.failDelete = errors.New("cluster down") })
	bid := newUUID()
	tt.osb(http.MethodPut, bindingPath(iid, bid), bindBody(nil))
	r := tt.osb(http.MethodDelete, bindingPath(iid, bid)+"?service_id=s&plan_id=p", nil)
	if r.status != 500 || !strings.Contains(string(r.body), "failed to delete resources for binding "+bid) {
		t.Errorf("%d %s", r.status, r.body)
	}
	if r := tt.cis(http.MethodDelete, "/provisioning/v1/environments/"+iid, nil); r.status != 500 {
		t.Errorf("environment delete with a failing cluster: %d", r.status)
	}
}

func TestOSBCatalog(t *testing.T) {
	tt := newTester(t, nil)
	var cat struct {
		Services []struct {
			ID    string
			Name  string
			Plans []struct {
				ID, Name string
				Bindable bool
			}
		}
	}
	r := tt.osb(http.MethodGet, "/oauth/v2/catalog", nil)
	r.json(t, &cat)
	if r.status != 200 || len(cat.Services) != 1 || cat.Services[0].ID != kymaServiceID || len(cat.Services[0].Plans) != 7 {
		t.Fatalf("catalog: %d %s", r.status, r.body)
	}
	for _, p := range cat.Services[0].Plans {
		if want := p.Name != "azure" && p.Name != "azure_lite"; p.Bindable != want {
			t.Errorf("plan %s bindable = %v, want %v", p.Name, p.Bindable, want)
		}
	}
}

// TestBindWhileDeprovisioning: KEB's bind handler refuses only while provisioning is in
// progress or failed (bind_create.go), so an instance being deprovisioned is bound, in
// both APIs. The bindings made then die with the environment.
func TestBindWhileDeprovisioning(t *testing.T) {
	tt := newTester(t, nil)
	iid := tt.createEnvironment("aws", "going")
	early := newUUID()
	if r := tt.osb(http.MethodPut, bindingPath(iid, early), bindBody(nil)); r.status != http.StatusCreated {
		t.Fatalf("OSB bind before the delete: %d %s", r.status, r.body)
	}
	if r := tt.cis(http.MethodDelete, "/provisioning/v1/environments/"+iid, nil); r.status != http.StatusAccepted {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	bid := newUUID()
	if r := tt.osb(http.MethodPut, bindingPath(iid, bid), bindBody(nil)); r.status != http.StatusCreated {
		t.Fatalf("OSB bind while DELETING: %d %s, want 201", r.status, r.body)
	}
	r := tt.cis(http.MethodPut, "/provisioning/v1/environments/"+iid+"/bindings", nil)
	if r.status != http.StatusAccepted || r.header.Get("Location") == "" {
		t.Fatalf("CIS bind while DELETING: %d %s, want 202", r.status, r.body)
	}
	cisID := r.header.Get("Location")
	// KEB's GetBinding answers 404 once the last operation is a deprovisioning.
	wantBody(t, tt.osb(http.MethodGet, bindingPath(iid, bid), nil), 404, `{"description":"Binding not found"}`)
	if !tt.backend.isLive(bid) || !tt.backend.isLive(cisID) {
		t.Fatal("the bindings made while DELETING have no Kubernetes objects")
	}
	// KEB keeps binding records while deprovisioning: an unbind then is 200, not 410.
	if r := tt.osb(http.MethodDelete, bindingPath(iid, early)+"?service_id="+kymaServiceID+"&plan_id="+awsPlanID, nil); r.status != http.StatusOK {
		t.Errorf("unbind while DELETING: %d %s, want 200", r.status, r.body)
	}
	tt.clock.Advance(5 * time.Second)
	tt.e.s.sweep(t.Context())
	if tt.backend.isLive(bid) || tt.backend.isLive(cisID) || len(tt.e.s.store.bindings(iid)) != 0 {
		t.Error("the environment is gone but the bindings made while it was DELETING live on")
	}
}
