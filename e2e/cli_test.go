package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// TestCISWorkflow is issue 3's walk through the Provisioning Service: every command as
// a user types it, through the real kubectl, against the emulator and its real cluster.
func TestCISWorkflow(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t)
	u := newUser(t)
	u.login(emu)

	if out := u.mustKyma("profiles"); !strings.Contains(out, "*         default") {
		t.Errorf("profiles does not mark default as current:\n%s", out)
	}
	if out := u.mustKyma("available", "-o", "wide"); !strings.Contains(out, "aws") || !strings.Contains(out, "eu-central-1") {
		t.Errorf("available lacks the aws plan and its regions:\n%s", out)
	}

	out := u.mustKyma("provision", "e2e-cis", "--plan", "aws", "--region", "eu-central-1", "--user", "e2e@example.com", "--wait")
	if !strings.Contains(out, "environment/e2e-cis is ready") {
		t.Errorf("provision --wait did not end ready:\n%s", out)
	}

	// list and get in every output format.
	table := u.mustKyma("list")
	if !strings.HasPrefix(table, "NAME") || !strings.Contains(table, "e2e-cis") || !strings.Contains(table, "OK") {
		t.Errorf("list table:\n%s", table)
	}
	if wide := u.mustKyma("list", "-o", "wide"); !strings.Contains(wide, "API SERVER") || !strings.Contains(wide, cluster.Server) {
		t.Errorf("list -o wide lacks the API server %s:\n%s", cluster.Server, wide)
	}
	var list struct {
		Kind  string `json:"kind"`
		Items []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(u.mustKyma("list", "-o", "json")), &list); err != nil || list.Kind != "List" || len(list.Items) != 1 || list.Items[0].State != "OK" {
		t.Fatalf("list -o json: %v %+v", err, list)
	}
	id := list.Items[0].ID
	if err := yaml.Unmarshal([]byte(u.mustKyma("list", "-o", "yaml")), &list); err != nil || list.Items[0].ID != id {
		t.Errorf("list -o yaml: %v %+v", err, list)
	}
	if got := u.mustKyma("list", "-o", "name"); got != "environment/e2e-cis\n" {
		t.Errorf("list -o name = %q", got)
	}
	if got := u.mustKyma("get", "e2e-cis", "-o", "jsonpath={.id}"); got != id {
		t.Errorf("get -o jsonpath = %q, want %s", got, id)
	}
	if got := u.mustKyma("get", id, "-o", "go-template={{.state}}"); got != "OK" {
		t.Errorf("get ID -o go-template = %q", got)
	}

	// bind: the kubeconfig works with the real kubectl until the binding is revoked.
	kc := filepath.Join(u.home, "bound.kubeconfig")
	if err := os.WriteFile(kc, []byte(u.mustKyma("bind", "e2e-cis", "--expiration", "600")), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := u.kubectl("--kubeconfig", kc, "get", "pods", "-A"); err != nil {
		t.Fatalf("kubectl with the bound kubeconfig: %v\n%s", err, out)
	}
	var bindings struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(u.mustKyma("bindings", "e2e-cis", "-o", "json")), &bindings); err != nil || len(bindings.Items) != 1 {
		t.Fatalf("bindings -o json: %v %+v", err, bindings)
	}
	bid := bindings.Items[0].ID
	if table := u.mustKyma("bindings", "e2e-cis"); !strings.Contains(table, bid) || !strings.Contains(table, "in 9m") {
		t.Errorf("bindings table lacks %s expiring in 9m:\n%s", bid, table)
	}
	if out := u.mustKyma("unbind", "e2e-cis", bid); out != "binding/"+bid+" deleted\n" {
		t.Errorf("unbind said %q", out)
	}
	eventually(t, 40*time.Second, "kubectl refused after unbind", func() bool {
		out, err := u.kubectl("--kubeconfig", kc, "get", "pods", "-A")
		return err != nil && refused(out)
	})

	out = u.mustKyma("deprovision", "e2e-cis", "--wait", "--yes")
	if !strings.Contains(out, "environment/e2e-cis is gone") {
		t.Errorf("deprovision --wait:\n%s", out)
	}
	if _, errOut, err := u.kyma("get", "e2e-cis"); err == nil || !strings.Contains(errOut, `error: no Kyma environment "e2e-cis"`) {
		t.Errorf("get after deprovision: %v %s", err, errOut)
	}
}

