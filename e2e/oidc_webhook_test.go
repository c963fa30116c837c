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

	job := e.defaultJob(t)
	good := tokenKubeconfig(t, e, job.token(t, e, "kyma-e2e"))
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

	otherAud := tokenKubeconfig(t, e, job.token(t, e, "someone-else"))
	if out, err := u.kubectl("--kubeconfig", otherAud, "auth", "whoami"); err == nil || !refused(out) {
		t.Errorf("a token for another audience: %v, %s; want Unauthorized", err, out)
	}
	otherRepo := tokenKubeconfig(t, e, e.job(t, jobSpec{Repository: "mallory/app"}).token(t, e, "kyma-e2e"))
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

// TestOIDCResourceRefusedWhereGardenerRefusesIt applies OpenIDConnect resources with the
// real kubectl to the real apiserver: each one Gardener refuses on a Kyma cluster (by
// the CRD's schema or by its validating webhook) is refused here too, naming the field,
// and nothing is stored; the shapes Gardener takes are taken. Without the CRD's
// x-kubernetes-validations the webhook's rules (an audience, not both audience fields,
// no system: prefix, a positive maximum lifetime, a URL) let a bad trust through.
func TestOIDCResourceRefusedWhereGardenerRefusesIt(t *testing.T) {
	t.Parallel()
	suffix := fmt.Sprintf("%d", time.Now().UnixNano()%1e9)
	dir := t.TempDir()
	apply := func(name, spec string) (string, error) {
		t.Helper()
		doc := fmt.Sprintf("apiVersion: authentication.gardener.cloud/v1alpha1\nkind: OpenIDConnect\nmetadata: {name: %s}\nspec:\n%s", name, spec)
		file := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return kubectl(t, nil, "--kubeconfig", cluster.Kubeconfig, "apply", "-f", file)
	}
	const issuer = "  issuerURL: https://token.actions.githubusercontent.com\n  usernameClaim: repository\n"
	refusedCases := []struct {
		name, spec string
		want       []string // in kubectl's message
	}{
		{"no audience", issuer, []string{"spec.audiences", "names no audience"}},
		{"empty clientID, empty audiences", issuer + "  clientID: \"\"\n  audiences: []\n", []string{"spec.audiences", "names no audience"}},
		{"clientID and audiences", issuer + "  clientID: https://api.example\n  audiences: [https://api.example]\n", []string{"spec.clientID", "set only one"}},
		{"usernamePrefix system:", issuer + "  clientID: a\n  usernamePrefix: \"system:ci:\"\n", []string{"spec.usernamePrefix", "must not start with system:"}},
		{"usernamePrefix exactly system:", issuer + "  clientID: a\n  usernamePrefix: \"system:\"\n", []string{"spec.usernamePrefix", "must not start with system:"}},
		{"groupsPrefix system:", issuer + "  clientID: a\n  groupsClaim: groups\n  groupsPrefix: \"system:\"\n", []string{"spec.groupsPrefix", "must not start with system:"}},
		{"maxTokenExpirationSeconds 0", issuer + "  clientID: a\n  maxTokenExpirationSeconds: 0\n", []string{"spec.maxTokenExpirationSeconds", "must be positive"}},
		{"maxTokenExpirationSeconds negative", issuer + "  clientID: a\n  maxTokenExpirationSeconds: -60\n", []string{"spec.maxTokenExpirationSeconds", "must be positive"}},
		{"issuer not a URL", "  issuerURL: \"https://token actions\"\n  usernameClaim: repository\n  clientID: a\n", []string{"spec.issuerURL", "is not a URL"}},
		{"issuer http", "  issuerURL: http://token.actions.githubusercontent.com\n  usernameClaim: repository\n  clientID: a\n", []string{"spec.issuerURL", "https"}},
		{"symmetric algorithm", issuer + "  clientID: a\n  supportedSigningAlgs: [HS256]\n", []string{"spec.supportedSigningAlgs[0]", "Unsupported value"}},
		{"no username claim", "  issuerURL: https://token.actions.githubusercontent.com\n  clientID: a\n", []string{"spec.usernameClaim", "Required value"}},
		{"empty username claim", issuer + "  clientID: a\n  usernameClaim: \"\"\n", []string{"spec.usernameClaim"}},
		// A DER certificate or a file name where the PEM bundle belongs.
		{"caBundle without a PEM certificate", issuer + "  clientID: a\n  caBundle: " + base64([]byte("/etc/ssl/certs/issuer.crt")) + "\n", []string{"spec.caBundle", "holds no PEM certificate"}},
	}
	for i, c := range refusedCases {
		name := fmt.Sprintf("e2e-refused-%s-%d", suffix, i)
		out, err := apply(name, c.spec)
		if err == nil {
			_, _ = kubectl(t, nil, "--kubeconfig", cluster.Kubeconfig, "delete", "openidconnects.authentication.gardener.cloud", name)
			t.Errorf("%s: kubectl apply took a resource Gardener refuses:\n%s", c.name, out)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: kubectl apply's message lacks %q:\n%s", c.name, w, out)
			}
		}
		if got, err := kubectl(t, nil, "--kubeconfig", cluster.Kubeconfig, "get", "openidconnects.authentication.gardener.cloud", name); err == nil {
			t.Errorf("%s: a refused resource is stored:\n%s", c.name, got)
		}
	}

	acceptedCases := []struct{ name, spec string }{
		{"clientID, as oidc trust writes", issuer + "  clientID: https://api.example\n  usernamePrefix: \"https://token.actions.githubusercontent.com#\"\n  requiredClaims: {repository: example/app, repository_id: \"42\"}\n"},
		{"audiences only", issuer + "  audiences: [https://api.example, other]\n"},
		{"prefixing disabled", issuer + "  clientID: a\n  usernamePrefix: \"-\"\n  groupsPrefix: \"-\"\n"},
		{"prefix system without the colon", issuer + "  clientID: a\n  usernamePrefix: \"system\"\n  groupsPrefix: \"systems:\"\n"},
		{"a positive maximum lifetime", issuer + "  clientID: a\n  maxTokenExpirationSeconds: 3600\n  supportedSigningAlgs: [RS256, ES256, PS512]\n"},
	}
	for i, c := range acceptedCases {
		name := fmt.Sprintf("e2e-accepted-%s-%d", suffix, i)
		out, err := apply(name, c.spec)
		if err != nil {
			t.Errorf("%s: kubectl apply refused a resource Gardener takes: %v\n%s", c.name, err, out)
			continue
		}
		t.Cleanup(func() {
			_, _ = kubectl(t, nil, "--kubeconfig", cluster.Kubeconfig, "delete", "openidconnects.authentication.gardener.cloud", name, "--ignore-not-found")
		})
	}

	// Gardener's webhook judges updates as it judges creations: a stored trust cannot
	// be changed into one it would refuse.
	name := fmt.Sprintf("e2e-accepted-%s-0", suffix)
	out, err := apply(name, issuer+"  clientID: https://api.example\n  audiences: [https://api.example]\n")
	if err == nil || !strings.Contains(out, "spec.clientID") {
		t.Errorf("updating a trust to set clientID and audiences: %v; want refused naming spec.clientID:\n%s", err, out)
	}
}

