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

	"github.com/kubectl-kyma/kubectl-kyma/internal/testcluster"
)

// winUser is a Windows user at a terminal, under Wine: the Windows builds of
// kubectl-kyma and kyma-cli on PATH, and kubeclient, a client-go program built for
// Windows, in kubectl's place. The emulator and the cluster run on Linux, on 127.0.0.1.
type winUser struct {
	t    *testing.T
	wine string // scripts/wine-exec: runs a Windows program in the test's Wine prefix
	bin  string // the Windows builds
	home string
	env  []string
}

// newWinUser builds the Windows programs and makes a user with its own config and
// cache folders (XDG_CONFIG_HOME and XDG_CACHE_HOME, which adrg/xdg and the hot path
// honour on Windows too; their defaults there, %LOCALAPPDATA%, are checked by the unit
// tests under Wine). Wine takes PATH from its registry and prepends WINEPATH.
func newWinUser(t *testing.T, wine, overlay string) *winUser {
	t.Helper()
	u := &winUser{t: t, wine: wine, bin: filepath.Join(t.TempDir(), "bin"), home: t.TempDir()}
	start := time.Now()
	build := exec.Command("go", "build", "-overlay", overlay, "-o", u.bin+"/",
		"-ldflags", "-X github.com/kubectl-kyma/kubectl-kyma/internal/version.Version=v0.0.0-e2e",
		"../cmd/kubectl-kyma", "../cmd/kyma-cli", "./kubeclient")
	build.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the Windows programs: %v\n%s", err, out)
	}
	t.Logf("Windows programs built in %s", time.Since(start).Round(time.Second))
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "KUBECONFIG", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "KUBECTL_KYMA_PROFILE", "WINEPATH",
			"CLIENT_ID", "CLIENT_SECRET", "UAA_URL", "PROVISIONING_SERVICE_URL", "KUBERNETES_EXEC_INFO":
			continue
		}
		u.env = append(u.env, kv)
	}
	u.env = append(u.env,
		"WINEPATH="+winPath(u.bin),
		"XDG_CONFIG_HOME="+winPath(filepath.Join(u.home, "config")),
		"XDG_CACHE_HOME="+winPath(filepath.Join(u.home, "cache")),
	)
	return u
}

