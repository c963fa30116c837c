package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/golden"
)

// entry reads the user's cached credential for an environment, as the plugin wrote it.
func (u *user) entry(envID string) (bindingID, token string) {
	u.t.Helper()
	data, err := os.ReadFile(filepath.Join(u.home, ".cache", "kubectl-kyma", "credentials", "default", envID+".json"))
	if err != nil {
		return "", ""
	}
	var e struct {
		BindingID string `json:"bindingId"`
		Token     string `json:"token"`
	}
	if err := json.Unmarshal(data, &e); err != nil {
		u.t.Fatalf("cache entry is not JSON: %v", err)
	}
	return e.BindingID, e.Token
}

// execKubeconfig provisions an environment and writes an exec kubeconfig for it.
func execKubeconfig(t *testing.T, u *user, name string) (envID, path string) {
	t.Helper()
	envID = u.provision(name)
	path = filepath.Join(u.home, name+".kubeconfig")
	if out := u.mustKyma("kubeconfig", name, "--output-file", path); !strings.Contains(out, `context "kyma-`+name+`"`) {
		t.Errorf("kubeconfig said %q", out)
	}
	return envID, path
}

func TestExecKubeconfigReusesTheBinding(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t)
	u := newUser(t)
	u.login(emu)
	envID, kc := execKubeconfig(t, u, "e2e-exec")
	before := emu.stats(t).BindingsCreated

	for i := range 3 {
		if out, err := u.kubectl("--kubeconfig", kc, "get", "pods", "-A"); err != nil {
			t.Fatalf("kubectl run %d through the exec credential: %v\n%s", i+1, err, out)
		}
	}
	if after := emu.stats(t).BindingsCreated; after != before {
		t.Errorf("three kubectl runs made %d new bindings, want 0 (the kubeconfig's binding is cached)", after-before)
	}
	_, token := u.entry(envID)
	data, _ := os.ReadFile(kc)
	if token == "" || strings.Contains(string(data), token) {
		t.Errorf("the kubeconfig holds the token, or nothing is cached")
	}
	if out, _ := u.kubectl("--kubeconfig", kc, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"); !strings.HasPrefix(out, "system:serviceaccount:kyma-system:kyma-binding-") {
		t.Errorf("kubectl authenticated as %q, want a kyma-binding service account", out)
	}

	// Bindings of two hours, as the exec stanza passes the lifetime on.
	long := filepath.Join(u.home, "long.kubeconfig")
	u.mustKyma("kubeconfig", "e2e-exec", "--expiration", "2h", "--output-file", long)
	if err := os.RemoveAll(filepath.Join(u.home, ".cache", "kubectl-kyma", "credentials")); err != nil {
		t.Fatal(err)
	}
	if out, err := u.kubectl("--kubeconfig", long, "get", "ns"); err != nil {
		t.Fatalf("kubectl with --expiration 2h in the exec stanza: %v\n%s", err, out)
	}
	if _, token := u.entry(envID); token == "" {
		t.Error("no binding cached after a miss with --expiration 2h")
	}

	// A kubeconfig entry for another cluster never gets this environment's token.
	info := `{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":false,"cluster":{"server":"https://127.0.0.2:6443"}}}`
	out, errOut, err := u.run([]string{"KUBERNETES_EXEC_INFO=" + info}, filepath.Join(binDir, "kubectl-kyma"), "credential", "--profile", "default", "--environment", envID)
	if err == nil || out != "" || !strings.Contains(errOut, "are for the cluster at "+cluster.Server) {
		t.Errorf("credential for another cluster: err %v, stdout %q, stderr %q", err, out, errOut)
	}

	// Nor one whose exec stanza lacks provideClusterInfo: true (kubectl sets
	// KUBERNETES_EXEC_INFO without the cluster), whatever server it points at.
	info = `{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":false}}`
	out, errOut, err = u.run([]string{"KUBERNETES_EXEC_INFO=" + info}, filepath.Join(binDir, "kubectl-kyma"), "credential", "--profile", "default", "--environment", envID)
	if err == nil || out != "" || !strings.Contains(errOut, "set provideClusterInfo: true") {
		t.Errorf("credential without cluster info: err %v, stdout %q, stderr %q", err, out, errOut)
	}
}

