package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kubectl-kyma/kubectl-kyma/internal/auth"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
)

var ctx = context.Background()

func TestBindingServiceLifecycle(t *testing.T) {
	keb := newFakeKEB()
	svc := keb.start(t).Bindings(BindingConfig{})

	b1, err := svc.Create(ctx, "I1", time.Hour)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	b2, err := svc.Create(ctx, "I1", 0)
	if err != nil {
		t.Fatalf("second Create: %v", err)
	}
	if !isUUIDv4(b1.ID) || !isUUIDv4(b2.ID) || b1.ID == b2.ID {
		t.Errorf("ids %q and %q: want two different lowercase UUID v4", b1.ID, b2.ID)
	}
	want := &binding.Binding{ID: b1.ID, EnvironmentID: "I1", Kubeconfig: kubeconfig(fakeJWT(t0.Add(time.Hour))), ExpiresAt: t0.Add(time.Hour)}
	if diff := cmp.Diff(want, b1); diff != "" {
		t.Errorf("Create (-want +got):\n%s", diff)
	}
	if !b2.ExpiresAt.Equal(t0.Add(600 * time.Second)) {
		t.Errorf("default lifetime: expires %v", b2.ExpiresAt)
	}

	// GET has no expires_at: the token's exp gives the same time.
	got, err := svc.Get(ctx, "I1", b1.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Get (-want +got):\n%s", diff)
	}

	if err := svc.Delete(ctx, "I1", b1.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	err = svc.Delete(ctx, "I1", b1.ID)
	if !errors.Is(err, binding.ErrNotFound) || errors.Is(err, binding.ErrExpired) {
		t.Errorf("second Delete: %v, want ErrNotFound (410 Gone) and not ErrExpired", err)
	}
	if diff := cmp.Diff("the Kyma Environment Broker answered 410 Gone", errString(err)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	_, err = svc.Get(ctx, "I1", b1.ID)
	if !errors.Is(err, binding.ErrNotFound) || errString(err) != "the Kyma Environment Broker answered 404 Not Found: Binding not found" {
		t.Errorf("Get after Delete: %v", err)
	}

	if _, err := svc.List(ctx, "I1"); !errors.Is(err, ErrListNotSupported) {
		t.Errorf("List: %v, want ErrListNotSupported", err)
	}

	// The wire: version header, service and plan ids, expiration, DELETE's query.
	reqs := keb.seen()
	for _, r := range reqs {
		if r.Version != "2.14" || r.Accept != "application/json" {
			t.Errorf("%s %s: X-Broker-API-Version %q, Accept %q", r.Method, r.Path, r.Version, r.Accept)
		}
	}
	path := "/oauth/cf-eu10/v2/service_instances/I1/service_bindings/" + b1.ID
	wantReqs := []seen{
		{Method: "PUT", Path: path, Body: `{"service_id":"47c9dcbf-ff30-448e-ab36-d3bad66ba281","plan_id":"361c511f-f939-4621-b228-d0fb79a1fe15","parameters":{"expiration_seconds":3600}}`},
		{Method: "PUT", Path: "/oauth/cf-eu10/v2/service_instances/I1/service_bindings/" + b2.ID, Body: `{"service_id":"47c9dcbf-ff30-448e-ab36-d3bad66ba281","plan_id":"361c511f-f939-4621-b228-d0fb79a1fe15"}`},
		{Method: "GET", Path: path},
		{Method: "DELETE", Path: path, Query: "plan_id=361c511f-f939-4621-b228-d0fb79a1fe15&service_id=47c9dcbf-ff30-448e-ab36-d3bad66ba281"},
		{Method: "DELETE", Path: path, Query: "plan_id=361c511f-f939-4621-b228-d0fb79a1fe15&service_id=47c9dcbf-ff30-448e-ab36-d3bad66ba281"},
		{Method: "GET", Path: path},
	}
	for i := range reqs {
		reqs[i].Version, reqs[i].Accept = "", ""
	}
	if diff := cmp.Diff(wantReqs, reqs); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestBindSameIDAgain(t *testing.T) {
	keb := newFakeKEB()
	c := keb.start(t)
	req := BindRequest{ServiceID: KymaServiceID, PlanID: AWSPlanID, Expiration: time.Hour}
	first, err := c.Bind(ctx, "I1", "b-1", req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Bind(ctx, "I1", "b-1", req) // 200, the identical body
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("same PUT again (-want +got):\n%s", diff)
	}
	req.Expiration = 2 * time.Hour
	_, err = c.Bind(ctx, "I1", "b-1", req)
	if diff := cmp.Diff("the Kyma Environment Broker answered 409 Conflict: binding already exists but with different parameters", errString(err)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestBindErrors(t *testing.T) {
	tests := []struct {
		name     string
		instance string
		req      BindRequest
		setup    func(f *fakeKEB)
		want     string
		is       []error
	}{
		{
			name: "expiration below 600", instance: "I1",
			req:  BindRequest{ServiceID: KymaServiceID, PlanID: AWSPlanID, Expiration: 100 * time.Second},
			want: "the Kyma Environment Broker answered 400 Bad Request: expiration_seconds cannot be less than 600",
		},
		{
			name: "expiration above 7200", instance: "I1",
			req:  BindRequest{ServiceID: KymaServiceID, PlanID: AWSPlanID, Expiration: 7201 * time.Second},
			want: "the Kyma Environment Broker answered 400 Bad Request: expiration_seconds cannot be greater than 7200",
		},
		{
			name: "no service_id", instance: "I1", req: BindRequest{PlanID: AWSPlanID},
			want: "the Kyma Environment Broker answered 400 Bad Request: service_id missing",
		},
		{
			name: "unknown instance", instance: "nope", req: BindRequest{ServiceID: KymaServiceID, PlanID: AWSPlanID},
			want: "the Kyma Environment Broker answered 404 Not Found: instance does not exist",
			is:   []error{binding.ErrNotFound},
		},
		{
			name: "instance still provisioning", instance: "I2", req: BindRequest{ServiceID: KymaServiceID, PlanID: AWSPlanID},
			want: "the Kyma Environment Broker answered 400 Bad Request: instance I2 creation is in progress",
			is:   []error{binding.ErrNotReady},
		},
		{
			name: "an 11th live binding", instance: "I1", req: BindRequest{ServiceID: KymaServiceID, PlanID: AWSPlanID},
			setup: func(f *fakeKEB) {
				for i := range 10 {
					f.bindings[fmt.Sprintf("I1/old-%d", i)] = &fakeBinding{expiresAt: t0.Add(time.Hour)}
				}
			},
			want: "the Kyma Environment Broker answered 400 Bad Request: maximum number of non expired bindings reached: 10",
			is:   []error{binding.ErrLimitReached},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keb := newFakeKEB()
			if tt.setup != nil {
				tt.setup(keb)
			}
			_, err := keb.start(t).Bind(ctx, tt.instance, NewBindingID(), tt.req)
			if diff := cmp.Diff(tt.want, errString(err)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			for _, target := range tt.is {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(err, %v) = false", target)
				}
			}
		})
	}
}

func TestAPIErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header map[string]string
		body   string
		want   string
		is     []error
		isNot  []error
	}{
		{"plan not bindable", 422, nil, `{"error":"BindingNotSupported","description":"binding is not supported"}`,
			"the Kyma Environment Broker answered 422 Unprocessable Entity: binding is not supported (the instance's plan does not allow bindings)", nil, nil},
		{"concurrent PUT", 422, nil, `{"description":"binding creation already in progress"}`,
			"the Kyma Environment Broker answered 422 Unprocessable Entity: binding creation already in progress", nil, []error{binding.ErrNotReady}},
		{"no version header", 412, nil, `{"Description":"X-Broker-API-Version Header not set"}`,
			"the Kyma Environment Broker answered 412 Precondition Failed: X-Broker-API-Version Header not set", nil, nil},
		{"path without /oauth", 404, map[string]string{"Content-Type": "text/plain"}, "404 page not found",
			"the Kyma Environment Broker answered 404 Not Found with a body that is not JSON; check that the broker URL ends in /oauth or /oauth/<region>",
			nil, []error{binding.ErrNotFound}},
		{"expired binding", 404, nil, `{"description":"Binding expired"}`,
			"the Kyma Environment Broker answered 404 Not Found: Binding expired", []error{binding.ErrExpired, binding.ErrNotFound}, nil},
		{"binding half-made", 404, nil, `{"description":"Binding creation in progress"}`,
			"the Kyma Environment Broker answered 404 Not Found: Binding creation in progress", []error{binding.ErrNotReady}, []error{binding.ErrNotFound, binding.ErrExpired}},
		{"bind timeout", 503, nil, `{"description":"request timeout: time exceeded 15s"}`,
			"the Kyma Environment Broker answered 503 Service Unavailable: request timeout: time exceeded 15s", nil, nil},
		{"token refused", 401, map[string]string{"WWW-Authenticate": `Bearer error="invalid_token", error_description="token is expired"`}, ``,
			"the Kyma Environment Broker refused the access token (401 Unauthorized): token is expired", []error{binding.ErrUnauthorized}, nil},
		{"HTML error page", 500, map[string]string{"Content-Type": "text/html"}, `<html>stack trace here</html>`,
			"the Kyma Environment Broker answered 500 Internal Server Error with a body that is not JSON", nil, nil},
		{"error code only", 422, nil, `{"error":"AsyncRequired"}`,
			"the Kyma Environment Broker answered 422 Unprocessable Entity: AsyncRequired", nil, nil},
		{"empty body", 500, nil, ``, "the Kyma Environment Broker answered 500 Internal Server Error", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			_, err := New(srv.URL+"/oauth", nil).GetBinding(ctx, "I1", "b-1")
			if diff := cmp.Diff(tt.want, errString(err)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			for _, target := range tt.is {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(err, %v) = false", target)
				}
			}
			for _, target := range tt.isNot {
				if errors.Is(err, target) {
					t.Errorf("errors.Is(err, %v) = true", target)
				}
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.StatusCode != tt.status {
				t.Errorf("error %T: want *APIError %d", err, tt.status)
			}
			if strings.Contains(errString(err), "stack trace") {
				t.Errorf("the raw body leaked into the error")
			}
		})
	}
}

func TestMissingVersionHeaderIsWhatKEBSays(t *testing.T) {
	// Guard the fake: without the header it answers 412, so the lifecycle test
	// passing proves the header is sent.
	keb := newFakeKEB()
	srv := httptest.NewServer(keb)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/oauth/cf-eu10/v2/service_instances/I1/service_bindings/b-1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 412 {
		t.Errorf("status %d, want 412", resp.StatusCode)
	}
}

func TestCreateNamesTheIDOfAnUncertainBinding(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(503)
		fmt.Fprint(w, `{"description":"request timeout: time exceeded 15s"}`)
	}))
	defer srv.Close()
	_, err := New(srv.URL+"/oauth", nil).Bindings(BindingConfig{}).Create(ctx, "I1", 0)
	msg := errString(err)
	id, rest, ok := strings.Cut(strings.TrimPrefix(msg, "binding "), " ")
	if !ok || !isUUIDv4(id) || rest != "may exist in an unknown state: the Kyma Environment Broker answered 503 Service Unavailable: request timeout: time exceeded 15s" {
		t.Errorf("error %q", msg)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 503 {
		t.Errorf("the *APIError is not wrapped")
	}
}

