package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
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

// githubIDs reads a repository's ids from the emulated GitHub REST API, as `gh api
// repos/OWNER/REPO --jq '.id, .owner.id'` prints them.
func githubIDs(t testing.TB, emu *emulator, repository string) (repositoryID, ownerID string) {
	t.Helper()
	resp, err := emu.client.Get(emu.URL + "/repos/" + repository)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var repo struct {
		ID    json.Number `json:"id"`
		Owner struct {
			ID json.Number `json:"id"`
		} `json:"owner"`
	}
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	if resp.StatusCode != http.StatusOK || dec.Decode(&repo) != nil {
		t.Fatalf("GET /repos/%s: %s", repository, resp.Status)
	}
	return repo.ID.String(), repo.Owner.ID.String()
}

// trustKyma runs `kubectl kyma oidc trust ARGS` as the user, whose system roots
// (SSL_CERT_FILE) include the emulator's CA, as the real GitHub API's certificate is
// signed by a public one: the emulator is also the GitHub REST API the repository's
// ids are looked up in (--github-api-url).
func (u *user) trustKyma(emu *emulator, args ...string) (string, string, error) {
	u.t.Helper()
	args = append([]string{"kyma", "oidc", "trust"}, args...)
	return u.run([]string{"SSL_CERT_FILE=" + filepath.Join(emu.StateDir, "ca.crt"), "GH_TOKEN=", "GITHUB_TOKEN="}, "kubectl", args...)
}

