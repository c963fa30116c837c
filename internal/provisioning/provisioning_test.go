package provisioning

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kubectl-kyma/kubectl-kyma/internal/auth"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
)

// recorded is one request the fake service saw.
type recorded struct {
	Method, Path, Accept, ContentType, Body string
}

// fakeCIS answers every request with status, headers and body, and records it.
type fakeCIS struct {
	mu       sync.Mutex
	status   int
	header   map[string]string
	body     string
	requests []recorded
}

func (f *fakeCIS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, recorded{r.Method, r.URL.EscapedPath(), r.Header.Get("Accept"), r.Header.Get("Content-Type"), string(b)})
	// The fake's clock is the client's fixed clock: no skew unless a test sets Date.
	w.Header().Set("Date", t0.Format(http.TimeFormat))
	for k, v := range f.header {
		w.Header().Set(k, v)
	}
	if f.body != "" && w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(f.status)
	fmt.Fprint(w, f.body)
}

func newFake(t *testing.T, status int, body string, header map[string]string) (*Client, *fakeCIS) {
	t.Helper()
	f := &fakeCIS{status: status, body: body, header: header}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c := New(srv.URL+"/", srv.Client())
	c.Clock = clock.NewFake(t0)
	return c, f
}

var (
	ctx = context.Background()
	t0  = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
)

