package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVerboseLogsHoldNoSecret runs the main flow at -v 9 and looks for the client
// secret, the UAA access token and the binding tokens in everything printed.
func TestVerboseLogsHoldNoSecret(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t)
	u := newUser(t)
	var printed strings.Builder
	kyma := func(args ...string) string {
		out, errOut, err := u.kyma(append(args, "-v", "9")...)
		printed.WriteString(out + errOut)
		if err != nil {
			t.Fatalf("kubectl kyma %v: %v\n%s", args, err, errOut)
		}
		return out
	}
	kyma("login", "--service-key", filepath.Join(emu.StateDir, "service-key.json"), "--certificate-authority", filepath.Join(emu.StateDir, "ca.crt"))
	kyma("provision", "e2e-secrets", "--plan", "aws", "--region", "eu-central-1", "--user", "e2e@example.com", "--wait")
	id := strings.TrimSpace(kyma("get", "e2e-secrets", "-o", "jsonpath={.id}"))
	kc := filepath.Join(u.home, "exec.kubeconfig")
	kyma("kubeconfig", "e2e-secrets", "--output-file", kc)
	kyma("bindings", "e2e-secrets")
	out, err := u.kubectl("--kubeconfig", kc, "get", "ns", "-v", "9")
	printed.WriteString(out)
	if err != nil {
		t.Fatalf("kubectl -v 9: %v", err)
	}
	if !strings.Contains(printed.String(), "httplog: PUT https://") {
		t.Fatalf("-v 9 logged no request: the test would prove nothing")
	}

	var secrets []string
	var key struct {
		Credentials struct {
			UAA struct {
				ClientSecret string `json:"clientsecret"`
			} `json:"uaa"`
		} `json:"credentials"`
	}
	data, _ := os.ReadFile(filepath.Join(emu.StateDir, "service-key.json"))
	if err := json.Unmarshal(data, &key); err != nil || key.Credentials.UAA.ClientSecret == "" {
		t.Fatalf("read the client secret: %v", err)
	}
	secrets = append(secrets, key.Credentials.UAA.ClientSecret)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	data, _ = os.ReadFile(filepath.Join(u.home, ".cache", "kubectl-kyma", "tokens", "default.json"))
	if err := json.Unmarshal(data, &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("read the cached UAA token: %v", err)
	}
	secrets = append(secrets, tok.AccessToken)
	_, binding := u.entry(id)
	if binding == "" {
		t.Fatal("no cached binding token")
	}
	secrets = append(secrets, binding)

	for i, s := range secrets {
		if strings.Contains(printed.String(), s) {
			t.Errorf("secret %d of %d appears in the -v 9 output", i+1, len(secrets))
		}
	}
}
