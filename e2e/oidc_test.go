package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-kyma/kubectl-kyma/internal/oidctrust"
)

// Keyless CI (issue 16): a repository's CI jobs reach an environment's cluster with
// their own OIDC ID tokens, through the trust `kubectl kyma oidc trust` makes. The
// emulator is GitHub's token service and issuer; the cluster trusts what OpenIDConnect
// resources say, as Gardener's authenticator makes a Kyma cluster do.

// oidcStats is the emulator's count of ID token requests.
type oidcStats struct {
	OIDCTokenRequests int `json:"oidcTokenRequests"`
	OIDCTokensIssued  int `json:"oidcTokensIssued"`
}

func (e *emulator) oidcStats(t testing.TB) oidcStats {
	t.Helper()
	resp, err := e.client.Get(e.URL + "/emulator/v1/stats")
	if err != nil {
		t.Fatalf("read emulator stats: %v", err)
	}
	defer resp.Body.Close()
	var s oidcStats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatalf("decode emulator stats: %v", err)
	}
	return s
}

// readEnvFile reads KEY=VALUE lines.
func readEnvFile(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") && strings.Contains(l, "=") {
			out = append(out, l)
		}
	}
	return out
}

// runner is a CI job: no profile, no client secret, no kubeconfig of its own; only the
// job's variables (github-actions.env), a home and cache of its own, the built plugin
// on PATH, and the runner's trusted roots. SSL_CERT_FILE plays those roots: the
// emulator's token service has a certificate of its own CA, where GitHub's is signed
// by a public one.
type runner struct {
	t   testing.TB
	env []string
}

func newRunner(t testing.TB, emu *emulator, jobEnv []string) *runner {
	t.Helper()
	home := t.TempDir()
	env := append([]string{
		"HOME=" + home,
		"PATH=" + binDir + string(os.PathListSeparator) + os.Getenv("PATH"),
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"SSL_CERT_FILE=" + filepath.Join(emu.StateDir, "ca.crt"),
	}, jobEnv...)
	return &runner{t: t, env: env}
}

// kubectl runs the real kubectl as the job; stdout and stderr come back together.
func (r *runner) kubectl(args ...string) (string, error) {
	r.t.Helper()
	return kubectlEnv(r.env, args...)
}

// jobEnv is the job the emulator wrote github-actions.env for.
func jobEnv(t testing.TB, emu *emulator) []string {
	return readEnvFile(t, filepath.Join(emu.StateDir, "github-actions.env"))
}

// otherJob asks the emulator for the variables of a job of another repository.
func otherJob(t testing.TB, emu *emulator, repository string) []string {
	t.Helper()
	body := strings.NewReader(fmt.Sprintf(`{"repository":%q,"ref":"refs/heads/main","workflow":"deploy"}`, repository))
	resp, err := emu.client.Post(emu.URL+"/emulator/v1/github-actions/jobs", "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var vars map[string]string
	if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&vars) != nil {
		t.Fatalf("a job for %s: %s", repository, resp.Status)
	}
	var out []string
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	return out
}

// trustRepository provisions an environment and trusts repository on it with the
// ClusterRole view, writing the CI kubeconfig of a GitHub Actions job (the emulator's
// issuer is no GitHub URL, so --oidc github says it is a GitHub token service); it
// returns that kubeconfig.
func trustRepository(t *testing.T, u *user, emu *emulator, env, repository string, extra ...string) string {
	t.Helper()
	u.provision(env)
	kc := filepath.Join(t.TempDir(), "ci.kubeconfig")
	args := append([]string{"oidc", "trust", env, "--repository", repository, "--clusterrole", "view",
		"--issuer", emu.URL, "--issuer-ca", filepath.Join(emu.StateDir, "ca.crt"), "--output-file", kc, "--oidc", "github"}, extra...)
	out := u.mustKyma(args...)
	if !strings.Contains(out, repository) {
		t.Errorf("oidc trust said %q", out)
	}
	// The authenticator learns of a new trust within seconds (Gardener's from its
	// watch, the emulator's from a list every 2 s); a job of its own, with a cache of
	// its own, waits for that, so the caches the test counts stay untouched.
	probe := newRunner(t, emu, jobEnv(t, emu))
	eventually(t, 30*time.Second, "the trust of "+repository+" in effect", func() bool {
		_, err := probe.kubectl("--kubeconfig", kc, "get", "namespaces", "-o", "name")
		return err == nil
	})
	return kc
}

