package emulator

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// addFault posts a rule and fails the test unless it is accepted.
func (tt *tester) addFault(rule string) {
	tt.t.Helper()
	if r := tt.do(http.MethodPost, "/emulator/v1/faults", rule, nil); r.status != http.StatusCreated {
		tt.t.Fatalf("add fault %s: %d %s", rule, r.status, r.body)
	}
}

// exchange is an HTTP exchange that may fail: err is the transport's, or the error
// met reading the body.
type exchange struct {
	proto  string
	status int
	header http.Header
	body   string
	err    error
}

// send sends a request with client and reads the whole answer.
func (tt *tester) send(client *http.Client, method, path, token string) exchange {
	tt.t.Helper()
	req, err := http.NewRequest(method, tt.e.URL+path, nil)
	if err != nil {
		tt.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return exchange{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return exchange{proto: resp.Proto, status: resp.StatusCode, header: resp.Header, body: string(body), err: err}
}

// http2Client is a client of the emulator that speaks HTTP/2, as kubectl-kyma's does.
func (tt *tester) http2Client() *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(tt.e.CACert)
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2: true,
	}}
}

func TestFaultStatus(t *testing.T) {
	tt := newTester(t, nil)
	token := tt.cisToken()
	const envs = "/provisioning/v1/environments"

	tt.addFault(`{"route":"GET ` + envs + `","count":2,"status":503,"retryAfter":"3"}`)
	for i := range 2 {
		r := tt.send(tt.client, http.MethodGet, envs, token)
		var body cisError
		if err := json.Unmarshal([]byte(r.body), &body); err != nil || r.status != http.StatusServiceUnavailable {
			t.Fatalf("request %d: %d %q (%v), want 503 with a CIS error body", i+1, r.status, r.body, err)
		}
		if body.Error.Message != "Service Unavailable (fault injected by kyma-emulator)" || body.Error.Code != 50300 {
			t.Errorf("request %d: error body %+v", i+1, body.Error)
		}
		if got := r.header.Get("Retry-After"); got != "3" {
			t.Errorf("request %d: Retry-After %q, want 3", i+1, got)
		}
		if got := r.header.Get("X-Ratelimit-Reset"); got != "" {
			t.Errorf("a 503 has X-Ratelimit-Reset %q; only 429 gets it", got)
		}
	}
	if r := tt.send(tt.client, http.MethodGet, envs, token); r.status != http.StatusOK {
		t.Errorf("the third request, after the rule's two: %d %s", r.status, r.body)
	}
	// Other methods and paths were never touched.
	if got := tt.stats().FaultedRequests; got != 2 {
		t.Errorf("faultedRequests = %d, want 2", got)
	}

	// 429: Retry-After 1 unless told, and the service's X-Ratelimit-Reset in epoch ms.
	tt.addFault(`{"route":"/provisioning/","status":429}`)
	r := tt.send(tt.client, http.MethodGet, "/provisioning/v1/availableEnvironments", token)
	wantReset := strconv.FormatInt(tt.clock.Now().Add(time.Second).UnixMilli(), 10)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "1" || r.header.Get("X-Ratelimit-Reset") != wantReset {
		t.Errorf("429: %d, Retry-After %q, X-Ratelimit-Reset %q (want %s)", r.status, r.header.Get("Retry-After"), r.header.Get("X-Ratelimit-Reset"), wantReset)
	}
	// As the service has been seen to answer: code 11006 and no rate headers at all.
	tt.addFault(`{"route":"/provisioning/","status":429,"noRateHeaders":true}`)
	r = tt.send(tt.client, http.MethodGet, "/provisioning/v1/availableEnvironments", token)
	var limited cisError
	_ = json.Unmarshal([]byte(r.body), &limited)
	if r.status != http.StatusTooManyRequests || limited.Error.Code != 11006 || r.header.Get("Retry-After") != "" || r.header.Get("X-Ratelimit-Reset") != "" {
		t.Errorf("429 without rate headers: %d %s, Retry-After %q, X-Ratelimit-Reset %q", r.status, r.body, r.header.Get("Retry-After"), r.header.Get("X-Ratelimit-Reset"))
	}

	// As the spec documents it: no body, X-Ratelimit-Reset only.
	tt.addFault(`{"route":"/provisioning/","status":429,"emptyBody":true}`)
	r = tt.send(tt.client, http.MethodGet, "/provisioning/v1/availableEnvironments", token)
	if r.status != http.StatusTooManyRequests || len(r.body) != 0 || r.header.Get("X-Ratelimit-Reset") == "" {
		t.Errorf("429 with an empty body: %d %q, X-Ratelimit-Reset %q", r.status, r.body, r.header.Get("X-Ratelimit-Reset"))
	}

	// The error body has the shape of the route's API.
	tt.addFault(`{"route":"PUT /oauth/v2/service_instances/{iid}/service_bindings/{bid}","status":502,"message":"upstream connect error"}`)
	r = tt.send(tt.client, http.MethodPut, "/oauth/v2/service_instances/i/service_bindings/b", "")
	if r.status != http.StatusBadGateway || r.body != `{"description":"upstream connect error"}`+"\n" {
		t.Errorf("OSB fault: %d %s", r.status, r.body)
	}
	tt.addFault(`{"route":"POST /oauth/token","status":500}`)
	r = tt.send(tt.client, http.MethodPost, "/oauth/token", "")
	if r.status != http.StatusInternalServerError || !strings.Contains(r.body, `"error":"server_error"`) {
		t.Errorf("UAA fault: %d %s", r.status, r.body)
	}
}