// winPath is a Linux path as Windows programs under Wine see it: drive Z: is /.
func winPath(p string) string { return `Z:` + strings.ReplaceAll(p, "/", `\`) }

// run runs a Windows program from the user's bin folder under Wine. Its output goes to
// files, not pipes: every process Wine starts is a Linux process that keeps the Linux
// descriptors it was started with, so a detached background refresh would hold a pipe
// open, and the test would wait for it, where Windows hands it none of them.
func (u *winUser) run(exe string, args ...string) (stdout, stderr string, err error) {
	cmd := exec.Command(u.wine, append([]string{filepath.Join(u.bin, exe)}, args...)...)
	cmd.Env, cmd.Dir = u.env, u.home
	out, errOut := u.outputFile(), u.outputFile()
	cmd.Stdout, cmd.Stderr = out, errOut
	err = cmd.Run()
	return u.read(out), u.read(errOut), err
}

// outputFile is a new file for one run's output.
func (u *winUser) outputFile() *os.File {
	u.t.Helper()
	f, err := os.CreateTemp(u.t.TempDir(), "output-")
	if err != nil {
		u.t.Fatal(err)
	}
	return f
}

// read returns what a run wrote to f, and closes it.
func (u *winUser) read(f *os.File) string {
	u.t.Helper()
	defer f.Close()
	data, err := os.ReadFile(f.Name())
	if err != nil {
		u.t.Fatal(err)
	}
	return string(data)
}

// mustKyma runs kubectl-kyma.exe ARGS, as `kubectl kyma ARGS` does on Windows.
func (u *winUser) mustKyma(args ...string) string {
	u.t.Helper()
	out, errOut, err := u.run("kubectl-kyma.exe", args...)
	if err != nil {
		u.t.Fatalf("kubectl-kyma.exe %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// whoami runs kubeclient.exe, which authenticates through the kubeconfig's exec stanza,
// and returns the binding the cluster saw, from its ServiceAccount's name.
func (u *winUser) whoami(kubeconfig string) (string, error) {
	out, errOut, err := u.run("kubeclient.exe", winPath(kubeconfig))
	if err != nil {
		return "", fmt.Errorf("%v: %s%s", err, out, errOut)
	}
	name := strings.TrimSpace(out)
	id, ok := strings.CutPrefix(name, "system:serviceaccount:kyma-system:kyma-binding-")
	if !ok {
		return "", fmt.Errorf("authenticated as %q, want a kyma-binding ServiceAccount", name)
	}
	return id, nil
}

// entry is the user's cached credential for an environment, read from the Linux side.
func (u *winUser) entry(envID string) cacheEntry {
	u.t.Helper()
	raw, err := os.ReadFile(filepath.Join(u.home, "cache", "kubectl-kyma", "credentials", "default", envID+".json"))
	if err != nil {
		u.t.Fatalf("read the cache entry: %v", err)
	}
	e := cacheEntry{raw: raw}
	if err := json.Unmarshal(raw, &e); err != nil {
		u.t.Fatalf("the cache entry is not JSON: %v", err)
	}
	return e
}

// dropCache empties the user's credential cache: the next call is cold.
func (u *winUser) dropCache() {
	u.t.Helper()
	if err := os.RemoveAll(filepath.Join(u.home, "cache", "kubectl-kyma", "credentials")); err != nil {
		u.t.Fatal(err)
	}
}

// bindingAccounts counts the binding ServiceAccounts on cluster c.
func bindingAccounts(t *testing.T, c *testcluster.Cluster) int {
	t.Helper()
	out, err := exec.Command("kubectl", "--kubeconfig", c.Kubeconfig, "get", "serviceaccounts", "-n", "kyma-system", "-o", "name").CombinedOutput()
	if err != nil {
		t.Fatalf("list ServiceAccounts: %v\n%s", err, out)
	}
	return strings.Count(string(out), "serviceaccount/kyma-binding-")
}

// TestWindowsCredentialHelper runs the credential helper's Windows build under Wine, as
// client-go on Windows runs it, against the emulator and a real kube-apiserver: a miss
// makes a binding, hits make none, a herd of cold calls makes one, a call past 80 % of
// the lifetime is answered at once and leaves a background refresh that replaces the
// entry, a call across an expiry gets a new binding, and an unbind, here or elsewhere,
// is recovered from.
// make test-windows runs it; it needs Wine and the Windows build's overlay.
func TestWindowsCredentialHelper(t *testing.T) {
	wine, overlay := os.Getenv("KUBECTL_KYMA_WINE"), os.Getenv("KUBECTL_KYMA_WINE_OVERLAY")
	if wine == "" || overlay == "" {
		t.Skip("runs under Wine: make test-windows sets KUBECTL_KYMA_WINE and KUBECTL_KYMA_WINE_OVERLAY")
	}
	t.Parallel()
	own := ownCluster(t) // the test counts the binding ServiceAccounts on it
	// Each call starts two or three Wine processes, seconds apiece on a busy machine: the
	// lifetime leaves the call past 80 % some 15 s before the refresh margin.
	const ttl = 90 * time.Second
	emu := startEmulatorOn(t, own, "--binding-ttl", ttl.String())
	u := newWinUser(t, wine, overlay)
	u.mustKyma("login", "--service-key", winPath(filepath.Join(emu.StateDir, "service-key.json")),
		"--certificate-authority", winPath(filepath.Join(emu.StateDir, "ca.crt")))
	u.mustKyma("provision", "e2e-win", "--plan", "aws", "--region", "eu-central-1", "--user", "e2e@example.com", "--wait")
	envID := strings.TrimSpace(u.mustKyma("get", "e2e-win", "-o", "jsonpath={.id}"))
	kc := filepath.Join(u.home, "win.kubeconfig")
	u.mustKyma("kubeconfig", "e2e-win", "--output-file", winPath(kc), "--refresh-margin", "3s")
	if data, _ := os.ReadFile(kc); !strings.Contains(string(data), "command: kubectl-kyma\n") {
		t.Fatalf("the kubeconfig's exec stanza does not run kubectl-kyma (found through PATHEXT):\n%s", data)
	}
	// Leftovers would blur the counts below; bindings made so far expire with the ttl.
	made := func() int { return emu.stats(t).BindingsCreated }
	atMostTwo := func(when string) {
		if n := bindingAccounts(t, own); n > 2 {
			t.Errorf("%s: %d binding ServiceAccounts on the cluster, want at most 2", when, n)
		}
	}

	// A miss makes one binding; hits make none.
	u.dropCache()
	before := made()
	first, err := u.whoami(kc)
	if err != nil {
		t.Fatalf("cold call: %v", err)
	}
	if got := u.entry(envID).BindingID; got != first || made()-before != 1 {
		t.Fatalf("cold call: authenticated as binding %s, cached %s, %d bindings made; want the one new binding cached", first, got, made()-before)
	}
	for i := range 3 {
		if id, err := u.whoami(kc); err != nil || id != first {
			t.Fatalf("hit %d: binding %s, %v; want the cached %s", i+1, id, err, first)
		}
	}
	if n := made() - before; n != 1 {
		t.Errorf("a miss and three hits made %d bindings, want 1", n)
	}
	atMostTwo("after the hits")

	// A herd of 10 cold calls makes one binding between them.
	u.dropCache()
	before = made()
	var wg sync.WaitGroup
	ids, errs := make([]string, 10), make([]error, 10)
	for i := range ids {
		wg.Go(func() { ids[i], errs[i] = u.whoami(kc) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("herd call %d: %v", i, err)
		}
	}
	if n := made() - before; n != 1 {
		t.Errorf("10 cold calls at once made %d bindings, want 1 (%v)", n, ids)
	}
	herd := u.entry(envID)

	// Past 80 % of the lifetime a call gets the cached token at once, and a background
	// refresh replaces the entry: the next bind takes 15 s, and the call returns before
	// that binding exists.
	sleepUntil(herd.IssuedAt.Add(herd.ExpiresAt.Sub(herd.IssuedAt) * 81 / 100))
	emu.fault(t, `{"route":"`+bindRoute+`","delay":"15s"}`)
	before = made()
	id, err := u.whoami(kc)
	if err != nil || id != herd.BindingID {
		t.Fatalf("call at 81 %% of the lifetime: binding %s, %v; want the cached %s at once", id, err, herd.BindingID)
	}
	if n := made() - before; n != 0 {
		t.Errorf("the call at 81 %% returned after %d bindings were made: it waited for the refresh", n)
	}
	eventually(t, 60*time.Second, "the background refresh replaces the entry", func() bool {
		return u.entry(envID).BindingID != herd.BindingID
	})
	ahead := u.entry(envID)
	if n := made() - before; n != 1 {
		t.Errorf("the refresh ahead made %d bindings, want 1", n)
	}
	if id, err := u.whoami(kc); err != nil || id != ahead.BindingID {
		t.Errorf("after the refresh ahead: binding %s, %v; want the new %s", id, err, ahead.BindingID)
	}
	atMostTwo("after the refresh ahead")

	// Across an expiry, with no call in between: the next call makes a new binding.
	sleepUntil(ahead.ExpiresAt.Add(time.Second))
	before = made()
	if id, err = u.whoami(kc); err != nil || id == ahead.BindingID {
		t.Fatalf("call after the expiry: binding %s, %v; want a new one", id, err)
	}
	if n := made() - before; n != 1 {
		t.Errorf("the call across the expiry made %d bindings, want 1", n)
	}
	atMostTwo("after the expiry")

	// Unbind on this machine drops the cached binding, and the next call recovers.
	u.mustKyma("unbind", "e2e-win", id)
	if next, err := u.whoami(kc); err != nil || next == id {
		t.Errorf("call after unbind: binding %s, %v; want a new one", next, err)
	}
	atMostTwo("after unbind")

	// Another machine revokes the binding in use. Once the apiserver's token cache lets
	// go of it (until then the answer is 403), the cluster answers 401, client-go runs
	// kubectl-kyma.exe again in the same process, and the refused token is not handed out
	// again: the caller is known by its PID and creation time, so that second request
	// gets a new binding.
	revoked := u.entry(envID).BindingID
	other := newUser(t)
	other.login(emu)
	other.mustKyma("unbind", "e2e-win", revoked)
	eventually(t, 90*time.Second, "a new binding replaces the one revoked elsewhere", func() bool {
		out, errOut, err := u.run("kubeclient.exe", winPath(kc), "2")
		switch {
		case err != nil && strings.Contains(errOut, "attempt 2"):
			t.Fatalf("the refused token was handed out again to the same process:\n%s", errOut)
		case err != nil && !strings.Contains(errOut, "forbidden"):
			t.Fatalf("kubeclient failed for another reason than the revoked binding: %v\n%s", err, errOut)
		case err != nil:
			return false // authenticated but no longer authorized: not yet a 401
		}
		return !strings.HasSuffix(strings.TrimSpace(out), revoked)
	})
	atMostTwo("after the revocation elsewhere")
	t.Logf("%+v", emu.stats(t))
}