// kubectlEnv runs kubectl with exactly env.
func kubectlEnv(env []string, args ...string) (string, error) {
	cmd := exec.Command("kubectl", args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestOIDCTrustedJobReachesTheClusterWithoutBindingOrSecret(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, "--oidc-repository", "example/app")
	u := newUser(t)
	u.login(emu)
	kc := trustRepository(t, u, emu, "e2e-oidc", "example/app")

	data, err := os.ReadFile(kc)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"token:", "client-secret", "clientsecret"} {
		if strings.Contains(strings.ToLower(string(data)), secret) {
			t.Errorf("the CI kubeconfig holds %q:\n%s", secret, data)
		}
	}
	accounts := bindingAccountNames(t, cluster)
	job := newRunner(t, emu, jobEnv(t, emu))

	if out, err := job.kubectl("--kubeconfig", kc, "get", "pods", "-A"); err != nil {
		t.Fatalf("get pods -A as the job: %v\n%s", err, out)
	}
	whoami, err := job.kubectl("--kubeconfig", kc, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
	if err != nil || !strings.HasSuffix(whoami, "#example/app") {
		t.Errorf("auth whoami = %q (%v), want the user example/app", whoami, err)
	}
	out, err := job.kubectl("--kubeconfig", kc, "create", "namespace", "e2e-oidc-forbidden")
	if err == nil || !strings.Contains(out, "forbidden") {
		t.Errorf("create namespace with the view role: %v\n%s", err, out)
	}
	if made := newAccounts(accounts, bindingAccountNames(t, cluster)); made != 0 {
		t.Errorf("the job made %d bindings, want none", made)
	}

	list := u.mustKyma("oidc", "list", "e2e-oidc")
	if !strings.Contains(list, "example/app") || !strings.Contains(list, "clusterrole view") || !strings.Contains(list, whoami) {
		t.Errorf("oidc list does not show the repository, its role and the user the cluster names (%s):\n%s", whoami, list)
	}

	u.mustKyma("oidc", "untrust", "e2e-oidc", "--repository", "example/app")
	start := time.Now()
	eventually(t, 30*time.Second, "the job refused after untrust", func() bool {
		out, err := job.kubectl("--kubeconfig", kc, "get", "pods", "-A")
		return err != nil && refused(out)
	})
	t.Logf("refused %s after untrust", time.Since(start).Round(time.Second))
}

func TestOIDCFleetOfThirtyRunnersNeedsNoBinding(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, "--oidc-repository", "example/fleet")
	u := newUser(t)
	u.login(emu)
	kc := trustRepository(t, u, emu, "e2e-oidc-fleet", "example/fleet")
	accounts := bindingAccountNames(t, cluster)
	env := jobEnv(t, emu)

	var wg sync.WaitGroup
	errs := make([]error, 30)
	for i := range errs {
		job := newRunner(t, emu, env) // a cache of its own
		wg.Go(func() {
			if out, err := job.kubectl("--kubeconfig", kc, "get", "namespaces", "-o", "name"); err != nil {
				errs[i] = fmt.Errorf("%v: %s", err, out)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("runner %d: %v", i, err)
		}
	}
	if made := newAccounts(accounts, bindingAccountNames(t, cluster)); made != 0 {
		t.Errorf("30 runners made %d bindings, want none", made)
	}
}

func TestOIDCRefusesAnotherRepositoryOrAudience(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, "--oidc-repository", "example/guarded")
	u := newUser(t)
	u.login(emu)
	kc := trustRepository(t, u, emu, "e2e-oidc-guard", "example/guarded")

	if out, err := newRunner(t, emu, jobEnv(t, emu)).kubectl("--kubeconfig", kc, "get", "namespaces"); err != nil {
		t.Fatalf("the trusted repository's job is refused: %v\n%s", err, out)
	}
	other := newRunner(t, emu, otherJob(t, emu, "example/intruder"))
	if out, err := other.kubectl("--kubeconfig", kc, "get", "namespaces"); err == nil || !refused(out) {
		t.Errorf("a job of another repository: %v\n%s", err, out)
	}

	// The CI kubeconfig names no audience: the helper takes the server kubectl calls.
	data, err := os.ReadFile(kc)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "--audience") {
		t.Errorf("the CI kubeconfig names an audience:\n%s", data)
	}
	// One changed to ask for another audience (as a hostile pull request would) gets
	// no token from the helper, and the token service is not even asked.
	cfg, err := clientcmd.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	server := cfg.Clusters[cfg.Contexts[cfg.CurrentContext].Cluster].Server
	user := cfg.AuthInfos[cfg.Contexts[cfg.CurrentContext].AuthInfo]
	user.Exec.Args = append(user.Exec.Args, "--audience", "https://other.example")
	otherAud := filepath.Join(t.TempDir(), "other-audience.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, otherAud); err != nil {
		t.Fatal(err)
	}
	before := emu.oidcStats(t).OIDCTokenRequests
	if out, err := newRunner(t, emu, jobEnv(t, emu)).kubectl("--kubeconfig", otherAud, "get", "namespaces"); err == nil || !strings.Contains(out, "is not the server kubectl calls") {
		t.Errorf("a kubeconfig asking for another audience than its server: %v\n%s", err, out)
	}
	if n := emu.oidcStats(t).OIDCTokenRequests - before; n != 0 {
		t.Errorf("the helper asked the token service %d times for a kubeconfig it refuses", n)
	}
	// And the cluster refuses the trusted repository's tokens of any other audience:
	// GitHub's default (the owner's URL), another cluster's, or this one's spelled
	// otherwise than its trust.
	reqURL, reqToken := githubActionsEnv(t, emu)
	for _, aud := range []string{"", "https://other.example", server + "/"} {
		tok := tokenKubeconfig(t, emu, emu.ciToken(t, reqURL, reqToken, aud))
		if out, err := u.kubectl("--kubeconfig", tok, "get", "namespaces"); err == nil || !refused(out) {
			t.Errorf("a token of the trusted repository for audience %q: %v\n%s", aud, err, out)
		}
	}
}