func TestBindRejectsIDsKEBWouldStick(t *testing.T) {
	keb := newFakeKEB()
	c := keb.start(t)
	for _, id := range []string{"", "B-1", "b_1", "-b", "b-", strings.Repeat("a", 51), "b.1"} {
		if _, err := c.Bind(ctx, "I1", id, BindRequest{ServiceID: KymaServiceID, PlanID: AWSPlanID}); err == nil {
			t.Errorf("Bind accepted id %q", id)
		}
	}
	if _, err := c.Bind(ctx, "I1", strings.Repeat("a", 50), BindRequest{ServiceID: KymaServiceID, PlanID: AWSPlanID}); err != nil {
		t.Errorf("50-character id: %v", err)
	}
	if _, err := c.Bind(ctx, "I1", "b-2", BindRequest{Expiration: -time.Second}); err == nil {
		t.Errorf("negative expiration accepted")
	}
	if n := len(keb.seen()); n != 1 {
		t.Errorf("%d requests, want only the valid one", n)
	}
}

func TestBindExpiryFallbacks(t *testing.T) {
	jwtExp := t0.Add(30 * time.Minute)
	kc, _ := json.Marshal(kubeconfig(fakeJWT(jwtExp)))
	noJWT, _ := json.Marshal(kubeconfig("opaque"))
	tests := []struct {
		name string
		body string
		exp  time.Duration
		want time.Time
	}{
		{"metadata.expires_at", `{"credentials":{"kubeconfig":` + string(kc) + `},"metadata":{"expires_at":"2026-11-23T10:00:37.0Z"}}`, time.Hour, t0.Add(time.Hour + 37*time.Second)},
		{"top-level expiresAt", `{"credentials":{"kubeconfig":` + string(kc) + `},"expiresAt":"2026-11-23T09:10:00Z"}`, time.Hour, t0.Add(10 * time.Minute)},
		{"the token's exp", `{"credentials":{"kubeconfig":` + string(kc) + `}}`, time.Hour, jwtExp},
		{"estimate from the request", `{"credentials":{"kubeconfig":` + string(noJWT) + `}}`, time.Hour, t0.Add(time.Hour)},
		{"estimate with KEB's default", `{"credentials":{"kubeconfig":` + string(noJWT) + `}}`, 0, t0.Add(600 * time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Date", t0.Format(http.TimeFormat))
				w.WriteHeader(201)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			c := New(srv.URL+"/oauth", nil)
			c.Clock = clock.NewFake(t0)
			b, err := c.Bind(ctx, "I1", "b-1", BindRequest{ServiceID: KymaServiceID, PlanID: AWSPlanID, Expiration: tt.exp})
			if err != nil {
				t.Fatal(err)
			}
			if !b.ExpiresAt.Equal(tt.want) {
				t.Errorf("ExpiresAt %v, want %v", b.ExpiresAt, tt.want)
			}
		})
	}
}