func TestFaultDrop(t *testing.T) {
	tt := newTester(t, nil)
	for name, client := range map[string]*http.Client{"HTTP/1.1": tt.client, "HTTP/2": tt.http2Client()} {
		t.Run(name, func(t *testing.T) {
			before := tt.stats().BindingRequests
			id := tt.createEnvironment("aws", "drop-"+strings.ToLower(name[len(name)-1:]))
			tt.addFault(`{"route":"PUT /provisioning/v1/environments/{id}/bindings","drop":true}`)
			r := tt.send(client, http.MethodPut, "/provisioning/v1/environments/"+id+"/bindings", tt.cisToken())
			if r.err == nil {
				t.Fatalf("a dropped request was answered: %d %s", r.status, r.body)
			}
			t.Logf("the client got: %v", r.err)
			if tt.stats().BindingRequests != before {
				t.Errorf("a dropped bind reached the emulator")
			}
		})
	}
}

func TestFaultTruncateAndNotJSON(t *testing.T) {
	tt := newTester(t, nil)
	tt.createEnvironment("aws", "cut")
	token := tt.cisToken()
	const envs = "/provisioning/v1/environments"
	whole := tt.send(tt.client, http.MethodGet, envs, token)
	if whole.status != http.StatusOK || len(whole.body) < 100 {
		t.Fatalf("list: %d %s", whole.status, whole.body)
	}
	for name, client := range map[string]*http.Client{"HTTP/1.1": tt.client, "HTTP/2.0": tt.http2Client()} {
		t.Run(name, func(t *testing.T) {
			if r := tt.send(client, http.MethodGet, envs, token); r.proto != name {
				t.Fatalf("the client spoke %s", r.proto)
			}
			tt.addFault(`{"route":"GET ` + envs + `","truncate":true}`)
			r := tt.send(client, http.MethodGet, envs, token)
			if r.err == nil || r.status != http.StatusOK {
				t.Fatalf("truncated answer: status %d, read error %v, want 200 and an error", r.status, r.err)
			}
			t.Logf("the client read: %v", r.err)
			if l := len(r.body); l == 0 || l >= len(whole.body) || !strings.HasPrefix(whole.body, r.body) {
				t.Errorf("truncated body has %d of %d bytes, want the first part", l, len(whole.body))
			}
		})
	}

	tt.addFault(`{"route":"GET ` + envs + `","notJSON":true}`)
	r := tt.send(tt.client, http.MethodGet, envs, token)
	if r.err != nil || r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.HasPrefix(r.body, "<html>") {
		t.Errorf("notJSON: %d %q %q %v", r.status, r.header.Get("Content-Type"), r.body, r.err)
	}
	tt.addFault(`{"route":"GET ` + envs + `","notJSON":true,"status":502}`)
	if r := tt.send(tt.client, http.MethodGet, envs, token); r.status != http.StatusBadGateway || !strings.Contains(r.body, "<title>502 Bad Gateway</title>") {
		t.Errorf("notJSON 502: %d %q", r.status, r.body)
	}
	if got := tt.stats().FaultedRequests; got != 4 {
		t.Errorf("faultedRequests = %d, want 4", got)
	}
}