// fakeJWT is an unsigned JWT whose exp is exp.
func fakeJWT(exp time.Time) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"RS256"}`)) + "." +
		enc.EncodeToString([]byte(fmt.Sprintf(`{"sub":"system:serviceaccount:kyma-system:kyma-binding-x","exp":%d}`, exp.Unix()))) + ".c2ln"
}

func kubeconfig(token string) string {
	return "\n---\napiVersion: v1\nkind: Config\nusers:\n- name: my-kyma\n  user:\n    token: " + token + "\n"
}

func TestRequests(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		call   func(c *Client) error
		want   recorded
	}{
		{"available environments", 200, `{"availableEnvironments":[]}`,
			func(c *Client) error { _, err := c.AvailableEnvironments(ctx); return err },
			recorded{Method: "GET", Path: "/provisioning/v1/availableEnvironments"}},
		{"list environments", 200, `{"environmentInstances":[]}`,
			func(c *Client) error { _, err := c.ListEnvironments(ctx); return err },
			recorded{Method: "GET", Path: "/provisioning/v1/environments"}},
		{"get environment", 200, `{"id":"E1"}`,
			func(c *Client) error { _, err := c.GetEnvironment(ctx, "E1"); return err },
			recorded{Method: "GET", Path: "/provisioning/v1/environments/E1"}},
		{"create environment", 202, `{"id":"E1"}`,
			func(c *Client) error {
				_, err := c.CreateEnvironment(ctx, CreateEnvironmentRequest{PlanName: "aws", User: "me@example.com",
					Parameters: map[string]any{"name": "my-kyma", "region": "eu-central-1"}})
				return err
			},
			recorded{Method: "POST", Path: "/provisioning/v1/environments", ContentType: "application/json",
				Body: `{"environmentType":"kyma","serviceName":"kymaruntime","planName":"aws","user":"me@example.com","parameters":{"name":"my-kyma","region":"eu-central-1"}}`}},
		{"delete environment", 202, `{"id":"E1","state":"DELETING"}`,
			func(c *Client) error { _, err := c.DeleteEnvironment(ctx, "E1"); return err },
			recorded{Method: "DELETE", Path: "/provisioning/v1/environments/E1"}},
		{"create binding", 202, `{"credentials":{"kubeconfig":"x"}}`,
			func(c *Client) error { _, err := c.CreateBinding(ctx, "E1", 3600*time.Second); return err },
			recorded{Method: "PUT", Path: "/provisioning/v1/environments/E1/bindings", ContentType: "application/json",
				Body: `{"parameters":{"expiration_seconds":3600}}`}},
		{"create binding, service default lifetime", 202, `{"credentials":{"kubeconfig":"x"}}`,
			func(c *Client) error { _, err := c.CreateBinding(ctx, "E1", 0); return err },
			recorded{Method: "PUT", Path: "/provisioning/v1/environments/E1/bindings", ContentType: "application/json", Body: `{}`}},
		{"create binding rounds up to whole seconds", 202, `{"credentials":{"kubeconfig":"x"}}`,
			func(c *Client) error {
				_, err := c.CreateBinding(ctx, "E1", 600*time.Second+time.Millisecond)
				return err
			},
			recorded{Method: "PUT", Path: "/provisioning/v1/environments/E1/bindings", ContentType: "application/json",
				Body: `{"parameters":{"expiration_seconds":601}}`}},
		{"list bindings", 200, `{"bindings":[]}`,
			func(c *Client) error { _, err := c.ListBindings(ctx, "E1"); return err },
			recorded{Method: "GET", Path: "/provisioning/v1/environments/E1/bindings"}},
		{"get binding", 200, `{"credentials":{"kubeconfig":"x"}}`,
			func(c *Client) error { _, err := c.GetBinding(ctx, "E1", "B1"); return err },
			recorded{Method: "GET", Path: "/provisioning/v1/environments/E1/bindings/B1"}},
		{"delete binding, ids escaped", 200, ``,
			func(c *Client) error { return c.DeleteBinding(ctx, "E 1", "B/1") },
			recorded{Method: "DELETE", Path: "/provisioning/v1/environments/E%201/bindings/B%2F1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, f := newFake(t, tt.status, tt.body, map[string]string{"Location": "B1"})
			if err := tt.call(c); err != nil {
				t.Fatalf("call: %v", err)
			}
			tt.want.Accept = "application/json"
			if diff := cmp.Diff([]recorded{tt.want}, f.requests); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEmptyIDs(t *testing.T) {
	c, f := newFake(t, 200, `{}`, nil)
	for name, err := range map[string]error{
		"get environment":    func() error { _, err := c.GetEnvironment(ctx, ""); return err }(),
		"delete environment": func() error { _, err := c.DeleteEnvironment(ctx, " "); return err }(),
		"create binding":     func() error { _, err := c.CreateBinding(ctx, "", 0); return err }(),
		"get binding":        func() error { _, err := c.GetBinding(ctx, "E1", ""); return err }(),
		"list bindings":      func() error { _, err := c.ListBindings(ctx, ""); return err }(),
		"delete binding":     c.DeleteBinding(ctx, "E1", ""),
	} {
		if err == nil || !strings.HasPrefix(err.Error(), "no ") {
			t.Errorf("%s: error %v, want one naming the missing id", name, err)
		}
	}
	if _, err := c.CreateBinding(ctx, "E1", -time.Second); err == nil || err.Error() != "binding expiration -1s is negative" {
		t.Errorf("negative expiration: %v", err)
	}
	if len(f.requests) != 0 {
		t.Errorf("%d requests sent for invalid arguments", len(f.requests))
	}
}

// instanceJSON is an instance as the live service sends it: parameters and labels as
// strings, dates as epoch ms, and a field this client does not know.
const instanceJSON = `{"id":"E1","name":"my-kyma","brokerId":"KEB","globalAccountGUID":"ga","subaccountGUID":"sa",
"tenantId":"t","serviceId":"47c9dcbf-ff30-448e-ab36-d3bad66ba281","planId":"361c511f-f939-4621-b228-d0fb79a1fe15",
"serviceName":"kymaruntime","planName":"aws","environmentType":"kyma","operation":"provision","type":"Provision",
"status":"Processed","state":"OK","stateMessage":"Environment was created successfully",
"parameters":"{\"name\":\"my-kyma\",\"region\":\"eu-central-1\"}",
"labels":"{\"Name\":\"my-kyma\",\"APIServerURL\":\"https://api.c-1.kyma.ondemand.com\"}",
"customLabels":{"team":["a"]},"dashboardUrl":"https://dash","landscapeLabel":"cf-eu10","platformId":"p",
"createdDate":1763888400000,"modifiedDate":1763889000000,"somethingNew":{"x":1}}`

func wantInstance() Environment {
	return Environment{
		ID: "E1", Name: "my-kyma", BrokerID: "KEB", GlobalAccountGUID: "ga", SubaccountGUID: "sa", TenantID: "t",
		ServiceID: "47c9dcbf-ff30-448e-ab36-d3bad66ba281", PlanID: "361c511f-f939-4621-b228-d0fb79a1fe15",
		ServiceName: "kymaruntime", PlanName: "aws", EnvironmentType: "kyma", Operation: "provision", Type: "Provision",
		Status: "Processed", State: "OK", StateMessage: "Environment was created successfully",
		Parameters:   Object{"name": "my-kyma", "region": "eu-central-1"},
		Labels:       Object{"Name": "my-kyma", "APIServerURL": "https://api.c-1.kyma.ondemand.com"},
		CustomLabels: Object{"team": []any{"a"}},
		DashboardURL: "https://dash", LandscapeLabel: "cf-eu10", PlatformID: "p",
		CreatedDate:  Time{time.UnixMilli(1763888400000).UTC()},
		ModifiedDate: Time{time.UnixMilli(1763889000000).UTC()},
		Raw:          json.RawMessage(instanceJSON),
	}
}

func TestGetEnvironmentDecoding(t *testing.T) {
	objectForm := strings.NewReplacer(
		`"parameters":"{\"name\":\"my-kyma\",\"region\":\"eu-central-1\"}"`, `"parameters":{"name":"my-kyma","region":"eu-central-1"}`,
		`"labels":"{\"Name\":\"my-kyma\",\"APIServerURL\":\"https://api.c-1.kyma.ondemand.com\"}"`, `"labels":{"Name":"my-kyma","APIServerURL":"https://api.c-1.kyma.ondemand.com"}`,
		`"createdDate":1763888400000`, `"createdDate":"2025-11-23T09:00:00Z"`,
		`"modifiedDate":1763889000000`, `"modifiedDate":"1763889000000"`,
	).Replace(instanceJSON)
	for name, body := range map[string]string{"as the live service sends it": instanceJSON, "objects and RFC 3339": objectForm} {
		t.Run(name, func(t *testing.T) {
			c, _ := newFake(t, 200, body, nil)
			got, err := c.GetEnvironment(ctx, "E1")
			if err != nil {
				t.Fatal(err)
			}
			want := wantInstance()
			want.Raw = json.RawMessage(body)
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if got.DisplayName() != "my-kyma" || got.APIServerURL() != "https://api.c-1.kyma.ondemand.com" || !got.Ready() || got.Failed() {
				t.Errorf("helpers: %q %q %v %v", got.DisplayName(), got.APIServerURL(), got.Ready(), got.Failed())
			}
			out, err := json.Marshal(got)
			var compact bytes.Buffer
			_ = json.Compact(&compact, []byte(body)) // encoding/json compacts what MarshalJSON returns
			if err != nil || string(out) != compact.String() {
				t.Errorf("MarshalJSON does not give the service's JSON back: %s, %v", out, err)
			}
		})
	}
}

func TestEnvironmentMarshalWithoutRaw(t *testing.T) {
	e := Environment{ID: "E1", State: StateCreating, CreatedDate: Time{time.UnixMilli(1763888400000)}}
	b, err := json.Marshal(e)
	if diff := cmp.Diff(`{"id":"E1","state":"CREATING","createdDate":1763888400000}`, string(b)); diff != "" || err != nil {
		t.Errorf("(-want +got):\n%s %v", diff, err)
	}
}

func TestListAndAvailableEnvironments(t *testing.T) {
	c, _ := newFake(t, 200, `{"environmentInstances":[`+instanceJSON+`,{"id":"E2","state":"CREATION_FAILED"}]}`, nil)
	envs, err := c.ListEnvironments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Environment{wantInstance(), {ID: "E2", State: "CREATION_FAILED", Raw: json.RawMessage(`{"id":"E2","state":"CREATION_FAILED"}`)}}
	if diff := cmp.Diff(want, envs); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !envs[1].Failed() {
		t.Errorf("CREATION_FAILED is not Failed()")
	}

	avail := `{"environmentType":"kyma","serviceName":"kymaruntime","planName":"aws","description":"AWS","planUpdatable":true,` +
		`"availabilityLevel":"GA","createSchema":"{\"type\":\"object\"}","updateSchema":{"type":"object"},"technicalKey":"k"}`
	c, _ = newFake(t, 200, `{"availableEnvironments":[`+avail+`]}`, nil)
	got, err := c.AvailableEnvironments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantAvail := []AvailableEnvironment{{EnvironmentType: "kyma", ServiceName: "kymaruntime", PlanName: "aws", Description: "AWS",
		PlanUpdatable: true, AvailabilityLevel: "GA", CreateSchema: Object{"type": "object"}, UpdateSchema: Object{"type": "object"},
		Raw: json.RawMessage(avail)}}
	if diff := cmp.Diff(wantAvail, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestCreateAndDeleteEnvironment(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		header  map[string]string
		wantID  string
		wantErr string
	}{
		{"202 with id", 202, `{"id":"E1"}`, nil, "E1", ""},
		{"201 accepted too", 201, `{"id":"E1"}`, nil, "E1", ""},
		{"id only in Location", 202, ``, map[string]string{"Location": "/provisioning/v1/environments/E1"}, "E1", ""},
		{"no id at all", 202, `{}`, nil, "", "the Provisioning Service accepted the environment but did not return its id"},
		{"body not JSON", 202, `<html>`, nil, "", "the Provisioning Service answered 202 with a body that is not the expected JSON: invalid character '<' looking for beginning of value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newFake(t, tt.status, tt.body, tt.header)
			env, err := c.CreateEnvironment(ctx, CreateEnvironmentRequest{PlanName: "aws"})
			if diff := cmp.Diff(tt.wantErr, errString(err)); diff != "" {
				t.Fatalf("error (-want +got):\n%s", diff)
			}
			if err == nil && env.ID != tt.wantID {
				t.Errorf("id %q, want %q", env.ID, tt.wantID)
			}
		})
	}

	c, _ := newFake(t, 202, ``, nil)
	env, err := c.DeleteEnvironment(ctx, "E1")
	if err != nil || env.ID != "E1" {
		t.Errorf("delete with an empty answer: %+v, %v", env, err)
	}
	c, _ = newFake(t, 202, `{"id":"E1","state":"OK"}`, nil)
	env, err = c.DeleteEnvironment(ctx, "E1")
	if err != nil || env.State != "OK" {
		t.Errorf("delete answering the instance as it was: %+v, %v", env, err)
	}
}

func TestAPIErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		header map[string]string
		want   string
		is     []error
		isNot  []error
		check  func(t *testing.T, e *APIError)
	}{
		{
			name:   "404 environment not found",
			status: 404,
			body:   `{"error":{"code":41000,"message":"Environment instance not found","target":"/provisioning/v1/environments/E1","correlationID":"corr-1"}}`,
			want:   "the Provisioning Service answered 404 Not Found: Environment instance not found",
			is:     []error{binding.ErrNotFound},
			isNot:  []error{binding.ErrUnauthorized, binding.ErrExpired},
			check: func(t *testing.T, e *APIError) {
				want := []string{"41000", "/provisioning/v1/environments/E1", "corr-1"}
				if diff := cmp.Diff(want, []string{e.Code, e.Target, e.CorrelationID}); diff != "" {
					t.Errorf("code, target, correlation id (-want +got):\n%s", diff)
				}
			},
		},
		{
			name:   "401 says why only in WWW-Authenticate",
			status: 401,
			header: map[string]string{"WWW-Authenticate": `Bearer realm="cis", error="invalid_token", error_description="Access token expired"`},
			want:   "the Provisioning Service refused the access token (401 Unauthorized): Access token expired",
			is:     []error{binding.ErrUnauthorized},
		},
		{
			name:   "401 with only an error code",
			status: 401,
			header: map[string]string{"WWW-Authenticate": `Bearer x_error="no", error=invalid_token`},
			want:   "the Provisioning Service refused the access token (401 Unauthorized): invalid_token",
			is:     []error{binding.ErrUnauthorized},
		},
		{
			name:   "401 saying nothing",
			status: 401,
			want:   "the Provisioning Service refused the access token (401 Unauthorized)",
			is:     []error{binding.ErrUnauthorized},
		},
		{
			name:   "403 points at entitlement and authorization",
			status: 403,
			body:   `{"error":{"code":40300,"message":"Access denied."}}`,
			want:   "the Provisioning Service denied the request (403 Forbidden): Access denied; check that the subaccount is entitled to the Kyma runtime and that the service key is a Cloud Management (cis) key allowed to make this call",
			isNot:  []error{binding.ErrUnauthorized},
		},
		// The reset times below are a week before this machine's clock (the tests run
		// later than t0): the wait is measured on the service's clock, from its Date.
		{
			name:   "429 with X-Ratelimit-Reset is measured from the answer's Date",
			status: 429,
			header: map[string]string{"X-Ratelimit-Reset": "1795424400000", "Date": t0.Add(-90 * time.Second).Format(http.TimeFormat)},
			want:   "the Provisioning Service is limiting the request rate (429 Too Many Requests); try again in 1m30s",
			check:  retryAfterIs(90 * time.Second),
		},
		{
			name:   "429 with X-Ratelimit-Reset in seconds",
			status: 429,
			header: map[string]string{"X-Ratelimit-Reset": "1795424400", "Date": t0.Add(-5 * time.Second).Format(http.TimeFormat)},
			want:   "the Provisioning Service is limiting the request rate (429 Too Many Requests); try again in 5s",
			check:  retryAfterIs(5 * time.Second),
		},
		{
			name:   "429 with Retry-After seconds",
			status: 429,
			header: map[string]string{"Retry-After": "30", "Date": t0.Format(http.TimeFormat)},
			want:   "the Provisioning Service is limiting the request rate (429 Too Many Requests); try again in 30s",
			check:  retryAfterIs(30 * time.Second),
		},
		{
			name:   "429 with Retry-After as a date",
			status: 429,
			header: map[string]string{"Retry-After": t0.Add(45 * time.Second).Format(http.TimeFormat), "Date": t0.Format(http.TimeFormat)},
			want:   "the Provisioning Service is limiting the request rate (429 Too Many Requests); try again in 45s",
			check:  retryAfterIs(45 * time.Second),
		},
		{
			name:   "429 whose reset has passed by the service's clock",
			status: 429,
			header: map[string]string{"X-Ratelimit-Reset": "1795424400000", "Date": t0.Add(time.Second).Format(http.TimeFormat)},
			want:   "the Provisioning Service is limiting the request rate (429 Too Many Requests)",
			check:  retryAfterIs(0),
		},
		{
			name:   "429 asking for hours is capped",
			status: 429,
			header: map[string]string{"Retry-After": "86400", "Date": t0.Format(http.TimeFormat)},
			want:   "the Provisioning Service is limiting the request rate (429 Too Many Requests); try again in 10m0s",
			check:  retryAfterIs(maxRetryAfter),
		},
		{
			name:   "429 without a Date is measured from this machine's clock",
			status: 429,
			header: map[string]string{"X-Ratelimit-Reset": "1795424400000"},
			want:   "the Provisioning Service is limiting the request rate (429 Too Many Requests)",
			check:  retryAfterIs(0), // a week ago here
		},
		{
			name:   "429 without a reset time",
			status: 429,
			want:   "the Provisioning Service is limiting the request rate (429 Too Many Requests)",
		},
		{
			name:   "an HTML page is not quoted",
			status: 502,
			header: map[string]string{"Content-Type": "text/html"},
			body:   "<html><body>upstream connect error</body></html>",
			want:   "the Provisioning Service answered 502 Bad Gateway with a body that is not JSON",
		},
		{
			name:   "a 404 page of a wrong base URL is not ErrNotFound",
			status: 404,
			header: map[string]string{"Content-Type": "text/plain"},
			body:   "404 page not found",
			want:   "the Provisioning Service answered 404 Not Found with a body that is not JSON",
			isNot:  []error{binding.ErrNotFound},
		},
		{
			name:   "JSON without a message",
			status: 500,
			body:   `{}`,
			want:   "the Provisioning Service answered 500 Internal Server Error",
		},
		{
			name:   "KEB's binding limit passes through",
			status: 400,
			body:   `{"error":{"code":40000,"message":"maximum number of non expired bindings reached: 10"}}`,
			want:   "the Provisioning Service answered 400 Bad Request: maximum number of non expired bindings reached: 10",
			is:     []error{binding.ErrLimitReached},
		},
		{
			name:   "environment still being created",
			status: 400,
			body:   `{"error":{"message":"instance E1 creation is in progress"}}`,
			want:   "the Provisioning Service answered 400 Bad Request: instance E1 creation is in progress",
			is:     []error{binding.ErrNotReady},
		},
		{
			name:   "environment creation failed",
			status: 400,
			body:   `{"error":{"message":"instance E1 creation failed"}}`,
			want:   "the Provisioning Service answered 400 Bad Request: instance E1 creation failed",
			is:     []error{binding.ErrNotReady},
		},
		{
			name:   "OSB-shaped body",
			status: 422,
			body:   `{"error":"BindingNotSupported","description":"binding is not supported"}`,
			want:   "the Provisioning Service answered 422 Unprocessable Entity: binding is not supported",
			check: func(t *testing.T, e *APIError) {
				if e.Code != "BindingNotSupported" {
					t.Errorf("Code %q", e.Code)
				}
			},
		},
		{
			// KEB's GET of a binding whose kubeconfig is not there yet
			// (internal/broker/bind_get.go): not yet, not gone.
			name:   "binding creation in progress",
			status: 404,
			body:   `{"error":{"message":"Binding creation in progress"}}`,
			want:   "the Provisioning Service answered 404 Not Found: Binding creation in progress",
			is:     []error{binding.ErrNotReady},
			isNot:  []error{binding.ErrNotFound, binding.ErrExpired},
		},
		{
			name:   "binding expired",
			status: 404,
			body:   `{"error":{"message":"Binding expired"}}`,
			want:   "the Provisioning Service answered 404 Not Found: Binding expired",
			is:     []error{binding.ErrNotFound, binding.ErrExpired},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newFake(t, tt.status, tt.body, tt.header)
			_, err := c.GetEnvironment(ctx, "E1")
			if diff := cmp.Diff(tt.want, errString(err)); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
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
				t.Fatalf("error %T, want *APIError with status %d", err, tt.status)
			}
			if tt.check != nil {
				tt.check(t, ae)
			}
		})
	}
}

func TestTransportErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()
	_, err := New(base, nil).ListEnvironments(ctx)
	if prefix := "cannot reach the Provisioning Service at " + base + ": "; !strings.HasPrefix(errString(err), prefix) {
		t.Errorf("error %q, want prefix %q", errString(err), prefix)
	}

	// A refused client comes out as the UAA's sentence, not as an unreachable service.
	uaa := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		fmt.Fprint(w, `{"error":"invalid_client","error_description":"Bad credentials"}`)
	}))
	defer uaa.Close()
	api, f := newFake(t, 200, `{"environmentInstances":[]}`, nil)
	ts := auth.NewTokenSource(auth.Config{UAAURL: uaa.URL, ClientID: "id", ClientSecret: "top-secret"}, "", uaa.Client())
	c := New(api.BaseURL(), auth.NewHTTPClient(ts, nil))
	_, err = c.ListEnvironments(ctx)
	if diff := cmp.Diff("the UAA refused the client credentials (invalid_client: Bad credentials); check the service key", errString(err)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !errors.Is(err, binding.ErrUnauthorized) || strings.Contains(errString(err), "top-secret") {
		t.Errorf("error %v: want ErrUnauthorized and no secret", err)
	}
	if len(f.requests) != 0 {
		t.Errorf("the API was called without a token")
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// An update is a PATCH with planName (required by the service's spec) and the
// parameters as an object; whatever object the 202 carries is ignored.
func TestUpdateEnvironment(t *testing.T) {
	c, f := newFake(t, http.StatusAccepted, `{}`, nil)
	err := c.UpdateEnvironment(ctx, "A1B2", UpdateEnvironmentRequest{PlanName: "aws", Parameters: map[string]any{"autoScalerMax": 7}})
	if err != nil {
		t.Fatal(err)
	}
	want := []recorded{{"PATCH", "/provisioning/v1/environments/A1B2", "application/json", "application/json", `{"planName":"aws","parameters":{"autoScalerMax":7}}`}}
	if diff := cmp.Diff(want, f.requests); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if err := c.UpdateEnvironment(ctx, "A1B2", UpdateEnvironmentRequest{}); err == nil {
		t.Error("an update without a plan was sent")
	}
	c, _ = newFake(t, http.StatusBadRequest, `{"error":{"code":41000,"message":"while validating update parameters: at '/autoScalerMax': maximum: got 400, want 300"}}`, nil)
	err = c.UpdateEnvironment(ctx, "A1B2", UpdateEnvironmentRequest{PlanName: "aws"})
	if err == nil || !strings.Contains(err.Error(), "maximum: got 400, want 300") {
		t.Errorf("refused update: %v", err)
	}
}

// retryAfterIs checks the wait a 429 asks for.
func retryAfterIs(want time.Duration) func(*testing.T, *APIError) {
	return func(t *testing.T, e *APIError) {
		t.Helper()
		if e.RetryAfter != want {
			t.Errorf("RetryAfter %v, want %v", e.RetryAfter, want)
		}
	}
}