// TestRefreshAcrossExpiries: with bindings that live 30 s, kubectl keeps working over
// several lifetimes, each expiry makes exactly one binding, and the replaced ones are
// deleted.
func TestRefreshAcrossExpiries(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, "--binding-ttl", "30s")
	u := newUser(t)
	u.login(emu)
	envID, kc := execKubeconfig(t, u, "e2e-ttl")
	base := emu.stats(t)

	seen := map[string]bool{}
	first, _ := u.entry(envID)
	seen[first] = true
	end := time.Now().Add(75 * time.Second)
	calls := 0
	for time.Now().Before(end) {
		calls++
		if out, err := u.kubectl("--kubeconfig", kc, "get", "ns", "-o", "name"); err != nil {
			t.Fatalf("kubectl call %d failed: %v\n%s", calls, err, out)
		}
		id, _ := u.entry(envID)
		seen[id] = true
		if live := emu.stats(t).LiveBindings; live > 2 {
			t.Errorf("%d live bindings after call %d, want at most 2", live, calls)
		}
		time.Sleep(1500 * time.Millisecond)
	}
	s := emu.stats(t)
	made := s.BindingsCreated - base.BindingsCreated
	if len(seen) < 4 {
		t.Errorf("over 75 s of 30 s bindings the cache held %d bindings, want at least 4", len(seen))
	}
	if made != len(seen)-1 {
		t.Errorf("the emulator made %d bindings, the cache saw %d new ones: each expiry must make exactly one", made, len(seen)-1)
	}
	t.Logf("%d kubectl calls, %d bindings made, %d live at the end", calls, made, s.LiveBindings)
}

// TestHerdMakesOneBinding: 20 kubectl processes at once on an empty cache all succeed,
// and make one binding between them.
func TestHerdMakesOneBinding(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t)
	u := newUser(t)
	u.login(emu)
	_, kc := execKubeconfig(t, u, "e2e-herd")
	if err := os.RemoveAll(filepath.Join(u.home, ".cache", "kubectl-kyma", "credentials")); err != nil {
		t.Fatal(err)
	}
	before := emu.stats(t).BindingsCreated

	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() {
			if out, err := u.kubectl("--kubeconfig", kc, "get", "ns", "-o", "name"); err != nil {
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
	if made := emu.stats(t).BindingsCreated - before; made != 1 {
		t.Errorf("20 concurrent kubectl calls made %d bindings, want 1", made)
	}
}

// TestRevokedBindingRecovers: a binding revoked by `kubectl kyma unbind` on this
// machine is dropped from the cache at once; one revoked elsewhere is replaced after the
// cluster refuses it, with no file deleted by hand.
func TestRevokedBindingRecovers(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t)
	u := newUser(t)
	u.login(emu)
	envID, kc := execKubeconfig(t, u, "e2e-revoke")

	first, _ := u.entry(envID)
	u.mustKyma("unbind", "e2e-revoke", first)
	if out, err := u.kubectl("--kubeconfig", kc, "get", "ns"); err != nil {
		t.Fatalf("kubectl right after unbinding the cached binding: %v\n%s", err, out)
	}
	second, _ := u.entry(envID)
	if second == "" || second == first {
		t.Fatalf("the cache still holds %q after unbind", second)
	}

	// Another machine (its own cache) revokes the binding this one uses.
	other := newUser(t)
	other.login(emu)
	other.mustKyma("unbind", "e2e-revoke", second)

	// Until the apiserver's token cache (about 10 s) forgets the token, kubectl is
	// authenticated but no longer authorized (403): client-go re-runs the plugin only
	// on a 401. The first 401 must be the last failure: the refused token is never
	// handed out again.
	refusedOnce := false
	eventually(t, 60*time.Second, "a new binding replaces the revoked one", func() bool {
		out, err := u.kubectl("--kubeconfig", kc, "get", "ns")
		if err != nil {
			if refusedOnce {
				t.Fatalf("kubectl failed again after the 401: the refused token was handed out again:\n%s", out)
			}
			if !refused(out) && !strings.Contains(out, "Forbidden") {
				t.Fatalf("kubectl failed for another reason than the revoked binding: %s", out)
			}
			refusedOnce = refused(out)
			return false
		}
		id, _ := u.entry(envID)
		return id != second
	})
}

