package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// githubActionsEnv reads the emulator's github-actions.env.
func githubActionsEnv(t testing.TB, e *emulator) (requestURL, requestToken string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(e.StateDir, "github-actions.env"))
	if err != nil {
		t.Fatalf("read github-actions.env: %v", err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "ACTIONS_ID_TOKEN_REQUEST_URL":
			requestURL = v
		case "ACTIONS_ID_TOKEN_REQUEST_TOKEN":
			requestToken = v
		}
	}
	if requestURL == "" || requestToken == "" {
		t.Fatalf("github-actions.env lacks a variable:\n%s", raw)
	}
	return requestURL, requestToken
}

// ciToken fetches an ID token as a GitHub Actions job does.
func (e *emulator) ciToken(t testing.TB, requestURL, requestToken, audience string) string {
	t.Helper()
	req, err := http.NewRequest("GET", requestURL+"&audience="+url.QueryEscape(audience), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "bearer "+requestToken)
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatalf("ID token request: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var v struct {
		Value string `json:"value"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &v) != nil || v.Value == "" {
		t.Fatalf("ID token request: %d %s", resp.StatusCode, body)
	}
	return v.Value
}

// tokenKubeconfig writes a kubeconfig for the emulator's cluster whose user is a bare
// bearer token, 0600.
func tokenKubeconfig(t testing.TB, e *emulator, token string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "token.kubeconfig")
	doc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: %q, certificate-authority-data: %s}}]
users: [{name: ci, user: {token: %q}}]
contexts: [{name: c, context: {cluster: c, user: ci}}]
current-context: c
`, e.Cluster.Server, base64(e.Cluster.CAData), token)
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOIDCWebhookTrustsOpenIDConnect is the cluster side of keyless CI, set up by hand
// as an operator would on a Kyma cluster: an OpenIDConnect resource for the emulator's
// issuer and a ClusterRoleBinding for the prefixed repository. A job's token (from
// github-actions.env) is then the repository's identity on the real apiserver; a token
// for another audience or another repository is refused; deleting the resource ends
// the trust within 30 s.
func TestOIDCWebhookTrustsOpenIDConnect(t *testing.T) {
	t.Parallel()
	e := startEmulator(t)
	u := newUser(t)
	admin := func(args ...string) string {
		t.Helper()
		out, err := u.kubectl(append([]string{"--kubeconfig", e.Cluster.Kubeconfig}, args...)...)
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	ca, err := os.ReadFile(filepath.Join(e.StateDir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	// Names and prefix of this test only: the cluster is shared with other tests.
	suffix := fmt.Sprintf("%d", time.Now().UnixNano()%1e9)
	name, prefix := "e2e-webhook-"+suffix, "ci-"+suffix+":"
	manifest := fmt.Sprintf(`apiVersion: authentication.gardener.cloud/v1alpha1
kind: OpenIDConnect
metadata: {name: %[1]s}
spec:
  issuerURL: %[2]s
  clientID: kyma-e2e
  usernameClaim: repository
  usernamePrefix: %[3]q
  requiredClaims: {repository: example/app}
  caBundle: %[4]s
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: %[1]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: %[5]q}]
`, name, e.URL, prefix, base64(ca), prefix+"example/app")
	file := filepath.Join(t.TempDir(), "trust.yaml")
	if err := os.WriteFile(file, []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	admin("apply", "-f", file)
	t.Cleanup(func() {
		_, _ = u.kubectl("--kubeconfig", e.Cluster.Kubeconfig, "delete", "-f", file, "--ignore-not-found")
	})

	reqURL, reqToken := githubActionsEnv(t, e)
	good := tokenKubeconfig(t, e, e.ciToken(t, reqURL, reqToken, "kyma-e2e"))
	// A new trust takes effect within seconds, not at once: the webhook re-lists the
	// resources every 2 s and the apiserver caches a refusal for 10 s (as Gardener's
	// authenticator and a real cluster do), and other tests share this cluster.
	var whoami string
	eventually(t, 30*time.Second, "the job's token accepted after the OpenIDConnect resource is applied", func() bool {
		out, err := u.kubectl("--kubeconfig", good, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
		whoami = strings.TrimSpace(out)
		return err == nil
	})
	if whoami != prefix+"example/app" {
		t.Fatalf("auth whoami with the job's token names %q; want %q", whoami, prefix+"example/app")
	}
	if out, err := u.kubectl("--kubeconfig", good, "get", "pods", "-A"); err != nil {
		t.Errorf("get pods -A as the trusted repository (view): %v\n%s", err, out)
	}
	if out, err := u.kubectl("--kubeconfig", good, "create", "ns", "ci-"+suffix); err == nil || !strings.Contains(out, "forbidden") {
		t.Errorf("create ns as a viewer: %v, %s; want forbidden", err, out)
	}

	otherAud := tokenKubeconfig(t, e, e.ciToken(t, reqURL, reqToken, "someone-else"))
	if out, err := u.kubectl("--kubeconfig", otherAud, "auth", "whoami"); err == nil || !refused(out) {
		t.Errorf("a token for another audience: %v, %s; want Unauthorized", err, out)
	}
	var job struct {
		URL   string `json:"ACTIONS_ID_TOKEN_REQUEST_URL"`
		Token string `json:"ACTIONS_ID_TOKEN_REQUEST_TOKEN"`
	}
	resp, err := e.client.Post(e.URL+"/emulator/v1/github-actions/jobs", "application/json", strings.NewReader(`{"repository":"mallory/app"}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(resp.Body).Decode(&job); err != nil || resp.StatusCode != 201 {
		t.Fatalf("a job of another repository: %d %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	otherRepo := tokenKubeconfig(t, e, e.ciToken(t, job.URL, job.Token, "kyma-e2e"))
	if out, err := u.kubectl("--kubeconfig", otherRepo, "auth", "whoami"); err == nil || !refused(out) {
		t.Errorf("a token for another repository: %v, %s; want Unauthorized", err, out)
	}

	admin("delete", "openidconnects.authentication.gardener.cloud", name)
	eventually(t, 30*time.Second, "the job's token refused after the OpenIDConnect resource is deleted", func() bool {
		out, err := u.kubectl("--kubeconfig", good, "auth", "whoami")
		return err != nil && refused(out)
	})
	// The admin (token file) never depended on the webhook.
	admin("auth", "whoami")
}