// TestFaultOmit: {"omit": "credentials"} on the bind route answers 202 with the
// Location and a body without credentials; the binding exists and a GET returns its
// kubeconfig.
func TestFaultOmit(t *testing.T) {
	tt := newTester(t, nil)
	id := tt.createEnvironment("aws", "omit")
	bindings := "/provisioning/v1/environments/" + id + "/bindings"
	tt.addFault(`{"route":"PUT /provisioning/v1/environments/{id}/bindings","omit":"credentials"}`)
	r := tt.cis(http.MethodPut, bindings, map[string]any{"parameters": map[string]int{"expiration_seconds": 600}})
	var body map[string]json.RawMessage
	r.json(t, &body)
	bid := r.header.Get("Location")
	if r.status != http.StatusAccepted || bid == "" || body["credentials"] != nil || body["metadata"] == nil {
		t.Fatalf("bind with omit: %d Location %q body %s, want 202 with a Location and metadata but no credentials", r.status, bid, r.body)
	}
	var got struct {
		Credentials struct{ Kubeconfig string }
	}
	g := tt.cis(http.MethodGet, bindings+"/"+bid, nil)
	g.json(t, &got)
	if g.status != http.StatusOK || !strings.Contains(got.Credentials.Kubeconfig, "token-"+bid) || !tt.backend.isLive(bid) {
		t.Errorf("GET of the binding made under omit: %d %s", g.status, g.body)
	}
	// The GET's two "not yet" shapes: KEB's 404 "Binding creation in progress"
	// (internal/broker/bind_get.go) and a 200 without credentials (the spec's
	// metadata-only answer); the next GET has the kubeconfig again.
	get := "GET /provisioning/v1/environments/{id}/bindings/{bindingId}"
	tt.addFault(`{"route":"` + get + `","status":404,"message":"Binding creation in progress"}`)
	tt.addFault(`{"route":"` + get + `","omit":"credentials"}`)
	var notYet struct {
		Error struct{ Message string }
	}
	g404 := tt.cis(http.MethodGet, bindings+"/"+bid, nil)
	g404.json(t, &notYet)
	if g404.status != http.StatusNotFound || notYet.Error.Message != "Binding creation in progress" {
		t.Errorf("GET under the 404 fault: %d %s", g404.status, g404.body)
	}
	if g := tt.cis(http.MethodGet, bindings+"/"+bid, nil); g.status != http.StatusOK || strings.Contains(string(g.body), "credentials") {
		t.Errorf("GET under the omit fault: %d %s, want 200 without credentials", g.status, g.body)
	}
	if g := tt.cis(http.MethodGet, bindings+"/"+bid, nil); g.status != http.StatusOK || !strings.Contains(string(g.body), "token-"+bid) {
		t.Errorf("GET after the faults: %d %s, want the kubeconfig", g.status, g.body)
	}

	// Only the next request is changed; a body that is not an object is left alone.
	if r := tt.cis(http.MethodPut, bindings, nil); !strings.Contains(string(r.body), "kubeconfig") {
		t.Errorf("second bind: %d %s, want the credentials back", r.status, r.body)
	}
	body2 := bytes.NewBufferString(`[1,2]`)
	omitField(body2, "credentials")
	if body2.String() != `[1,2]` {
		t.Errorf("omitField changed a non-object body: %s", body2)
	}
}

func TestFaultDelay(t *testing.T) {
	tt := newTester(t, nil)
	tt.addFault(`{"route":"GET /provisioning/v1/availableEnvironments","delay":"300ms"}`)
	token := tt.cisToken()
	start := time.Now()
	r := tt.send(tt.client, http.MethodGet, "/provisioning/v1/availableEnvironments", token)
	if took := time.Since(start); took < 300*time.Millisecond || r.status != http.StatusOK {
		t.Errorf("delayed request: %d after %s, want 200 after at least 300ms", r.status, took)
	}
}

func TestFaultAdmin(t *testing.T) {
	tt := newTester(t, nil)
	for _, tc := range []struct{ rule, want string }{
		{`{"status":503}`, "route is required"},
		{`{"route":"GET provisioning","status":503}`, "is not a net/http.ServeMux pattern"},
		{`{"route":"/x","status":200}`, "status 200 is not an error status"},
		{`{"route":"/x","drop":true,"status":503}`, "drop sends no answer"},
		{`{"route":"/x","omit":"credentials","status":503}`, "omit changes the emulator's own answer"},
		{`{"route":"/x"}`, "the rule changes nothing"},
		{`{"route":"/x","delay":"soon"}`, `delay "soon" is not a duration`},
		{`{"route":"/x","count":-1,"status":503}`, "count must not be negative"},
		{`{"route":"/x","stauts":503}`, `unknown field "stauts"`},
	} {
		r := tt.do(http.MethodPost, "/emulator/v1/faults", tc.rule, nil)
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), tc.want) {
			t.Errorf("POST %s: %d %s, want 400 saying %q", tc.rule, r.status, r.body, tc.want)
		}
	}

	tt.addFault(`{"route":"/provisioning/","count":3,"status":500}`)
	tt.addFault(`{"route":"/","status":500}`) // never changes /emulator/ requests
	if s := tt.stats(); s.FaultedRequests != 0 {
		t.Fatalf("the admin endpoint faulted itself: %+v", s)
	}
	tt.send(tt.client, http.MethodGet, "/provisioning/v1/environments", "")
	var list struct{ Faults []Fault }
	tt.do(http.MethodGet, "/emulator/v1/faults", nil, nil).json(t, &list)
	if len(list.Faults) != 2 || list.Faults[0].Count != 2 || list.Faults[1].Route != "/" {
		t.Errorf("rules after one request: %+v, want the first with 2 requests left", list.Faults)
	}
	if r := tt.do(http.MethodDelete, "/emulator/v1/faults", nil, nil); r.status != http.StatusNoContent {
		t.Errorf("DELETE: %d %s", r.status, r.body)
	}
	if r := tt.send(tt.client, http.MethodGet, "/provisioning/v1/environments", tt.cisToken()); r.status != http.StatusOK {
		t.Errorf("after DELETE: %d %s", r.status, r.body)
	}

	// Only loopback clients may add faults.
	req := httptest.NewRequest(http.MethodPost, "/emulator/v1/faults", strings.NewReader(`{"route":"/","status":500}`))
	req.RemoteAddr = "192.0.2.7:40000"
	rec := httptest.NewRecorder()
	tt.e.s.handleFaults(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("a fault from 192.0.2.7: %d, want 403", rec.Code)
	}
}