// TestBrokerWorkflow binds through KEB's OSB API directly, at /oauth/{region}.
func TestBrokerWorkflow(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t)
	u := newUser(t)
	u.login(emu)
	id := u.provision("e2e-keb")

	var b struct {
		URL          string `json:"url"`
		TokenURL     string `json:"tokenURL"`
		ClientID     string `json:"clientID"`
		ClientSecret string `json:"clientSecret"`
		Region       string `json:"region"`
		ServiceID    string `json:"serviceID"`
		Plans        map[string]string
	}
	data, err := os.ReadFile(filepath.Join(emu.StateDir, "broker.json"))
	if err != nil || json.Unmarshal(data, &b) != nil {
		t.Fatalf("read broker.json: %v", err)
	}
	secret := filepath.Join(u.home, "broker-secret")
	if err := os.WriteFile(secret, []byte(b.ClientSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	u.mustKyma("login", "--profile", "keb", "--broker-url", b.URL, "--token-url", b.TokenURL, "--client-id", b.ClientID,
		"--client-secret-file", secret, "--region", b.Region, "--service-id", b.ServiceID, "--plan-id", b.Plans["aws"],
		"--certificate-authority", filepath.Join(emu.StateDir, "ca.crt"))

	kc := filepath.Join(u.home, "keb.kubeconfig")
	bound, errOut, err := u.kyma("--profile", "keb", "bind", id)
	if err != nil {
		t.Fatalf("bind through KEB: %v\n%s", err, errOut)
	}
	if err := os.WriteFile(kc, []byte(bound), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := u.kubectl("--kubeconfig", kc, "auth", "whoami"); err != nil || !strings.Contains(out, "kyma-binding-") {
		t.Fatalf("kubectl with the KEB binding: %v\n%s", err, out)
	}
	bid := strings.TrimPrefix(strings.Fields(errOut)[0], "binding/") // "binding/ID expires at ..."
	u.mustKyma("--profile", "keb", "unbind", id, bid)
	eventually(t, 40*time.Second, "kubectl refused after a KEB unbind", func() bool {
		out, err := u.kubectl("--kubeconfig", kc, "get", "ns")
		return err != nil && refused(out)
	})
	if _, errOut, err := u.kyma("--profile", "keb", "unbind", id, bid); err == nil || !strings.Contains(errOut, "has no binding "+bid) {
		t.Errorf("a second unbind: %v %s", err, errOut)
	}
}

// TestBadInput: each mistake a user makes gets one clear sentence and a non-zero exit,
// never a stack trace and never a secret.
func TestBadInput(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t)
	ca := filepath.Join(emu.StateDir, "ca.crt")
	key, err := os.ReadFile(filepath.Join(emu.StateDir, "service-key.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sk struct {
		Credentials struct {
			UAA struct {
				ClientSecret string `json:"clientsecret"`
			} `json:"uaa"`
		} `json:"credentials"`
	}
	if err := json.Unmarshal(key, &sk); err != nil {
		t.Fatal(err)
	}
	secret := sk.Credentials.UAA.ClientSecret

	u := newUser(t)
	write := func(name, content string) string {
		p := filepath.Join(u.home, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badKey := write("bad-key.json", `{"credentials":{"url":"https://x"}}`)
	wrongSecret := write("wrong-secret.json", strings.Replace(string(key), secret, "not-the-secret", 1))

	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth/token" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"access_token":"x","token_type":"bearer","expires_in":3600}`))
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"error":{"code":50000,"message":"Internal error, try again later","correlationID":"c-1"}}`))
	}))
	defer failing.Close()
	down := httptest.NewServer(nil)
	downURL := down.URL
	down.Close()

	u.login(emu)
	u.provision("e2e-bad")

	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"bad service key", nil, []string{"login", "--service-key", badKey}, "it has no uaa section"},
		{"missing service key", nil, []string{"login", "--service-key", filepath.Join(u.home, "nope.json")}, "read the service key"},
		{"wrong secret", nil, []string{"login", "--profile", "wrong", "--service-key", wrongSecret, "--certificate-authority", ca}, "Bad credentials"},
		{"unknown name", nil, []string{"get", "no-such-env"}, `no Kyma environment "no-such-env"; the subaccount has: e2e-bad (`},
		{"expiration 100", nil, []string{"bind", "e2e-bad", "--expiration", "100"}, "a binding lives from 600 to 7200 seconds"},
		{"expiration 9000", nil, []string{"bind", "e2e-bad", "--expiration", "9000"}, "not 9000"},
		{"server down", []string{"KUBECTL_KYMA_PROFILE=env", "CLIENT_ID=x", "CLIENT_SECRET=y", "UAA_URL=" + downURL, "PROVISIONING_SERVICE_URL=" + downURL}, []string{"list"}, "cannot reach"},
		{"server returns 500", []string{"KUBECTL_KYMA_PROFILE=env", "CLIENT_ID=x", "CLIENT_SECRET=y", "UAA_URL=" + failing.URL, "PROVISIONING_SERVICE_URL=" + failing.URL}, []string{"list"}, "Internal error, try again later"},
		{"unknown output", nil, []string{"list", "-o", "xml"}, `unknown output format "xml"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := u.run(tc.env, "kubectl", append([]string{"kyma"}, tc.args...)...)
			if err == nil {
				t.Fatalf("exit 0, want a failure\nstdout: %s", out)
			}
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "error: ") || !strings.Contains(lines[0], tc.want) {
				t.Errorf("stderr = %q, want one line 'error: ...%s...'", errOut, tc.want)
			}
			if strings.Contains(out+errOut, "goroutine ") || strings.Contains(out+errOut, secret) {
				t.Errorf("output holds a stack trace or the client secret:\n%s%s", out, errOut)
			}
		})
	}
}
