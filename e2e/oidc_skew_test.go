package e2e

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
)

// The credential side of keyless CI under a broken runner (issue 16): a cache on a
// full disk. (A skewed local clock is covered by credential's TestPropertyOIDCSkew on a
// fake clock: the helper has no hook to run on another clock, and gets none for a test.)

// TestOIDCFullDiskStillReachesTheCluster: a job whose cache folder is on a full disk
// still reaches the cluster on every call, fetching one ID token per call, says why,
// and leaves no cache entry behind.
func TestOIDCFullDiskStillReachesTheCluster(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, "--oidc-repository", "example/fulldisk")
	u := newUser(t)
	u.login(emu)
	kc := trustRepository(t, u, emu, "e2e-oidc-full", "example/fulldisk")

	cacheDir := filepath.Join(t.TempDir(), "full-cache")
	fill := mountFullDisk(t, cacheDir)
	fill()
	job := newRunner(t, emu, emu.defaultJob(t).env())
	job.env = append(job.env, "XDG_CACHE_HOME="+cacheDir)
	before := emu.oidcStats(t).OIDCTokensIssued
	for i := range 3 {
		out, err := job.kubectl("--kubeconfig", kc, "get", "namespaces", "-o", "name")
		if err != nil {
			t.Fatalf("kubectl call %d on a full disk: %v\n%s", i+1, err, out)
		}
		if !strings.Contains(out, "is full") {
			t.Errorf("kubectl call %d does not say the cache's disk is full:\n%s", i+1, out)
		}
	}
	if got := emu.oidcStats(t).OIDCTokensIssued - before; got != 3 {
		t.Errorf("three kubectl calls on a full disk fetched %d ID tokens, want one each", got)
	}
	entries, _ := filepath.Glob(filepath.Join(cacheDir, "kubectl-kyma", "oidc", "*"))
	for _, f := range entries {
		if fi, err := os.Stat(f); err == nil && fi.Size() > 0 {
			t.Errorf("left %s (%d bytes) on the full disk", f, fi.Size())
		}
	}
}