func TestOIDCHerdFetchesOneToken(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, "--oidc-repository", "example/herd")
	u := newUser(t)
	u.login(emu)
	kc := trustRepository(t, u, emu, "e2e-oidc-herd", "example/herd")
	job := newRunner(t, emu, jobEnv(t, emu)) // one runner, one shared and empty cache
	before := emu.oidcStats(t).OIDCTokensIssued

	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() {
			if out, err := job.kubectl("--kubeconfig", kc, "get", "namespaces", "-o", "name"); err != nil {
				errs[i] = fmt.Errorf("%v: %s", err, out)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("kubectl %d: %v", i, err)
		}
	}
	if got := emu.oidcStats(t).OIDCTokensIssued - before; got != 1 {
		t.Errorf("20 concurrent kubectl calls fetched %d ID tokens, want 1", got)
	}
}

func TestOIDCJobWithoutIDTokenPermissionIsToldWhy(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, "--oidc-repository", "example/noperm")
	u := newUser(t)
	u.login(emu)
	kc := trustRepository(t, u, emu, "e2e-oidc-noperm", "example/noperm")
	out, err := newRunner(t, emu, nil).kubectl("--kubeconfig", kc, "get", "namespaces")
	if err == nil || !strings.Contains(out, "permissions: id-token: write") {
		t.Errorf("a job without the variables: %v\n%s", err, out)
	}
	if strings.Contains(out, "goroutine ") || strings.Contains(out, "panic") {
		t.Errorf("a stack trace:\n%s", out)
	}
}