// TestMergeKeepsOtherEntries: merging into a kubeconfig that KUBECONFIG names among
// several files keeps every other cluster, user and context as it was.
func TestMergeKeepsOtherEntries(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t)
	u := newUser(t)
	u.login(emu)
	envID := u.provision("e2e-merge")

	first := filepath.Join(u.home, "first.yaml")
	second := filepath.Join(u.home, "second.yaml")
	if err := os.WriteFile(first, []byte(existingKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(second, []byte(strings.ReplaceAll(existingKubeconfig, "other", "second")), 0o600); err != nil {
		t.Fatal(err)
	}
	kubeconfigEnv := "KUBECONFIG=" + first + string(os.PathListSeparator) + second
	out, errOut, err := u.run([]string{kubeconfigEnv}, "kubectl", "kyma", "kubeconfig", "e2e-merge")
	if err != nil {
		t.Fatalf("kubeconfig merge: %v\n%s", err, errOut)
	}
	if !strings.Contains(out, `Switched to context "kyma-e2e-merge" in `+first) {
		t.Errorf("kubeconfig said %q", out)
	}
	got, _ := os.ReadFile(first)
	normal := strings.NewReplacer(cluster.Server, "https://API-SERVER", envID, "ENV-ID",
		base64(cluster.CAData), "CA-DATA").Replace(string(got))
	golden.Assert(t, "kubeconfig/merged", normal)
	if data, _ := os.ReadFile(second); string(data) != strings.ReplaceAll(existingKubeconfig, "other", "second") {
		t.Errorf("the second KUBECONFIG file changed:\n%s", data)
	}
	if out, _, err := u.run([]string{kubeconfigEnv}, "kubectl", "get", "ns", "-o", "name"); err != nil || !strings.Contains(out, "namespace/kyma-system") {
		t.Errorf("kubectl through the merged kubeconfig: %v\n%s", err, out)
	}
	if out, _, _ := u.run([]string{kubeconfigEnv}, "kubectl", "config", "get-contexts", "-o", "name"); out != "kyma-e2e-merge\nother\nsecond\n" {
		t.Errorf("contexts after the merge:\n%s", out)
	}
}

// existingKubeconfig is a user's kubeconfig with one cluster, user and context of its
// own (shared with the plugin's merge tests).
var existingKubeconfig = func() string {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "kubeconfig", "other.yaml"))
	if err != nil {
		panic(err)
	}
	return string(data)
}()

// TestRefreshAheadWithSlowBind: a call after 80 % of a binding's lifetime gets the
// cached token at once while one background bind is in flight; over several
// lifetimes no call fails and the cluster never holds more than two binding
// ServiceAccounts.
func TestRefreshAheadWithSlowBind(t *testing.T) {
	t.Parallel()
	own := ownCluster(t) // the test counts the ServiceAccounts on it
	emu := startEmulatorOn(t, own, "--binding-ttl", "40s", "--bind-delay", "5s")
	u := newUser(t)
	u.login(emu)
	envID := u.provision("e2e-ahead")
	kc := filepath.Join(u.home, "ahead.kubeconfig")
	u.mustKyma("kubeconfig", "e2e-ahead", "--output-file", kc, "--refresh-margin", "4s")

	servedDuringBind := 0
	end := time.Now().Add(100 * time.Second)
	for calls := 1; time.Now().Before(end); calls++ {
		out, err := u.kubectl("--kubeconfig", kc, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
		if err != nil {
			t.Fatalf("kubectl call %d failed: %v\n%s", calls, err, out)
		}
		s := emu.stats(t)
		if s.BindingRequests > s.BindingsCreated { // a bind is in flight
			id := strings.TrimPrefix(out, "system:serviceaccount:kyma-system:kyma-binding-")
			if owned, _ := u.entry(envID); owned == id {
				servedDuringBind++
			}
		}
		sas, err := exec.Command("kubectl", "--kubeconfig", own.Kubeconfig, "get", "serviceaccounts", "-n", "kyma-system", "-o", "name").CombinedOutput()
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(sas), "serviceaccount/kyma-binding-"); n > 2 {
			t.Errorf("call %d: %d binding ServiceAccounts live, want at most 2:\n%s", calls, n, sas)
		}
		time.Sleep(time.Second)
	}
	if servedDuringBind == 0 {
		t.Error("no call was answered from the cache while a background bind was in flight")
	}
	t.Logf("%d calls answered with the cached token during a background bind; %+v", servedDuringBind, emu.stats(t))
}