// newCIJob registers a job of the emulator's GitHub Actions with the given workflow
// name and returns its token for audience.
func (e *emulator) newCIJob(t testing.TB, workflow, audience string) string {
	t.Helper()
	return e.job(t, jobSpec{Repository: "example/app", Workflow: workflow}).token(t, e, audience)
}

// TestOIDCWebhookRefusesTokensAsGardener: through the real apiserver, a token that a
// trust maps to a user under system: is refused (a job's workflow name is the job's
// to choose, so a trust keyed on it with no prefix would otherwise let a job act as
// system:kube-controller-manager), a token without a claim the trust's extraClaims
// names is refused, and the extraClaims of an accepted token are in the user's extra
// as kubectl auth whoami shows them.
func TestOIDCWebhookRefusesTokensAsGardener(t *testing.T) {
	t.Parallel()
	e := startEmulator(t)
	ca, err := os.ReadFile(filepath.Join(e.StateDir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	sfx := fmt.Sprintf("%d", time.Now().UnixNano()%1e9)
	// Three trusts of the emulator's issuer, told apart by their audience.
	manifest := fmt.Sprintf(`apiVersion: authentication.gardener.cloud/v1alpha1
kind: OpenIDConnect
metadata: {name: e2e-env-%[1]s}
spec: {issuerURL: %[2]q, caBundle: %[3]s, clientID: env-%[1]s, usernameClaim: repository, extraClaims: [environment]}
---
apiVersion: authentication.gardener.cloud/v1alpha1
kind: OpenIDConnect
metadata: {name: e2e-sys-%[1]s}
spec: {issuerURL: %[2]q, caBundle: %[3]s, clientID: sys-%[1]s, usernameClaim: workflow, usernamePrefix: "-"}
---
apiVersion: authentication.gardener.cloud/v1alpha1
kind: OpenIDConnect
metadata: {name: e2e-extra-%[1]s}
spec: {issuerURL: %[2]q, caBundle: %[3]s, clientID: extra-%[1]s, usernameClaim: repository, extraClaims: [run_id, workflow]}
`, sfx, e.URL, base64(ca))
	file := filepath.Join(t.TempDir(), "trusts.yaml")
	if err := os.WriteFile(file, []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := kubectl(t, nil, "--kubeconfig", e.Cluster.Kubeconfig, "apply", "-f", file); err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		_, _ = kubectl(t, nil, "--kubeconfig", e.Cluster.Kubeconfig, "delete", "-f", file, "--ignore-not-found")
	})
	whoami := func(token string) (string, error) {
		return kubectl(t, nil, "--kubeconfig", tokenKubeconfig(t, e, token), "auth", "whoami", "-o", "json")
	}

	// Controls first: each shows its trust is live (the webhook lists every 2 s and the
	// apiserver caches a refusal 10 s), so a refusal after them is the rule's.
	extraTok := e.newCIJob(t, "deploy-"+sfx, "extra-"+sfx)
	var out string
	eventually(t, 40*time.Second, "a token with the extraClaims accepted", func() bool {
		out, err = whoami(extraTok)
		return err == nil
	})
	var review struct {
		Status struct {
			UserInfo struct {
				Username string              `json:"username"`
				Extra    map[string][]string `json:"extra"`
			} `json:"userInfo"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &review); err != nil {
		t.Fatalf("auth whoami -o json: %v\n%s", err, out)
	}
	ui := review.Status.UserInfo
	if ui.Username != "e2e-extra-"+sfx+"/example/app" {
		t.Errorf("username %q, want the resource name's default prefix and the repository", ui.Username)
	}
	if got := ui.Extra["gardener.cloud/user/workflow"]; len(got) != 1 || got[0] != "deploy-"+sfx {
		t.Errorf("extra gardener.cloud/user/workflow = %v, want [deploy-%s]; extra: %v", got, sfx, ui.Extra)
	}
	if got := ui.Extra["gardener.cloud/user/run_id"]; len(got) != 1 || got[0] == "" {
		t.Errorf("extra gardener.cloud/user/run_id = %v, want the job's run id", got)
	}
	if out, err := whoami(e.newCIJob(t, "deploy-"+sfx, "env-"+sfx)); err == nil || !refused(out) {
		t.Errorf("a token without the environment claim the trust's extraClaims names: %v\n%s; want Unauthorized", err, out)
	}

	eventually(t, 40*time.Second, "a job named by its workflow accepted", func() bool {
		out, err = kubectl(t, nil, "--kubeconfig", tokenKubeconfig(t, e, e.newCIJob(t, "deploy-"+sfx, "sys-"+sfx)), "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
		return err == nil
	})
	if strings.TrimSpace(out) != "deploy-"+sfx {
		t.Fatalf("the workflow trust names the user %q, want deploy-%s", out, sfx)
	}
	sys := tokenKubeconfig(t, e, e.newCIJob(t, "system:kube-controller-manager", "sys-"+sfx))
	if out, err := kubectl(t, nil, "--kubeconfig", sys, "auth", "whoami"); err == nil || !refused(out) {
		t.Errorf("a job whose workflow is system:kube-controller-manager: %v\n%s; want Unauthorized", err, out)
	}
	if out, err := kubectl(t, nil, "--kubeconfig", sys, "get", "secrets", "-n", "kube-system"); err == nil || !refused(out) {
		t.Errorf("a job whose workflow is system:kube-controller-manager reads kube-system secrets: %v\n%s", err, out)
	}
}