// A GitLab job: the trust of an issuer that is not GitHub's writes a kubeconfig that
// reads the token from the variable GitLab's id_tokens fills (--token-env), not one
// that asks a GitHub token service the job does not have. The emulator's issuer mints
// the token the job's variable holds, for the cluster's URL as GitLab's aud: would.
func TestOIDCGitLabJobReadsItsVariable(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, "--oidc-repository", "example/gitlab")
	u := newUser(t)
	u.login(emu)
	u.provision("e2e-oidc-gitlab")
	kc := filepath.Join(t.TempDir(), "ci.kubeconfig")
	u.mustKyma("oidc", "trust", "e2e-oidc-gitlab", "--repository", "example/gitlab", "--clusterrole", "view",
		"--issuer", emu.URL, "--issuer-ca", filepath.Join(emu.StateDir, "ca.crt"), "--token-env", "CI_KYMA_TOKEN", "--output-file", kc)
	cfg, err := clientcmd.LoadFromFile(kc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := cfg.Contexts[cfg.CurrentContext]
	args := strings.Join(cfg.AuthInfos[ctx.AuthInfo].Exec.Args, " ")
	if !strings.Contains(args, "--oidc gitlab") || !strings.Contains(args, "--token-env CI_KYMA_TOKEN") {
		t.Fatalf("the job's user runs credential %s, want --oidc gitlab --token-env CI_KYMA_TOKEN", args)
	}
	server := cfg.Clusters[ctx.Cluster].Server

	// Without the variable (id_tokens not set up), the job is told which one.
	if out, err := newRunner(t, emu, nil).kubectl("--kubeconfig", kc, "get", "namespaces"); err == nil || !strings.Contains(out, "CI_KYMA_TOKEN") {
		t.Errorf("a job without CI_KYMA_TOKEN: %v\n%s", err, out)
	}
	reqURL, reqToken := githubActionsEnv(t, emu)
	job := newRunner(t, emu, []string{"CI_KYMA_TOKEN=" + emu.ciToken(t, reqURL, reqToken, server)})
	eventually(t, 30*time.Second, "the GitLab job's token accepted", func() bool {
		_, err := job.kubectl("--kubeconfig", kc, "get", "namespaces", "-o", "name")
		return err == nil
	})
	out, err := job.kubectl("--kubeconfig", kc, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
	if err != nil || !strings.HasSuffix(out, "#example/gitlab") {
		t.Errorf("auth whoami = %q (%v), want the user example/gitlab", out, err)
	}
}

// A ClusterRoleBinding of another tool under the name a trust would take is neither
// replaced nor half-joined: trust refuses in one sentence, makes nothing, and the
// binding is as it was.
func TestOIDCTrustLeavesAnotherToolsBinding(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, "--oidc-repository", "example/foreign")
	u := newUser(t)
	u.login(emu)
	u.provision("e2e-oidc-foreign")
	name := oidctrust.Name(emu.URL, "example/foreign")
	admin := func(args ...string) (string, error) {
		return u.kubectl(append([]string{"--kubeconfig", emu.Cluster.Kubeconfig}, args...)...)
	}
	if out, err := admin("create", "clusterrolebinding", name, "--clusterrole", "edit", "--user", "someone"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Cleanup(func() { _, _ = admin("delete", "clusterrolebinding", name, "--ignore-not-found") })

	_, stderr, err := u.kyma("oidc", "trust", "e2e-oidc-foreign", "--repository", "example/foreign", "--clusterrole", "view",
		"--issuer", emu.URL, "--issuer-ca", filepath.Join(emu.StateDir, "ca.crt"))
	if err == nil || !strings.Contains(stderr, "the ClusterRoleBinding "+name+" was not made by kubectl-kyma") || strings.Contains(stderr, "goroutine ") {
		t.Fatalf("trust over another tool's binding: %v\n%s", err, stderr)
	}
	out, err := admin("get", "clusterrolebinding", name, "-o", "jsonpath={.roleRef.name} {.subjects[0].name}")
	if err != nil || out != "edit someone" {
		t.Errorf("the other tool's binding is now %q (%v), want it untouched", out, err)
	}
	if out, err := admin("get", "openidconnects.authentication.gardener.cloud", name); err == nil {
		t.Errorf("a half-made trust: %s", out)
	}
}