func TestProvisioning(t *testing.T) {
	keb := newFakeKEB()
	c := keb.start(t)
	op, err := c.Provision(ctx, "I9", ProvisionRequest{ServiceID: KymaServiceID, PlanID: AWSPlanID,
		Context:    map[string]any{"globalaccount_id": "ga", "subaccount_id": "sa", "user_id": "me@example.com"},
		Parameters: map[string]any{"name": "my-kyma", "region": "eu-central-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&Operation{Operation: "op-prov", DashboardURL: "https://dash", Async: true}, op); diff != "" {
		t.Errorf("Provision (-want +got):\n%s", diff)
	}
	lo, err := c.LastOperation(ctx, "I9", "op-prov", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&LastOperation{State: StateInProgress, Description: "operation in progress"}, lo); diff != "" {
		t.Errorf("LastOperation (-want +got):\n%s", diff)
	}
	op, err = c.Deprovision(ctx, "I9", KymaServiceID, AWSPlanID)
	if err != nil || op.Operation != "op-deprov" || !op.Async {
		t.Errorf("Deprovision = %+v, %v", op, err)
	}
	if _, err := c.Deprovision(ctx, "I9", KymaServiceID, AWSPlanID); !errors.Is(err, binding.ErrNotFound) {
		t.Errorf("Deprovision of a gone instance: %v, want ErrNotFound (410)", err)
	}
	if _, err := c.LastOperation(ctx, "I9", "", "", ""); !errors.Is(err, binding.ErrNotFound) {
		t.Errorf("LastOperation of a gone instance: %v, want ErrNotFound (410)", err)
	}
	reqs := keb.seen()
	want := []seen{
		{Method: "PUT", Path: "/oauth/cf-eu10/v2/service_instances/I9", Query: "accepts_incomplete=true",
			Body: `{"service_id":"47c9dcbf-ff30-448e-ab36-d3bad66ba281","plan_id":"361c511f-f939-4621-b228-d0fb79a1fe15","context":{"globalaccount_id":"ga","subaccount_id":"sa","user_id":"me@example.com"},"parameters":{"name":"my-kyma","region":"eu-central-1"}}`},
		{Method: "GET", Path: "/oauth/cf-eu10/v2/service_instances/I9/last_operation", Query: "operation=op-prov"},
		{Method: "DELETE", Path: "/oauth/cf-eu10/v2/service_instances/I9", Query: "accepts_incomplete=true&plan_id=361c511f-f939-4621-b228-d0fb79a1fe15&service_id=47c9dcbf-ff30-448e-ab36-d3bad66ba281"},
		{Method: "DELETE", Path: "/oauth/cf-eu10/v2/service_instances/I9", Query: "accepts_incomplete=true&plan_id=361c511f-f939-4621-b228-d0fb79a1fe15&service_id=47c9dcbf-ff30-448e-ab36-d3bad66ba281"},
		{Method: "GET", Path: "/oauth/cf-eu10/v2/service_instances/I9/last_operation"},
	}
	for i := range reqs {
		reqs[i].Version, reqs[i].Accept = "", ""
	}
	if diff := cmp.Diff(want, reqs); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestOperationAnswers(t *testing.T) {
	for _, tt := range []struct {
		status int
		body   string
		want   Operation
	}{
		{202, `{"operation":"op"}`, Operation{Operation: "op", Async: true}},
		{200, `{}`, Operation{}},
		{200, ``, Operation{}},
		{201, `{"dashboard_url":"https://d"}`, Operation{DashboardURL: "https://d"}},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tt.status)
			fmt.Fprint(w, tt.body)
		}))
		op, err := New(srv.URL+"/oauth", nil).Provision(ctx, "I1", ProvisionRequest{})
		if diff := cmp.Diff(&tt.want, op); err != nil || diff != "" {
			t.Errorf("provision %d %s: %v (-want +got):\n%s", tt.status, tt.body, err, diff)
		}
		// KEB answers 200 {} to the deprovisioning of an instance it does not have
		// (instance_deprovision.go): no error, nothing to wait for.
		if tt.status != http.StatusCreated {
			op, err = New(srv.URL+"/oauth", nil).Deprovision(ctx, "I1", KymaServiceID, AWSPlanID)
			if diff := cmp.Diff(&tt.want, op); err != nil || diff != "" {
				t.Errorf("deprovision %d %s: %v (-want +got):\n%s", tt.status, tt.body, err, diff)
			}
		}
		srv.Close()
	}
}

