package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// brokerFile is broker.json, what an operator needs to talk to KEB directly.
type brokerFile struct {
	URL          string            `json:"url"`
	TokenURL     string            `json:"tokenURL"`
	ClientID     string            `json:"clientID"`
	ClientSecret string            `json:"clientSecret"`
	Region       string            `json:"region"`
	ServiceID    string            `json:"serviceID"`
	Plans        map[string]string `json:"plans"`
}

// xsuaaShaped reports whether a client is shaped like XSUAA's: an id with "!" and
// "|", a secret with "$", "+", "/" and "=".
func xsuaaShaped(id, secret string) bool {
	return strings.Contains(id, "!") && strings.Contains(id, "|") &&
		strings.Contains(secret, "$") && strings.Contains(secret, "+") && strings.Contains(secret, "/") && strings.Contains(secret, "=")
}

// TestLoginWithXSUAACredentials: the emulator refuses a URL-encoded Basic header
// without X-CF-ENCODED-CREDENTIALS, as XSUAA does, and kubectl kyma login still works
// for a CIS service key and a KEB-direct client whose ids hold "!" and "|" and whose
// secrets hold "$+=/".
func TestLoginWithXSUAACredentials(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t)
	a := newRawAPI(t, emu)
	var key struct {
		Credentials struct {
			UAA struct {
				ClientID     string `json:"clientid"`
				ClientSecret string `json:"clientsecret"`
			} `json:"uaa"`
		} `json:"credentials"`
	}
	readJSON(t, filepath.Join(emu.StateDir, "service-key.json"), &key)
	var b brokerFile
	readJSON(t, filepath.Join(emu.StateDir, "broker.json"), &b)
	cisID, cisSecret := key.Credentials.UAA.ClientID, key.Credentials.UAA.ClientSecret
	if !xsuaaShaped(cisID, cisSecret) || !xsuaaShaped(b.ClientID, b.ClientSecret) {
		t.Fatalf("the emulator's clients are not shaped like XSUAA's: %q, %q", cisID, b.ClientID)
	}

	// What x/oauth2's AuthStyleInHeader sends: refused without the header.
	encoded := func(header map[string]string) reply {
		req, _ := http.NewRequest(http.MethodPost, emu.URL+"/oauth/token", strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(cisID), url.QueryEscape(cisSecret))
		for k, v := range header {
			req.Header.Set(k, v)
		}
		return a.send(req)
	}
	encoded(nil).expect(t, "URL-encoded Basic without X-CF-ENCODED-CREDENTIALS", 401, `{"error":"invalid_client","error_description":"Bad credentials"}`)
	encoded(map[string]string{"X-CF-ENCODED-CREDENTIALS": "true"}).expect(t, "URL-encoded Basic with X-CF-ENCODED-CREDENTIALS", 200, "")
	a.postToken(url.Values{"grant_type": {"client_credentials"}}, cisID, cisSecret).expect(t, "raw Basic", 200, "")

	u := newUser(t)
	u.login(emu)
	if out := u.mustKyma("available"); !strings.Contains(out, "aws") {
		t.Errorf("available after a CIS login:\n%s", out)
	}
	secret := filepath.Join(u.home, "broker-secret")
	if err := os.WriteFile(secret, []byte(b.ClientSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	u.mustKyma("login", "--profile", "keb", "--broker-url", b.URL, "--token-url", b.TokenURL, "--client-id", b.ClientID,
		"--client-secret-file", secret, "--region", b.Region, "--certificate-authority", filepath.Join(emu.StateDir, "ca.crt"))
	// The KEB profile's token is good at KEB: an unknown instance is KEB's 404, not a 401.
	if _, errOut, err := u.kyma("--profile", "keb", "bind", "00000000-0000-4000-8000-000000000000"); err == nil || !strings.Contains(errOut, "instance does not exist") {
		t.Errorf("bind through the KEB profile: %v %s", err, errOut)
	}
	var stats struct {
		TokensIssued int `json:"tokensIssued"`
	}
	r := a.call(http.MethodGet, "/emulator/v1/stats", nil, nil)
	if err := json.Unmarshal(r.body, &stats); err != nil || stats.TokensIssued < 5 {
		t.Errorf("tokens issued %d (%v), want at least 5", stats.TokensIssued, err)
	}
}

// TestBindWithoutKubeconfigInTheAnswer: when the Provisioning Service's 202 carries no
// credentials.kubeconfig (the emulator's omit fault), bind reads the kubeconfig with a
// GET by the Location id, and the kubeconfig works on the real cluster. When the GET
// has none yet it is asked again for up to 20 s; when it has none by then, the binding
// the service made is deleted and the error says so.
func TestBindWithoutKubeconfigInTheAnswer(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t)
	u := newUser(t)
	u.login(emu)
	u.provision("e2e-omit")

	emu.fault(t, `{"route":"`+bindRoute+`","omit":"credentials"}`)
	out, errOut, err := u.kyma("bind", "e2e-omit")
	if err != nil {
		t.Fatalf("bind under the omit fault: %v\n%s", err, errOut)
	}
	kc := filepath.Join(u.home, "omit.kubeconfig")
	if err := os.WriteFile(kc, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	if who, err := u.kubectl("--kubeconfig", kc, "auth", "whoami"); err != nil || !strings.Contains(who, "kyma-binding-") {
		t.Fatalf("kubectl with the kubeconfig fetched by GET: %v\n%s", err, who)
	}

	// The GET answers as KEB does while the binding has no kubeconfig yet (404
	// "Binding creation in progress"), or as the spec allows (200, metadata only), a
	// few times: bind asks again and gets the kubeconfig.
	const getRoute = "GET /provisioning/v1/environments/{id}/bindings/{bindingId}"
	for _, shape := range []string{`"status":404,"message":"Binding creation in progress"`, `"omit":"credentials"`} {
		emu.fault(t, `{"route":"`+bindRoute+`","omit":"credentials"}`)
		emu.fault(t, `{"route":"`+getRoute+`","count":2,`+shape+`}`)
		out, errOut, err := u.kyma("bind", "e2e-omit")
		if err != nil || !strings.Contains(out, "kind: Config") {
			t.Fatalf("bind while the GET says {%s} twice: %v\n%s", shape, err, errOut)
		}
	}

	// Neither the 202 nor the GET has a kubeconfig, for 20 s (six GETs): the binding
	// is deleted.
	emu.fault(t, `{"route":"`+bindRoute+`","omit":"credentials"}`)
	emu.fault(t, `{"route":"`+getRoute+`","count":10,"omit":"credentials"}`)
	_, errOut, err = u.kyma("bind", "e2e-omit")
	if err == nil || !strings.Contains(errOut, "sent no kubeconfig, neither in its answer nor on a GET of the binding within 20s; the binding was deleted") {
		t.Fatalf("bind with no kubeconfig anywhere: %v\n%s", err, errOut)
	}
	emu.clearFaults(t)
	var list struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(u.mustKyma("bindings", "e2e-omit", "-o", "json")), &list); err != nil || len(list.Items) != 3 {
		t.Errorf("bindings after the failed bind: %v %+v, want only the three that worked", err, list)
	}
}