// TestOIDCTokenGoesOnlyToItsServer is the security review's finding, end to end: a CI
// kubeconfig whose server is changed to another (an attacker's) while --audience still
// names the trusted cluster gets no token, and the other server sees none; without
// --audience the helper asks for the other server's own audience, which the trusted
// cluster refuses.
func TestOIDCTokenGoesOnlyToItsServer(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, "--oidc-repository", "example/bound")
	u := newUser(t)
	u.login(emu)
	kc := trustRepository(t, u, emu, "e2e-oidc-bound", "example/bound")

	var seen atomic.Int32
	attacker := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			seen.Add(1)
		}
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer attacker.Close()
	server, err := kubectlEnv(os.Environ(), "--kubeconfig", kc, "config", "view", "-o", "jsonpath={.clusters[0].cluster.server}")
	if err != nil {
		t.Fatalf("read the CI kubeconfig's server: %v: %s", err, server)
	}
	data, err := os.ReadFile(kc)
	if err != nil {
		t.Fatal(err)
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: attacker.Certificate().Raw})
	hostile := regexp.MustCompile(`certificate-authority-data: \S+`).ReplaceAllString(
		strings.Replace(string(data), "server: "+server, "server: "+attacker.URL, 1), "certificate-authority-data: "+base64(caPEM))
	// The CI kubeconfig names no audience; the hostile one adds the trusted cluster's.
	hostile = regexp.MustCompile(`\n(\s*)- github\n`).ReplaceAllString(hostile, "\n${1}- github\n${1}- --audience\n${1}- "+server+"\n")
	if !strings.Contains(hostile, attacker.URL) || !strings.Contains(hostile, "- --audience") {
		t.Fatalf("could not point the CI kubeconfig elsewhere:\n%s", hostile)
	}
	job := newRunner(t, emu, emu.defaultJob(t).env())
	before := emu.oidcStats(t).OIDCTokenRequests

	withAud := filepath.Join(t.TempDir(), "hostile.kubeconfig")
	if err := os.WriteFile(withAud, []byte(hostile), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := job.kubectl("--kubeconfig", withAud, "get", "namespaces")
	if err == nil || !strings.Contains(out, "is not the server kubectl calls") || !strings.Contains(out, attacker.URL) {
		t.Errorf("a kubeconfig pairing the cluster's audience with another server: %v\n%s", err, out)
	}
	if got := emu.oidcStats(t).OIDCTokenRequests - before; got != 0 {
		t.Errorf("the helper asked the token service %d times for a kubeconfig it refuses", got)
	}

	// Without --audience: a token for the other server, which the trusted cluster refuses.
	noAud := filepath.Join(t.TempDir(), "other-server.kubeconfig")
	stripped := regexp.MustCompile(`\n\s*- --audience\n\s*- \S+`).ReplaceAllString(hostile, "")
	if err := os.WriteFile(noAud, []byte(stripped), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := job.kubectl("--kubeconfig", noAud, "get", "namespaces"); err == nil {
		t.Errorf("the other server accepted: %s", out)
	}
	if seen.Load() == 0 {
		t.Fatal("the other server saw no token: the second half of this test tests nothing")
	}
	tok := attackerToken(t, job, noAud)
	good := filepath.Join(t.TempDir(), "replay.kubeconfig")
	replay := fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: %s\n    certificate-authority-data: %s\nusers:\n- name: u\n  user:\n    token: %s\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\n",
		server, caData(t, kc), tok)
	if err := os.WriteFile(good, []byte(replay), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := kubectlEnv(job.env, "--kubeconfig", good, "get", "namespaces"); err == nil || !refused(out) {
		t.Errorf("a token the other server got, replayed at the trusted cluster: %v\n%s", err, out)
	}
}

// attackerToken is the token the helper hands kubectl for kubeconfig kc, as the
// server kc names would get it.
func attackerToken(t *testing.T, job *runner, kc string) string {
	t.Helper()
	server, err := kubectlEnv(job.env, "--kubeconfig", kc, "config", "view", "-o", "jsonpath={.clusters[0].cluster.server}")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(binDir, "kubectl-kyma"), "credential", "--oidc", "github")
	cmd.Env = append(append([]string{}, job.env...), `KUBERNETES_EXEC_INFO={"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":false,"cluster":{"server":"`+server+`"}}}`)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("the helper for %s: %v", server, err)
	}
	var ec struct {
		Status struct {
			Token string `json:"token"`
		} `json:"status"`
	}
	if err := json.Unmarshal(out, &ec); err != nil || ec.Status.Token == "" {
		t.Fatalf("the helper printed no ExecCredential: %v", err)
	}
	return ec.Status.Token
}

// caData is the base64 CA data of kubeconfig kc's cluster.
func caData(t *testing.T, kc string) string {
	t.Helper()
	out, err := kubectlEnv(os.Environ(), "--kubeconfig", kc, "config", "view", "--raw", "-o", "jsonpath={.clusters[0].cluster.certificate-authority-data}")
	if err != nil || out == "" {
		t.Fatalf("read the CA of %s: %v", kc, err)
	}
	return out
}

// TestOIDCHelperRunByHandPrintsNoToken: a job's script that runs the helper itself
// (KUBERNETES_EXEC_INFO unset) gets no token on its output, so none lands in the log.
func TestOIDCHelperRunByHandPrintsNoToken(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, "--oidc-repository", "example/byhand")
	job := newRunner(t, emu, emu.defaultJob(t).env())
	before := emu.oidcStats(t).OIDCTokenRequests
	cmd := exec.Command(filepath.Join(binDir, "kubectl-kyma"), "credential", "--oidc", "github")
	cmd.Env = job.env
	out, err := cmd.CombinedOutput()
	if err == nil || strings.Contains(string(out), "eyJ") || !strings.Contains(string(out), "run by hand") {
		t.Errorf("kubectl-kyma credential --oidc github by hand: %v\n%s", err, out)
	}
	if got := emu.oidcStats(t).OIDCTokenRequests - before; got != 0 {
		t.Errorf("run by hand, the helper asked the token service %d times", got)
	}
}
