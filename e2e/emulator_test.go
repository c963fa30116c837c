package e2e

import (
	"bytes"
	stdbase64 "encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// These tests speak HTTP to the kyma-emulator binary, status code by status code, with
// every binding backed by the package's real kube-apiserver and checked with the real
// kubectl.

const (
	kymaServiceID = "47c9dcbf-ff30-448e-ab36-d3bad66ba281"
	awsPlanID     = "361c511f-f939-4621-b228-d0fb79a1fe15"
	azurePlanID   = "4deee563-e5ec-4731-b9b1-53b42d855f0c"
)

// rawAPI is a test client of one emulator with an access token for each API.
type rawAPI struct {
	t           *testing.T
	e           *emulator
	cisToken    string
	brokerToken string
}

// reply is a finished HTTP exchange.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
}

// expect fails the test unless the reply has the status and, when want is not empty,
// the JSON body want.
func (r reply) expect(t *testing.T, what string, status int, want string) {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: status %d, want %d (body %s)", what, r.status, status, r.body)
		return
	}
	if want == "" {
		return
	}
	var got, w any
	if json.Unmarshal(r.body, &got) != nil || json.Unmarshal([]byte(want), &w) != nil || !jsonEqual(got, w) {
		t.Errorf("%s: body %s, want %s", what, r.body, want)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func newRawAPI(t *testing.T, e *emulator) *rawAPI {
	t.Helper()
	var key struct {
		Credentials struct {
			UAA struct {
				ClientID     string `json:"clientid"`
				ClientSecret string `json:"clientsecret"`
				URL          string `json:"url"`
			} `json:"uaa"`
			Endpoints struct {
				ProvisioningServiceURL string `json:"provisioning_service_url"`
			} `json:"endpoints"`
		} `json:"credentials"`
	}
	readJSON(t, filepath.Join(e.StateDir, "service-key.json"), &key)
	var broker struct {
		TokenURL     string `json:"tokenURL"`
		ClientID     string `json:"clientID"`
		ClientSecret string `json:"clientSecret"`
	}
	readJSON(t, filepath.Join(e.StateDir, "broker.json"), &broker)
	if key.Credentials.UAA.URL != e.URL || key.Credentials.Endpoints.ProvisioningServiceURL != e.URL || broker.TokenURL != e.URL+"/oauth/token" {
		t.Fatalf("client files do not point at %s: %+v %+v", e.URL, key.Credentials, broker)
	}
	a := &rawAPI{t: t, e: e}
	a.cisToken = a.token(key.Credentials.UAA.ClientID, key.Credentials.UAA.ClientSecret)
	a.brokerToken = a.token(broker.ClientID, broker.ClientSecret)
	// Registered after startEmulator's cleanup, so it runs first, while the emulator
	// still serves.
	t.Cleanup(a.deleteEnvironments)
	return a
}

// deleteEnvironments deletes every environment, and so every binding and its objects:
// the cluster is shared, and other tests count what is on it.
func (a *rawAPI) deleteEnvironments() {
	if a.e.cmd == nil {
		return // the emulator is stopped already
	}
	var list struct {
		EnvironmentInstances []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"environmentInstances"`
	}
	a.cis(http.MethodGet, "/environments", nil).decode(a.t, &list)
	for _, env := range list.EnvironmentInstances {
		if env.State != "DELETING" {
			a.cis(http.MethodDelete, "/environments/"+env.ID, nil).expect(a.t, "clean-up delete of "+env.ID, http.StatusAccepted, "")
		}
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
}

// token runs the client-credentials grant as the Provisioning Service docs show it:
// form body, HTTP Basic client authentication.
func (a *rawAPI) token(id, secret string) string {
	a.t.Helper()
	r := a.postToken(url.Values{"grant_type": {"client_credentials"}}, id, secret)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if r.status != http.StatusOK {
		a.t.Fatalf("token: %d %s", r.status, r.body)
	}
	r.decode(a.t, &tok)
	return tok.AccessToken
}

func (a *rawAPI) postToken(form url.Values, id, secret string) reply {
	a.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, a.e.URL+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(id, secret)
	}
	return a.send(req)
}

func (a *rawAPI) send(req *http.Request) reply {
	a.t.Helper()
	resp, err := a.e.client.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: body}
}

// call sends a request; a string body is sent as is, anything else as JSON.
func (a *rawAPI) call(method, path string, body any, header map[string]string) reply {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, a.e.URL+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return a.send(req)
}

func (a *rawAPI) cis(method, path string, body any) reply {
	a.t.Helper()
	return a.call(method, "/provisioning/v1"+path, body, map[string]string{"Authorization": "bearer " + a.cisToken})
}

func (a *rawAPI) osb(method, path string, body any) reply {
	a.t.Helper()
	return a.call(method, "/oauth"+path, body, map[string]string{"Authorization": "Bearer " + a.brokerToken, "X-Broker-API-Version": "2.14"})
}

// environment creates an environment through the Provisioning Service API and waits
// until it is OK.
func (a *rawAPI) environment(plan, name string, params map[string]any) string {
	a.t.Helper()
	if params == nil {
		params = map[string]any{"region": "eu-central-1"}
	}
	params["name"] = name
	r := a.cis(http.MethodPost, "/environments", map[string]any{
		"environmentType": "kyma", "serviceName": "kymaruntime", "planName": plan, "user": "e2e@example.com", "parameters": params,
	})
	var created struct{ ID string }
	if r.status != http.StatusAccepted {
		a.t.Fatalf("create environment: %d %s", r.status, r.body)
	}
	r.decode(a.t, &created)
	a.waitState(created.ID, "OK")
	return created.ID
}

func (a *rawAPI) waitState(id, state string) {
	a.t.Helper()
	eventually(a.t, 30*time.Second, "environment "+id+" "+state, func() bool {
		var in struct{ State string }
		r := a.cis(http.MethodGet, "/environments/"+id, nil)
		if state == "" {
			return r.status == http.StatusNotFound
		}
		r.decode(a.t, &in)
		return in.State == state
	})
}

// kubeconfigFile writes a binding's kubeconfig to a file for kubectl.
func kubeconfigFile(t *testing.T, kubeconfig string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "binding.kubeconfig")
	if err := os.WriteFile(p, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// mustWork runs kubectl with a binding's kubeconfig and fails the test if it is refused.
func mustWork(t *testing.T, kubeconfig string) {
	t.Helper()
	if out, err := kubectl(t, nil, "--kubeconfig", kubeconfig, "get", "pods", "-A"); err != nil {
		t.Fatalf("kubectl get pods -A with the binding's kubeconfig: %v\n%s", err, out)
	}
}

// eventuallyRefused polls until the API server refuses the kubeconfig's token: it caches
// a successful token check for about 10 s, and accepts a token up to 60 s past its exp.
func eventuallyRefused(t *testing.T, kubeconfig, why string) {
	t.Helper()
	eventually(t, 40*time.Second, "kubectl refused "+why, func() bool {
		out, err := kubectl(t, nil, "--kubeconfig", kubeconfig, "get", "pods", "-A")
		return err != nil && refused(out)
	})
}

// clusterHas reports whether the cluster has an object (kind, name) in kyma-system.
func clusterHas(t *testing.T, kind, name string) bool {
	t.Helper()
	out, err := kubectl(t, nil, "--kubeconfig", cluster.Kubeconfig, "get", kind, name, "-n", "kyma-system", "-o", "name", "--ignore-not-found")
	if err != nil {
		t.Fatalf("kubectl get %s %s: %v\n%s", kind, name, err, out)
	}
	return strings.TrimSpace(out) != ""
}

// assertObjects checks that a binding's three objects exist, or that none does.
func assertObjects(t *testing.T, bindingID string, exist bool) {
	t.Helper()
	name := "kyma-binding-" + bindingID
	for _, kind := range []string{"serviceaccount", "clusterrole", "clusterrolebinding"} {
		if got := clusterHas(t, kind, name); got != exist {
			t.Errorf("%s/%s exists = %v, want %v", kind, name, got, exist)
		}
	}
}

// jwtClaims decodes (without verifying) the claims of a JWT.
func jwtClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	raw, err := stdbase64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// tokenOf returns the token of a binding's kubeconfig.
func tokenOf(t *testing.T, kubeconfig string) string {
	t.Helper()
	for _, l := range strings.Split(kubeconfig, "\n") {
		if tok, ok := strings.CutPrefix(strings.TrimSpace(l), "token: "); ok {
			return tok
		}
	}
	t.Fatalf("no token in the kubeconfig")
	return ""
}

type createdBinding struct {
	Credentials struct {
		Kubeconfig string `json:"kubeconfig"`
	} `json:"credentials"`
	Metadata struct {
		ExpiresAt string `json:"expires_at"`
	} `json:"metadata"`
}

func TestEmulatorUAA(t *testing.T) {
	t.Parallel()
	e := startEmulator(t)
	a := newRawAPI(t, e)
	var key struct {
		Credentials struct {
			UAA struct {
				ClientID     string `json:"clientid"`
				ClientSecret string `json:"clientsecret"`
			} `json:"uaa"`
		} `json:"credentials"`
	}
	readJSON(t, filepath.Join(e.StateDir, "service-key.json"), &key)
	id, secret := key.Credentials.UAA.ClientID, key.Credentials.UAA.ClientSecret

	r := a.postToken(url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}, "", "")
	var tok map[string]any
	r.decode(t, &tok)
	if r.status != 200 || tok["token_type"] != "bearer" || tok["expires_in"] != float64(43199) || tok["scope"] == "" || tok["jti"] == "" {
		t.Errorf("form-field credentials: %d %s", r.status, r.body)
	}
	r = a.postToken(url.Values{"grant_type": {"client_credentials"}}, id, "wrong")
	r.expect(t, "bad secret", 401, `{"error":"invalid_client","error_description":"Bad credentials"}`)
	if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, `Basic realm="UAA/client"`) {
		t.Errorf("WWW-Authenticate = %q", got)
	}
	a.postToken(url.Values{"grant_type": {"password"}}, id, secret).expect(t, "password grant", 400,
		`{"error":"unsupported_grant_type","error_description":"Unsupported grant type: password"}`)
	if s := e.stats(t); s.TokensIssued != 3 {
		t.Errorf("tokensIssued = %d, want 3 (two by newRawAPI, one here)", s.TokensIssued)
	}
}

func TestEmulatorProvisioningAPI(t *testing.T) {
	t.Parallel()
	e := startEmulator(t)
	a := newRawAPI(t, e)

	// 401: empty body, the reason in WWW-Authenticate.
	for name, auth := range map[string]string{"no token": "", "broker token": "bearer " + a.brokerToken, "garbage": "bearer x.y.z"} {
		r := a.call(http.MethodGet, "/provisioning/v1/environments", nil, map[string]string{"Authorization": auth})
		if r.status != 401 || len(r.body) != 0 || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer ") {
			t.Errorf("%s: %d %q %q", name, r.status, r.body, r.header.Get("WWW-Authenticate"))
		}
	}

	var avail struct {
		AvailableEnvironments []struct {
			PlanName     string `json:"planName"`
			CreateSchema string `json:"createSchema"`
		} `json:"availableEnvironments"`
	}
	a.cis(http.MethodGet, "/availableEnvironments", nil).decode(t, &avail)
	if len(avail.AvailableEnvironments) != 7 || !strings.Contains(avail.AvailableEnvironments[0].CreateSchema, `"eu-central-1"`) {
		t.Errorf("availableEnvironments: %+v", avail)
	}

	r := a.cis(http.MethodPost, "/environments", map[string]any{
		"environmentType": "kyma", "serviceName": "kymaruntime", "planName": "aws", "user": "e2e@example.com",
		"parameters": map[string]any{"name": "e2e-raw", "region": "eu-central-1"},
	})
	var created map[string]string
	r.decode(t, &created)
	id := created["id"]
	if r.status != 202 || id == "" {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var in struct {
		State        string `json:"state"`
		Parameters   string `json:"parameters"`
		Labels       string `json:"labels"`
		CreatedDate  int64  `json:"createdDate"`
		ModifiedDate int64  `json:"modifiedDate"`
	}
	a.cis(http.MethodGet, "/environments/"+id, nil).decode(t, &in)
	if in.State != "CREATING" || in.Parameters != `{"name":"e2e-raw","region":"eu-central-1"}` || in.CreatedDate < time.Now().Add(-time.Minute).UnixMilli() {
		t.Errorf("new environment: %+v", in)
	}
	a.cis(http.MethodPut, "/environments/"+id+"/bindings", nil).expect(t, "bind while CREATING", 400, "")
	a.waitState(id, "OK")
	a.cis(http.MethodGet, "/environments/"+id, nil).decode(t, &in)
	var labels map[string]string
	if err := json.Unmarshal([]byte(in.Labels), &labels); err != nil || labels["APIServerURL"] != cluster.Server || labels["Name"] != "e2e-raw" || labels["KubeconfigURL"] == "" {
		t.Errorf("labels once OK = %q (%v)", in.Labels, err)
	}
	var list struct {
		EnvironmentInstances []struct{ ID string } `json:"environmentInstances"`
	}
	a.cis(http.MethodGet, "/environments", nil).decode(t, &list)
	if len(list.EnvironmentInstances) != 1 || list.EnvironmentInstances[0].ID != id {
		t.Errorf("list: %+v", list)
	}
	a.cis(http.MethodGet, "/environments/nope", nil).expect(t, "unknown environment", 404, "")

	// A binding: 202, id in Location, a kubeconfig the real kubectl accepts.
	r = a.cis(http.MethodPut, "/environments/"+id+"/bindings", map[string]any{"parameters": map[string]any{"expiration_seconds": 1200}})
	if r.status != 202 {
		t.Fatalf("bind: %d %s", r.status, r.body)
	}
	bid := r.header.Get("Location")
	var b createdBinding
	r.decode(t, &b)
	if !strings.HasPrefix(b.Credentials.Kubeconfig, "\n---\n") || !strings.HasSuffix(b.Metadata.ExpiresAt, ".0Z") || bid == "" {
		t.Errorf("binding %s: expires_at %q, kubeconfig %q", bid, b.Metadata.ExpiresAt, b.Credentials.Kubeconfig[:20])
	}
	kc := kubeconfigFile(t, b.Credentials.Kubeconfig)
	mustWork(t, kc)
	assertObjects(t, bid, true)
	claims := jwtClaims(t, tokenOf(t, b.Credentials.Kubeconfig))
	if claims["sub"] != "system:serviceaccount:kyma-system:kyma-binding-"+bid || claims["exp"].(float64)-claims["iat"].(float64) != 1200 {
		t.Errorf("token claims: sub %v, lifetime %v", claims["sub"], claims["exp"].(float64)-claims["iat"].(float64))
	}
	if exp, err := time.Parse(time.RFC3339, b.Metadata.ExpiresAt); err != nil || exp.Unix() != int64(claims["exp"].(float64)) {
		t.Errorf("expires_at %s does not match the token's exp %v", b.Metadata.ExpiresAt, claims["exp"])
	}

	var bl struct {
		Bindings []struct {
			BindingID  string `json:"bindingId"`
			InstanceID string `json:"instanceId"`
			CreatedBy  string `json:"createdBy"`
		} `json:"bindings"`
	}
	a.cis(http.MethodGet, "/environments/"+id+"/bindings", nil).decode(t, &bl)
	if len(bl.Bindings) != 1 || bl.Bindings[0].BindingID != bid || bl.Bindings[0].InstanceID != id {
		t.Errorf("bindings: %+v", bl)
	}
	var got createdBinding
	a.cis(http.MethodGet, "/environments/"+id+"/bindings/"+bid, nil).decode(t, &got)
	if got.Credentials.Kubeconfig != b.Credentials.Kubeconfig {
		t.Error("GET binding returned another kubeconfig")
	}

	for _, tc := range []struct {
		name   string
		body   any
		status int
		msg    string
	}{
		{"expiration 100", map[string]any{"parameters": map[string]any{"expiration_seconds": 100}}, 400, "expiration_seconds cannot be less than 600"},
		{"expiration 7201", map[string]any{"parameters": map[string]any{"expiration_seconds": 7201}}, 400, "expiration_seconds cannot be greater than 7200"},
	} {
		var ce struct {
			Error struct {
				Code          int    `json:"code"`
				Message       string `json:"message"`
				CorrelationID string `json:"correlationID"`
			} `json:"error"`
		}
		r := a.cis(http.MethodPut, "/environments/"+id+"/bindings", tc.body)
		r.decode(t, &ce)
		if r.status != tc.status || ce.Error.Message != tc.msg || ce.Error.CorrelationID == "" {
			t.Errorf("%s: %d %s", tc.name, r.status, r.body)
		}
	}

	// Delete: 200, objects gone, the token refused, GET 404 with an empty body.
	a.cis(http.MethodDelete, "/environments/"+id+"/bindings/"+bid, nil).expect(t, "delete binding", 200, "")
	assertObjects(t, bid, false)
	eventuallyRefused(t, kc, "after the binding's deletion")
	if r := a.cis(http.MethodGet, "/environments/"+id+"/bindings/"+bid, nil); r.status != 404 || len(r.body) != 0 {
		t.Errorf("GET deleted binding: %d %q", r.status, r.body)
	}
	a.cis(http.MethodDelete, "/environments/"+id+"/bindings/"+bid, nil).expect(t, "delete again", 404, "")

	// Deleting the environment deletes its bindings and their objects.
	r = a.cis(http.MethodPut, "/environments/"+id+"/bindings", nil)
	second := r.header.Get("Location")
	var sb createdBinding
	r.decode(t, &sb)
	kc2 := kubeconfigFile(t, sb.Credentials.Kubeconfig)
	mustWork(t, kc2)
	r = a.cis(http.MethodDelete, "/environments/"+id, nil)
	var before struct{ State string }
	r.decode(t, &before)
	if r.status != 202 || before.State != "OK" {
		t.Errorf("delete environment: %d %s", r.status, r.body)
	}
	assertObjects(t, second, false)
	a.waitState(id, "")
	var gone struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	r = a.cis(http.MethodGet, "/environments/"+id, nil)
	r.decode(t, &gone)
	if r.status != 404 || gone.Error.Message != "Environment instance not found" {
		t.Errorf("deleted environment: %d %s", r.status, r.body)
	}
	eventuallyRefused(t, kc2, "after the environment's deletion")
}

func TestEmulatorBrokerAPI(t *testing.T) {
	t.Parallel()
	e := startEmulator(t)
	a := newRawAPI(t, e)
	ctxBody := map[string]any{"globalaccount_id": "ga", "subaccount_id": "sa", "user_id": "e2e@example.com"}
	provision := func(id, planID string, params map[string]any) reply {
		return a.osb(http.MethodPut, "/v2/service_instances/"+id+"?accepts_incomplete=true",
			map[string]any{"service_id": kymaServiceID, "plan_id": planID, "context": ctxBody, "parameters": params})
	}
	iid, azure := "e2e-keb-aws", "e2e-keb-azure"

	// KEB never reads accepts_incomplete on a provision: it is always asynchronous, 202.
	if r := a.osb(http.MethodPut, "/v2/service_instances/e2e-keb-sync", map[string]any{"service_id": kymaServiceID, "plan_id": awsPlanID, "context": ctxBody,
		"parameters": map[string]any{"name": "s", "region": "eu-central-1"}}); r.status != 202 {
		t.Errorf("provision without accepts_incomplete: %d %s, want 202", r.status, r.body)
	}
	r := provision(iid, awsPlanID, map[string]any{"name": "keb", "region": "eu-central-1"})
	var op struct{ Operation string }
	r.decode(t, &op)
	if r.status != 202 || op.Operation == "" {
		t.Fatalf("provision: %d %s", r.status, r.body)
	}
	provision(azure, azurePlanID, map[string]any{"name": "az", "region": "westeurope"}).expect(t, "provision azure", 202, "")
	bind := func(instance, bid string, params any) reply {
		body := map[string]any{"service_id": kymaServiceID, "plan_id": awsPlanID}
		if params != nil {
			body["parameters"] = params
		}
		return a.osb(http.MethodPut, "/v2/service_instances/"+instance+"/service_bindings/"+bid, body)
	}
	bid := "2f6b1c1e-6b1d-4f8e-9c3e-0b7d2f1a9e01"
	bind(iid, bid, nil).expect(t, "bind while provisioning", 400, `{"description":"instance e2e-keb-aws creation is in progress"}`)
	eventually(t, 30*time.Second, "last_operation succeeded", func() bool {
		var lo struct{ State string }
		a.osb(http.MethodGet, "/v2/service_instances/"+iid+"/last_operation?operation="+op.Operation, nil).decode(t, &lo)
		return lo.State == "succeeded"
	})
	eventually(t, 30*time.Second, "azure ready", func() bool {
		var lo struct{ State string }
		a.osb(http.MethodGet, "/v2/service_instances/"+azure+"/last_operation", nil).decode(t, &lo)
		return lo.State == "succeeded"
	})

	params := map[string]any{"expiration_seconds": 900, "token_request": true}
	r = bind(iid, bid, params)
	if r.status != 201 {
		t.Fatalf("bind: %d %s", r.status, r.body)
	}
	var b createdBinding
	r.decode(t, &b)
	kc := kubeconfigFile(t, b.Credentials.Kubeconfig)
	mustWork(t, kc)
	if again := bind(iid, bid, params); again.status != 200 || string(again.body) != string(r.body) {
		t.Errorf("same PUT again: %d, identical body %v", again.status, string(again.body) == string(r.body))
	}
	bind(iid, bid, map[string]any{"expiration_seconds": 1200}).expect(t, "other parameters", 409, `{"description":"binding already exists but with different parameters"}`)
	bind(iid, "b-100", map[string]any{"expiration_seconds": 100}).expect(t, "100", 400, `{"description":"expiration_seconds cannot be less than 600"}`)
	bind(iid, "b-7201", map[string]any{"expiration_seconds": 7201}).expect(t, "7201", 400, `{"description":"expiration_seconds cannot be greater than 7200"}`)
	bind(iid, "b-x", map[string]any{"expiration_seconds": "x"}).expect(t, "x", 400,
		`{"description":"failed to unmarshal parameters: cannot unmarshal string into expiration_seconds of type int"}`)
	a.osb(http.MethodPut, "/v2/service_instances/"+iid+"/service_bindings/b-1", map[string]any{"plan_id": awsPlanID}).expect(t, "no service_id", 400, `{"description":"service_id missing"}`)
	a.osb(http.MethodPut, "/v2/service_instances/"+iid+"/service_bindings/b-1", map[string]any{"service_id": kymaServiceID}).expect(t, "no plan_id", 400, `{"description":"plan_id missing"}`)
	a.osb(http.MethodPut, "/v2/service_instances/"+iid+"/service_bindings/b-1", "not json").expect(t, "not JSON", 422, "")
	bind("nope", "b-1", nil).expect(t, "unknown instance", 404, `{"description":"instance does not exist"}`)
	bind(azure, "b-1", nil).expect(t, "azure", 422, `{"error":"BindingNotSupported","description":"binding is not supported"}`)

	// An id that is not a Kubernetes name: the API server refuses the ServiceAccount.
	if r := bind(iid, "Not_A_Name", nil); r.status != 500 || !strings.Contains(string(r.body), "failed to create a Kyma binding") {
		t.Errorf("invalid id: %d %s", r.status, r.body)
	}
	bind(iid, "Not_A_Name", nil).expect(t, "invalid id again", 422, `{"description":"binding creation already in progress"}`)

	// Version header rules.
	path := "/oauth/v2/service_instances/" + iid + "/service_bindings/" + bid
	for v, want := range map[string]string{
		"":    `{"Description":"X-Broker-API-Version Header not set"}`,
		"abc": `{"Description":"X-Broker-API-Version Header must contain a version"}`,
		"1.0": `{"Description":"X-Broker-API-Version Header must be 2.x"}`,
	} {
		h := map[string]string{"Authorization": "bearer " + a.brokerToken}
		if v != "" {
			h["X-Broker-API-Version"] = v
		}
		a.call(http.MethodGet, path, nil, h).expect(t, "version "+v, 412, want)
	}
	a.call(http.MethodGet, strings.TrimPrefix(path, "/oauth"), nil, map[string]string{"Authorization": "bearer " + a.brokerToken, "X-Broker-API-Version": "2.14"}).
		expect(t, "without /oauth", 404, "")

	// GET, last_operation, the regional prefix.
	a.osb(http.MethodGet, "/v2/service_instances/"+iid+"/service_bindings/"+bid, nil).expect(t, "GET binding", 200,
		`{"credentials":{"kubeconfig":`+string(mustJSON(b.Credentials.Kubeconfig))+`}}`)
	a.osb(http.MethodGet, "/v2/service_instances/"+iid+"/service_bindings/unknown", nil).expect(t, "GET unknown", 404, `{"description":"Binding not found"}`)
	a.osb(http.MethodGet, "/v2/service_instances/"+iid+"/service_bindings/"+bid+"/last_operation", nil).expect(t, "binding last_operation", 500, `{"description":"not supported"}`)
	regional := a.osb(http.MethodPut, "/cf-eu10/v2/service_instances/"+iid+"/service_bindings/regional-1", map[string]any{"service_id": kymaServiceID, "plan_id": awsPlanID})
	regional.expect(t, "regional bind", 201, "")

	// DELETE: 200 {}, the objects gone and the token refused; 410 {} after; 400 without plan_id.
	a.osb(http.MethodDelete, "/v2/service_instances/"+iid+"/service_bindings/"+bid+"?service_id="+kymaServiceID, nil).expect(t, "unbind without plan_id", 400, `{"description":"plan_id missing"}`)
	unbind := "/v2/service_instances/" + iid + "/service_bindings/" + bid + "?service_id=" + kymaServiceID + "&plan_id=" + awsPlanID
	a.osb(http.MethodDelete, unbind, nil).expect(t, "unbind", 200, `{}`)
	assertObjects(t, bid, false)
	eventuallyRefused(t, kc, "after a KEB unbind")
	a.osb(http.MethodDelete, unbind, nil).expect(t, "unbind again", 410, `{}`)
	a.osb(http.MethodDelete, "/v2/service_instances/nope/service_bindings/x?service_id=s&plan_id=p", nil).expect(t, "unbind on unknown instance", 410, `{}`)

	// Deprovisioning, followed through last_operation.
	r = a.osb(http.MethodDelete, "/v2/service_instances/"+azure+"?service_id="+kymaServiceID+"&plan_id="+azurePlanID+"&accepts_incomplete=true", nil)
	var dop struct{ Operation string }
	r.decode(t, &dop)
	if r.status != 202 || dop.Operation == "" {
		t.Errorf("deprovision: %d %s", r.status, r.body)
	}
	eventually(t, 30*time.Second, "deprovisioning done", func() bool {
		var lo struct{ State, Description string }
		a.osb(http.MethodGet, "/v2/service_instances/"+azure+"/last_operation?operation="+dop.Operation, nil).decode(t, &lo)
		return lo.State == "succeeded"
	})
	// KEB removed GET /info/runtimes in February 2026 (#2797): no such endpoint.
	if r := a.call(http.MethodGet, "/info/runtimes", nil, map[string]string{"Authorization": "bearer " + a.brokerToken}); r.status != 404 {
		t.Errorf("/info/runtimes: %d %s, want 404", r.status, r.body)
	}
	a.osb(http.MethodDelete, "/v2/service_instances/"+azure+"?service_id="+kymaServiceID+"&plan_id="+azurePlanID, nil).expect(t, "deprovision a deleted instance", 200, `{}`)
}

func mustJSON(v any) []byte {
	raw, _ := json.Marshal(v)
	return raw
}

// TestEmulatorBindingTTL: with --binding-ttl below the TokenRequest minimum, the
// reported expiry is the TTL and the token really stops working once it passes.
func TestEmulatorBindingTTL(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "--binding-ttl", "5s")
	a := newRawAPI(t, e)
	id := a.environment("aws", "e2e-ttl", nil)
	start := time.Now()
	r := a.cis(http.MethodPut, "/environments/"+id+"/bindings", nil)
	bid := r.header.Get("Location")
	var b createdBinding
	r.decode(t, &b)
	exp, err := time.Parse(time.RFC3339, b.Metadata.ExpiresAt)
	if err != nil || exp.Sub(start) > 7*time.Second || exp.Before(start) {
		t.Errorf("expires_at %s, want about 5 s after %s (%v)", b.Metadata.ExpiresAt, start.UTC().Format(time.RFC3339), err)
	}
	kc := kubeconfigFile(t, b.Credentials.Kubeconfig)
	mustWork(t, kc)
	if s := e.stats(t); s.LiveBindings != 1 {
		t.Errorf("liveBindings = %d, want 1", s.LiveBindings)
	}
	eventuallyRefused(t, kc, "after the binding TTL")
	if clusterHas(t, "serviceaccount", "kyma-binding-"+bid) {
		t.Error("the janitor left the ServiceAccount")
	}
	if s := e.stats(t); s.LiveBindings != 0 {
		t.Errorf("liveBindings = %d after expiry, want 0", s.LiveBindings)
	}
	if r := a.cis(http.MethodGet, "/environments/"+id+"/bindings/"+bid, nil); r.status != 404 {
		t.Errorf("GET an expired binding: %d", r.status)
	}
	// The expired binding can still be deleted, and takes its other objects along.
	a.cis(http.MethodDelete, "/environments/"+id+"/bindings/"+bid, nil).expect(t, "delete expired", 200, "")
	assertObjects(t, bid, false)

	// KEB's limit through the broker (the CIS environment id is the KEB instance id): ten
	// live bindings; expired ones stop counting, but their ids stay taken.
	bind := func(bindingID string) reply {
		return a.osb(http.MethodPut, "/v2/service_instances/"+id+"/service_bindings/"+bindingID,
			map[string]any{"service_id": kymaServiceID, "plan_id": awsPlanID})
	}
	var ids []string
	for i := range 10 {
		ids = append(ids, fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
		bind(ids[i]).expect(t, "binding "+ids[i], 201, "")
	}
	bind("00000000-0000-4000-8000-000000000010").expect(t, "11th binding", 400, `{"description":"maximum number of non expired bindings reached: 10"}`)
	time.Sleep(6 * time.Second) // past the 5 s TTL
	a.osb(http.MethodGet, "/v2/service_instances/"+id+"/service_bindings/"+ids[1], nil).expect(t, "GET expired", 404, `{"description":"Binding expired"}`)
	bind(ids[0]).expect(t, "an expired id again", 400,
		`{"description":"failed to insert Kyma binding into storage: binding with id `+ids[0]+` already exists"}`)
	bind("00000000-0000-4000-8000-000000000011").expect(t, "a fresh id once the others expired", 201, "")
}

// TestEmulatorRestart: environments, bindings, tokens and the CA outlive a restart.
func TestEmulatorRestart(t *testing.T) {
	t.Parallel()
	e := startEmulator(t)
	a := newRawAPI(t, e)
	id := a.environment("gcp", "e2e-restart", map[string]any{"region": "europe-west3"})
	r := a.cis(http.MethodPut, "/environments/"+id+"/bindings", nil)
	bid := r.header.Get("Location")
	var b createdBinding
	r.decode(t, &b)
	ca, _ := os.ReadFile(filepath.Join(e.StateDir, "ca.crt"))
	port := e.URL[strings.LastIndex(e.URL, ":")+1:]

	e.restart(t, "--addr", "127.0.0.1:"+port)
	t.Cleanup(a.deleteEnvironments) // restart's stop runs before the first clean-up
	if again, _ := os.ReadFile(filepath.Join(e.StateDir, "ca.crt")); !bytes.Equal(ca, again) {
		t.Error("the CA changed")
	}
	var in struct{ State string }
	a.cis(http.MethodGet, "/environments/"+id, nil).decode(t, &in) // the old token, the same URL
	if in.State != "OK" {
		t.Errorf("environment after restart: %q", in.State)
	}
	var got createdBinding
	a.cis(http.MethodGet, "/environments/"+id+"/bindings/"+bid, nil).decode(t, &got)
	if got.Credentials.Kubeconfig != b.Credentials.Kubeconfig {
		t.Error("the binding changed across the restart")
	}
	mustWork(t, kubeconfigFile(t, got.Credentials.Kubeconfig))
	if s := e.stats(t); s.BindingsCreated != 0 || s.LiveBindings != 1 {
		t.Errorf("stats after restart = %+v, want counts since start (0) and one live binding", s)
	}
}

// TestEmulatorSlowBind: --bind-delay holds a bind open: a concurrent PUT of the same id
// gets KEB's 422, and --bind-timeout cuts a bind off with KEB's 503.
func TestEmulatorSlowBind(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "--bind-delay", "2s")
	a := newRawAPI(t, e)
	ctxBody := map[string]any{"globalaccount_id": "ga", "subaccount_id": "sa", "user_id": "u"}
	a.osb(http.MethodPut, "/v2/service_instances/slow?accepts_incomplete=true", map[string]any{
		"service_id": kymaServiceID, "plan_id": awsPlanID, "context": ctxBody, "parameters": map[string]any{"name": "slow", "region": "eu-central-1"},
	}).expect(t, "provision", 202, "")
	eventually(t, 30*time.Second, "ready", func() bool {
		var lo struct{ State string }
		a.osb(http.MethodGet, "/v2/service_instances/slow/last_operation", nil).decode(t, &lo)
		return lo.State == "succeeded"
	})
	body := map[string]any{"service_id": kymaServiceID, "plan_id": awsPlanID}
	path := "/v2/service_instances/slow/service_bindings/c0ffee00-0000-4000-8000-000000000001"
	var wg sync.WaitGroup
	replies := make([]reply, 3)
	for i := range replies {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * 300 * time.Millisecond) // the first takes the id
			replies[i] = a.osb(http.MethodPut, path, body)
		})
	}
	var during reply
	wg.Go(func() {
		time.Sleep(time.Second)
		during = a.osb(http.MethodGet, path, nil)
	})
	wg.Wait()
	during.expect(t, "GET while the bind runs", 404, `{"description":"Binding creation in progress"}`)
	if replies[0].status != 201 || replies[1].status != 422 || replies[2].status != 422 {
		t.Errorf("concurrent PUTs: %d %d %d, want 201 422 422 (%s)", replies[0].status, replies[1].status, replies[2].status, replies[1].body)
	}
	a.osb(http.MethodPut, path, body).expect(t, "once made", 200, "")
	if s := e.stats(t); s.BindingsCreated != 1 || s.BindingRequests != 4 {
		t.Errorf("stats = %+v, want 1 binding of 4 requests", s)
	}

	e.restart(t, "--bind-delay", "3s", "--bind-timeout", "1s")
	a = newRawAPI(t, e)
	r := a.osb(http.MethodPut, "/v2/service_instances/slow/service_bindings/c0ffee00-0000-4000-8000-000000000002", body)
	if r.status != 503 || string(r.body) != "request timeout: time exceeded 1s" {
		t.Errorf("timed-out bind: %d %q", r.status, r.body)
	}
}

// TestEmulatorRefusesNonLoopback: kyma-emulator will not listen beyond this machine.
func TestEmulatorRefusesNonLoopback(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(filepath.Join(binDir, "kyma-emulator"), "--kubeconfig", cluster.Kubeconfig, "--state-dir", t.TempDir(), "--addr", "0.0.0.0:0")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "not a loopback address") {
		t.Errorf("--addr 0.0.0.0:0: %v\n%s", err, out)
	}
}