func TestPlanIDFor(t *testing.T) {
	keb := newFakeKEB()
	c := keb.start(t)
	plans := map[string]string{"I1": AzurePlanID}
	svc := c.Bindings(BindingConfig{PlanIDFor: func(_ context.Context, id string) (string, error) {
		if p, ok := plans[id]; ok {
			return p, nil
		}
		return "", fmt.Errorf("no plan known for %s: %w", id, binding.ErrNotFound)
	}})
	if _, err := svc.Create(ctx, "I1", 0); err != nil {
		t.Fatal(err)
	}
	reqs := keb.seen()
	if last := reqs[len(reqs)-1]; !strings.Contains(last.Body, `"plan_id":"`+AzurePlanID+`"`) {
		t.Errorf("bind body %s, want the azure plan id", last.Body)
	}
	if _, err := svc.Create(ctx, "unknown", 0); !errors.Is(err, binding.ErrNotFound) ||
		errString(err) != `look up the plan of instance "unknown": no plan known for unknown: not found` {
		t.Errorf("Create for an instance without a plan: %v", err)
	}
}

func TestNewBindingID(t *testing.T) {
	seenIDs := map[string]bool{}
	for range 1000 {
		id := NewBindingID()
		if !isUUIDv4(id) || !validBindingID(id) {
			t.Fatalf("%q is not a lowercase UUID v4 KEB accepts", id)
		}
		if seenIDs[id] {
			t.Fatalf("%q generated twice", id)
		}
		seenIDs[id] = true
	}
}

func TestTransportErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL + "/oauth"
	srv.Close()
	_, err := New(base, nil).GetBinding(ctx, "I1", "b-1")
	if prefix := "cannot reach the Kyma Environment Broker at " + base + ": "; !strings.HasPrefix(errString(err), prefix) {
		t.Errorf("error %q, want prefix %q", errString(err), prefix)
	}

	uaa := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		fmt.Fprint(w, `{"error":"invalid_client","error_description":"Bad credentials"}`)
	}))
	defer uaa.Close()
	keb := newFakeKEB()
	api := keb.start(t)
	ts := auth.NewTokenSource(auth.Config{UAAURL: uaa.URL, ClientID: "id", ClientSecret: "top-secret"}, "", uaa.Client())
	_, err = New(api.BaseURL(), auth.NewHTTPClient(ts, nil)).GetBinding(ctx, "I1", "b-1")
	if errString(err) != "the UAA refused the client credentials (invalid_client: Bad credentials); check the service key" ||
		!errors.Is(err, binding.ErrUnauthorized) {
		t.Errorf("error %v", err)
	}
	if len(keb.seen()) != 0 {
		t.Errorf("KEB was called without a token")
	}
}

func isUUIDv4(s string) bool {
	if len(s) != 36 || s[14] != '4' || !strings.ContainsRune("89ab", rune(s[19])) {
		return false
	}
	for i, ch := range s {
		switch i {
		case 8, 13, 18, 23:
			if ch != '-' {
				return false
			}
		default:
			if !(ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'f') {
				return false
			}
		}
	}
	return true
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// An update is a PATCH with accepts_incomplete, service_id and a context (KEB fails
// without one), plan_id only when asked for.
func TestUpdateRequest(t *testing.T) {
	var method, query, body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		method, query, body = r.Method, r.URL.RawQuery, string(b)
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprint(w, `{"operation":"op-1","metadata":{"labels":{"Name":"x"}}}`)
	}))
	defer srv.Close()
	op, err := New(srv.URL+"/oauth", nil).Update(ctx, "I1", UpdateRequest{ServiceID: "svc", Parameters: map[string]any{"autoScalerMax": 7}})
	if err != nil {
		t.Fatal(err)
	}
	if method != http.MethodPatch || query != "accepts_incomplete=true" || body != `{"service_id":"svc","context":{},"parameters":{"autoScalerMax":7}}` {
		t.Errorf("sent %s ?%s %s", method, query, body)
	}
	if diff := cmp.Diff(&Operation{Operation: "op-1", Async: true}, op); diff != "" {
		t.Errorf("operation (-want +got):\n%s", diff)
	}
}