// trustRepository provisions an environment and trusts repository on it with the
// ClusterRole view, writing the CI kubeconfig of a GitHub Actions job (the emulator's
// issuer is no GitHub URL, so --oidc github says it is a GitHub token service, and
// --github-api-url where its ids are); it returns that kubeconfig.
func trustRepository(t *testing.T, u *user, emu *emulator, env, repository string, extra ...string) string {
	t.Helper()
	u.provision(env)
	kc := filepath.Join(t.TempDir(), "ci.kubeconfig")
	args := append([]string{env, "--repository", repository, "--clusterrole", "view", "--issuer", emu.URL,
		"--issuer-ca", filepath.Join(emu.StateDir, "ca.crt"), "--output-file", kc, "--oidc", "github"}, extra...)
	if !slices.Contains(extra, "--name-only") && !slices.Contains(extra, "--repository-id") {
		args = append(args, "--github-api-url", emu.URL) // the ids are looked up
	}
	out, stderr, err := u.trustKyma(emu, args...)
	if err != nil {
		t.Fatalf("kubectl kyma oidc trust %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, stderr)
	}
	if !strings.Contains(out, repository) {
		t.Errorf("oidc trust said %q", out)
	}
	// The authenticator learns of a new trust within seconds (Gardener's from its
	// watch, the emulator's from a list every 2 s); a job of its own, with a cache of
	// its own, waits for that, so the caches the test counts stay untouched.
	probe := newRunner(t, emu, emu.defaultJob(t).env())
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
	job := newRunner(t, emu, emu.defaultJob(t).env())

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

// GitHub gives a deleted or renamed repository's name to whoever takes it next, and
// that repository's jobs get tokens with the same repository claim. A trust pinned
// by name only lets them in; trusting the repository again pins its ids in place, and
// from then on the job of the repository made anew under the name is refused while
// the original repository's job still gets in.
func TestOIDCRepositoryMadeAnewUnderTheNameIsRefused(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, "--oidc-repository", "example/recycled")
	u := newUser(t)
	u.login(emu)
	const env = "e2e-oidc-recycled"
	kc := trustRepository(t, u, emu, env, "example/recycled", "--name-only")
	list, stderr, err := u.kyma("oidc", "list", env)
	if err != nil || !regexp.MustCompile(`example/recycled\s+name only\s`).MatchString(list) || !strings.Contains(stderr, "is pinned by name only") {
		t.Errorf("oidc list of a trust by name only: %v\n%s\nstderr: %s", err, list, stderr)
	}

	original := newRunner(t, emu, emu.defaultJob(t).env())
	anew := newRunner(t, emu, emu.job(t, jobSpec{Repository: "example/recycled", RepositoryID: "555000555", RepositoryOwnerID: "666000666"}).env())
	if out, err := anew.kubectl("--kubeconfig", kc, "get", "namespaces", "-o", "name"); err != nil {
		t.Fatalf("the trust by name only refuses the repository made anew under its name, so this test shows nothing: %v\n%s", err, out)
	}

	// Trusted again, without --name-only: the ids are looked up and pinned.
	out, stderr, err := u.trustKyma(emu, env, "--repository", "example/recycled", "--clusterrole", "view", "--issuer", emu.URL,
		"--issuer-ca", filepath.Join(emu.StateDir, "ca.crt"), "--github-api-url", emu.URL)
	repoID, ownerID := githubIDs(t, emu, "example/recycled")
	if err != nil || !strings.Contains(out, "Pinned to repository_id "+repoID+" and repository_owner_id "+ownerID) {
		t.Fatalf("oidc trust with the ids looked up: %v\n%s\nstderr: %s", err, out, stderr)
	}
	list, stderr, err = u.kyma("oidc", "list", env, "-o", "json")
	type listed struct {
		Name         string `json:"name"`
		Pinned       bool   `json:"pinned"`
		RepositoryID string `json:"repositoryID"`
		OwnerID      string `json:"repositoryOwnerID"`
	}
	var trusts struct {
		Items []listed `json:"items"`
	}
	if err != nil || json.Unmarshal([]byte(list), &trusts) != nil || strings.Contains(stderr, "of example/recycled is pinned by name only") {
		t.Fatalf("oidc list -o json after pinning: %v\n%s\nstderr: %s", err, list, stderr)
	}
	// The cluster is shared with the other tests: their trusts are listed too.
	name := oidctrust.Name(emu.URL, "example/recycled")
	i := slices.IndexFunc(trusts.Items, func(it listed) bool { return it.Name == name })
	if i < 0 {
		t.Fatalf("oidc list has no trust %s after pinning:\n%s", name, list)
	}
	if got := trusts.Items[i]; !got.Pinned || got.RepositoryID != repoID || got.OwnerID != ownerID {
		t.Errorf("the trust after pinning: %+v, want it pinned to %s and %s", got, repoID, ownerID)
	}

	start := time.Now()
	eventually(t, 30*time.Second, "the repository made anew under the name refused", func() bool {
		out, err := anew.kubectl("--kubeconfig", kc, "get", "namespaces", "-o", "name")
		return err != nil && refused(out)
	})
	t.Logf("refused %s after pinning", time.Since(start).Round(time.Second))
	if out, err := original.kubectl("--kubeconfig", kc, "get", "namespaces", "-o", "name"); err != nil {
		t.Errorf("the original repository's job after pinning: %v\n%s", err, out)
	}
	whoami, err := original.kubectl("--kubeconfig", kc, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
	if err != nil || !strings.HasSuffix(whoami, "#example/recycled") {
		t.Errorf("auth whoami = %q (%v)", whoami, err)
	}
}

// A trust without the ids is refused in one sentence that says what to pass, before
// any binding is made.
func TestOIDCTrustWithoutIDsSaysWhatToPass(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, "--oidc-repository", "example/noids")
	u := newUser(t)
	u.login(emu)
	u.provision("e2e-oidc-noids")
	accounts := bindingAccountNames(t, cluster)
	_, stderr, err := u.trustKyma(emu, "e2e-oidc-noids", "--repository", "example/noids", "--clusterrole", "view",
		"--issuer", emu.URL, "--issuer-ca", filepath.Join(emu.StateDir, "ca.crt"))
	if err == nil || !strings.Contains(stderr, "--github-api-url") || !strings.Contains(stderr, "--repository-id and --repository-owner-id") || strings.Contains(stderr, "goroutine ") {
		t.Errorf("a trust of the emulator's issuer with no ids nor API: %v\n%s", err, stderr)
	}
	// A look-up GitHub answers 404 (a private repository without a token, say).
	_, stderr, err = u.trustKyma(emu, "e2e-oidc-noids", "--repository", "example/noids", "--clusterrole", "view",
		"--issuer", emu.URL, "--issuer-ca", filepath.Join(emu.StateDir, "ca.crt"), "--github-api-url", emu.URL+"/nothing-here")
	if err == nil || !strings.Contains(stderr, "GitHub has no repository example/noids that this look-up may see") || strings.Contains(stderr, "goroutine ") {
		t.Errorf("a look-up answered 404: %v\n%s", err, stderr)
	}
	if made := newAccounts(accounts, bindingAccountNames(t, cluster)); made != 0 {
		t.Errorf("refused trusts made %d bindings, want none", made)
	}
}

func TestOIDCFleetOfThirtyRunnersNeedsNoBinding(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, "--oidc-repository", "example/fleet")
	u := newUser(t)
	u.login(emu)
	kc := trustRepository(t, u, emu, "e2e-oidc-fleet", "example/fleet")
	accounts := bindingAccountNames(t, cluster)
	env := emu.defaultJob(t).env()

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

	if out, err := newRunner(t, emu, emu.defaultJob(t).env()).kubectl("--kubeconfig", kc, "get", "namespaces"); err != nil {
		t.Fatalf("the trusted repository's job is refused: %v\n%s", err, out)
	}
	other := newRunner(t, emu, emu.job(t, jobSpec{Repository: "example/intruder"}).env())
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
	if out, err := newRunner(t, emu, emu.defaultJob(t).env()).kubectl("--kubeconfig", otherAud, "get", "namespaces"); err == nil || !strings.Contains(out, "is not the server kubectl calls") {
		t.Errorf("a kubeconfig asking for another audience than its server: %v\n%s", err, out)
	}
	if n := emu.oidcStats(t).OIDCTokenRequests - before; n != 0 {
		t.Errorf("the helper asked the token service %d times for a kubeconfig it refuses", n)
	}
	// And the cluster refuses the trusted repository's tokens of any other audience:
	// GitHub's default (the owner's URL), another cluster's, or this one's spelled
	// otherwise than its trust.
	trusted := emu.defaultJob(t)
	for _, aud := range []string{"", "https://other.example", server + "/"} {
		tok := tokenKubeconfig(t, emu, trusted.token(t, emu, aud))
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
	job := newRunner(t, emu, emu.defaultJob(t).env()) // one runner, one shared and empty cache
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
	repoID, ownerID := githubIDs(t, emu, "example/gitlab")
	u.mustKyma("oidc", "trust", "e2e-oidc-gitlab", "--repository", "example/gitlab", "--clusterrole", "view", "--repository-id", repoID, "--repository-owner-id", ownerID,
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
	job := newRunner(t, emu, []string{"CI_KYMA_TOKEN=" + emu.defaultJob(t).token(t, emu, server)})
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
		"--repository-id", "74", "--repository-owner-id", "65", "--issuer", emu.URL, "--issuer-ca", filepath.Join(emu.StateDir, "ca.crt"))
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
