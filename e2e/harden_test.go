package e2e

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestHardenForeignCacheRoot: a cache folder that another user made, open to all (a CI
// image's shared XDG_CACHE_HOME), is refused with a sentence naming it, kubectl shows
// that sentence, and nothing is written into it.
func TestHardenForeignCacheRoot(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Fatal("this test gives a folder to another user (uid 65534), which needs root")
	}
	emu := startEmulator(t)
	u := newUser(t)
	u.login(emu)
	_, kc := execKubeconfig(t, u, "e2e-foreign")

	shared := filepath.Join(t.TempDir(), "shared-cache")
	root := filepath.Join(shared, "kubectl-kyma")
	if err := os.MkdirAll(root, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(root, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(root, 0o777); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := u.run([]string{"XDG_CACHE_HOME=" + shared}, "kubectl", "--kubeconfig", kc, "get", "ns")
	want := "refusing " + root + ": it belongs to uid 65534, not to you (uid 0)"
	if err == nil || !strings.Contains(errOut, want) {
		t.Errorf("kubectl with a foreign cache folder: err %v\nstdout: %s\nstderr: %s\nwant stderr to say %q", err, out, errOut, want)
	}
	if strings.Contains(errOut, "goroutine ") {
		t.Errorf("a stack trace:\n%s", errOut)
	}
	var written []string
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if p != root {
			written = append(written, p)
		}
		return nil
	})
	if len(written) > 0 {
		t.Errorf("wrote into the refused folder: %v", written)
	}
}

// TestHardenLinksInCache: links planted in place of every file kept beside a cache entry
// (its lock, hand-out markers, the background refresh's PID and failure record, the
// mint stamp, the undeleted-binding note, the record of bindings made here and its lock) are never written through: their targets
// stay as they were across cache hits, a background refresh and a miss, and kubectl
// keeps working.
func TestHardenLinksInCache(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, "--binding-ttl", "60s")
	u := newUser(t)
	u.login(emu)
	envID := u.provision("e2e-links")
	kc := filepath.Join(u.home, "links.kubeconfig")
	u.mustKyma("kubeconfig", "e2e-links", "--output-file", kc, "--refresh-ahead", "0.5")
	made := time.Now()
	first, _ := u.entry(envID)

	cache := filepath.Join(u.home, ".cache", "kubectl-kyma")
	entryBase := filepath.Join(cache, "credentials", "default", envID)
	record := filepath.Join(cache, "made", "default", envID)
	victims := filepath.Join(t.TempDir(), "victims")
	if err := os.MkdirAll(filepath.Join(victims, "folder"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(victims, "folder", "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{ // where the plugin keeps a file: the victim it must not touch
		entryBase + ".json.lock":     filepath.Join(victims, "lock"),
		entryBase + ".pid":           filepath.Join(victims, "pid"),
		entryBase + ".refresh-error": filepath.Join(victims, "refresh-error"),
		entryBase + ".minted":        filepath.Join(victims, "minted"),
		entryBase + ".undeleted":     filepath.Join(victims, "undeleted"),
		entryBase + ".handouts":      filepath.Join(victims, "folder"),
		record:                       filepath.Join(victims, "made"),
		record + ".lock":             filepath.Join(victims, "made.lock"),
		record + ".in-use":           filepath.Join(victims, "folder"),
	}
	for _, victim := range links {
		if victim != filepath.Join(victims, "folder") {
			if err := os.WriteFile(victim, []byte("precious "+filepath.Base(victim)+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	plant := func(when string) {
		t.Helper()
		for at, victim := range links {
			if err := os.RemoveAll(at); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(victim, at); err != nil {
				t.Fatalf("%s: %v", when, err)
			}
		}
	}
	check := func(when string) {
		t.Helper()
		for _, victim := range links {
			if victim == filepath.Join(victims, "folder") {
				if ents, err := os.ReadDir(victim); err != nil || len(ents) != 1 || ents[0].Name() != "keep" {
					t.Errorf("after %s the linked folder holds %v (%v), want only its file keep", when, ents, err)
				}
				continue
			}
			got, err := os.ReadFile(victim)
			if want := "precious " + filepath.Base(victim) + "\n"; err != nil || string(got) != want {
				t.Errorf("after %s %s holds %q (%v), want %q", when, victim, got, err, want)
			}
		}
	}
	kubectlOK := func(when string) {
		t.Helper()
		if out, err := u.kubectl("--kubeconfig", kc, "get", "ns", "-o", "name"); err != nil {
			t.Fatalf("kubectl %s: %v\n%s", when, err, out)
		}
	}

	plant("hits")
	for range 3 {
		kubectlOK("on a hit")
	}
	if id, _ := u.entry(envID); id != first {
		t.Fatalf("the hits replaced binding %s with %s", first, id)
	}
	check("three hits")

	// Past half the lifetime a hit starts the background refresh.
	plant("the background refresh")
	time.Sleep(time.Until(made.Add(32 * time.Second)))
	kubectlOK("past half the lifetime")
	eventually(t, 30*time.Second, "the background refresh replaces the binding", func() bool {
		id, _ := u.entry(envID)
		return id != "" && id != first
	})
	second, _ := u.entry(envID)
	check("a background refresh")

	plant("a miss")
	if err := os.Remove(entryBase + ".json"); err != nil {
		t.Fatal(err)
	}
	kubectlOK("on a miss")
	if id, _ := u.entry(envID); id == "" || id == second {
		t.Errorf("the miss left binding %q, want a new one", id)
	}
	check("a miss")
}

// TestHardenNoTokenOnRedirect: a Provisioning Service URL that answers with a redirect
// to another listener (plain http, another port) gets an error naming the Location,
// and the other listener never receives the bearer token, nor any request.
func TestHardenNoTokenOnRedirect(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t)
	u := newUser(t)

	var mu sync.Mutex
	var received []string // what the second listener was sent: method, path, Authorization
	second := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		received = append(received, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"environmentInstances":[]}`))
	}))
	defer second.Close()
	var redirected int
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if r.Header.Get("Authorization") != "" {
			redirected++
		}
		mu.Unlock()
		http.Redirect(w, r, second.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer first.Close()

	// The emulator's service key, with the first listener as the Provisioning Service.
	data, err := os.ReadFile(filepath.Join(emu.StateDir, "service-key.json"))
	if err != nil {
		t.Fatal(err)
	}
	var key map[string]any
	if err := json.Unmarshal(data, &key); err != nil {
		t.Fatal(err)
	}
	key["credentials"].(map[string]any)["endpoints"].(map[string]any)["provisioning_service_url"] = first.URL
	data, _ = json.Marshal(key)
	keyFile := filepath.Join(u.home, "redirecting-key.json")
	if err := os.WriteFile(keyFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	u.mustKyma("login", "--service-key", keyFile, "--certificate-authority", filepath.Join(emu.StateDir, "ca.crt"))

	for _, args := range [][]string{
		{"list"},
		{"provision", "e2e-redirect", "--plan", "aws", "--region", "eu-central-1", "--user", "e2e@example.com"},
	} {
		out, errOut, err := u.kyma(args...)
		want := "answered 307, a redirect to " + second.URL + "/provisioning/v1/environments, which kubectl-kyma does not follow"
		if err == nil || !strings.Contains(errOut, want) {
			t.Errorf("kubectl kyma %s: err %v\nstdout: %s\nstderr: %s\nwant stderr to say %q", args[0], err, out, errOut, want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if redirected == 0 {
		t.Error("the redirecting listener got no request with a token: the test proves nothing")
	}
	if len(received) > 0 {
		t.Errorf("the listener behind the redirect was sent %q", received)
	}
}

// TestHardenProfileNames: a profile name that could climb out of its folder is refused
// at every entry point, and a profile an earlier version stored under a name that is no
// longer valid (ci@team) can still be logged out of, which removes its cached tokens.
func TestHardenProfileNames(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t)
	u := newUser(t)
	key, ca := filepath.Join(emu.StateDir, "service-key.json"), filepath.Join(emu.StateDir, "ca.crt")
	for _, name := range []string{"../../x", "a/b", "..", ".hidden", strings.Repeat("p", 64)} {
		_, errOut, err := u.kyma("login", "--service-key", key, "--certificate-authority", ca, "--profile", name)
		if want := "profile name " + strconv.Quote(name) + " is not valid"; err == nil || !strings.Contains(errOut, want) {
			t.Errorf("login --profile %s: err %v, stderr %q; want it refused saying %q", name, err, errOut, want)
		}
	}
	_, errOut, err := u.run([]string{"KUBECTL_KYMA_PROFILE=a/b"}, "kubectl", "kyma", "list")
	if err == nil || !strings.Contains(errOut, `KUBECTL_KYMA_PROFILE: profile name "a/b" is not valid`) {
		t.Errorf("KUBECTL_KYMA_PROFILE=a/b: err %v, stderr %q", err, errOut)
	}
	if _, err := os.Stat(filepath.Join(u.home, ".config", "kubectl-kyma", "config.yaml")); err == nil {
		t.Error("a refused login stored a config")
	}

	// What an earlier version left for profile ci@team: the profile, its OAuth token
	// cache under the raw name, its credentials under the escaped one.
	u.login(emu)
	envID, _ := execKubeconfig(t, u, "e2e-names")
	u.mustKyma("list")
	cfgPath := filepath.Join(u.home, ".config", "kubectl-kyma", "config.yaml")
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg = []byte(strings.ReplaceAll(string(cfg), "default", "ci@team"))
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(u.home, ".cache", "kubectl-kyma")
	tokens := filepath.Join(cache, "tokens", "ci@team.json")
	creds := filepath.Join(cache, "credentials", "ci%40team")
	for from, to := range map[string]string{filepath.Join(cache, "tokens", "default.json"): tokens, filepath.Join(cache, "credentials", "default"): creds} {
		if err := os.Rename(from, to); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(creds, envID+".json")); err != nil {
		t.Fatalf("no cached credential to log out of: %v", err)
	}

	_, errOut, err = u.kyma("list")
	if want := "run 'kubectl kyma logout --profile ci@team --forget'"; err == nil || !strings.Contains(errOut, want) {
		t.Errorf("list with current profile ci@team: err %v, stderr %q; want it to say %q", err, errOut, want)
	}
	if out := u.mustKyma("logout", "--profile", "ci@team"); !strings.Contains(out, `Logged out of profile "ci@team"`) {
		t.Errorf("logout said %q", out)
	}
	for _, p := range []string{tokens, creds} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("logout left %s (%v)", p, err)
		}
	}
	u.mustKyma("logout", "--profile", "ci@team", "--forget")
	if out := u.mustKyma("profiles"); strings.Contains(out, "ci@team") {
		t.Errorf("logout --forget left the profile:\n%s", out)
	}
}

// TestHardenInsecureEntryGetsNoToken: kubectl whose kubeconfig entry (or flag) skips
// the check of the cluster's certificate gets no token from the plugin, and is told
// why.
func TestHardenInsecureEntryGetsNoToken(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t)
	u := newUser(t)
	u.login(emu)
	_, kc := execKubeconfig(t, u, "e2e-insecure")
	if out, err := u.kubectl("--kubeconfig", kc, "get", "ns", "-o", "name"); err != nil {
		t.Fatalf("kubectl with the kubeconfig as written: %v\n%s", err, out)
	}
	const why = "its kubeconfig cluster sets insecure-skip-tls-verify"
	before := emu.stats(t).BindingsCreated
	out, err := u.kubectl("--kubeconfig", kc, "--insecure-skip-tls-verify", "get", "ns", "-o", "name")
	if err == nil || !strings.Contains(out, why) || strings.Contains(out, "namespace/") {
		t.Errorf("kubectl --insecure-skip-tls-verify: err %v\n%s\nwant it refused saying %q", err, out, why)
	}

	name, err := u.kubectl("--kubeconfig", kc, "config", "view", "-o", "jsonpath={.clusters[0].name}")
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"config", "unset", "clusters." + name + ".certificate-authority-data"},
		{"config", "set", "clusters." + name + ".insecure-skip-tls-verify", "true"},
	} {
		if out, err := u.kubectl(append([]string{"--kubeconfig", kc}, args...)...); err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	out, err = u.kubectl("--kubeconfig", kc, "get", "ns", "-o", "name")
	if err == nil || !strings.Contains(out, why) || strings.Contains(out, "namespace/") {
		t.Errorf("kubectl with insecure-skip-tls-verify in the kubeconfig: err %v\n%s\nwant it refused saying %q", err, out, why)
	}
	if made := emu.stats(t).BindingsCreated - before; made != 0 {
		t.Errorf("the refused call made %d bindings", made)
	}
}

// TestHardenRunRoles: under `run --role edit` the command can change workloads but
// cannot mint a token for a service account, read secrets or exec into a pod; under
// --role view it cannot read secrets either; and it never sees the profile's client
// secret.
func TestHardenRunRoles(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t)
	u := newUser(t)
	u.login(emu)
	u.provision("e2e-roles")
	script := `kubectl create serviceaccount "e2e-sa-$KUBECTL_KYMA_BINDING_ID" -n default >/dev/null 2>&1
kubectl create token "e2e-sa-$KUBECTL_KYMA_BINDING_ID" -n default >/dev/null 2>/tmp/e2e-token-err-$KUBECTL_KYMA_BINDING_ID && echo "create token: yes" || echo "create token: $(grep -o forbidden /tmp/e2e-token-err-$KUBECTL_KYMA_BINDING_ID | head -1)"
rm -f /tmp/e2e-token-err-$KUBECTL_KYMA_BINDING_ID
echo "get secrets: $(kubectl auth can-i get secrets -n default)"
echo "exec: $(kubectl auth can-i create pods --subresource=exec -n default)"
echo "impersonate: $(kubectl auth can-i impersonate serviceaccounts -n default)"
echo "create deployments: $(kubectl auth can-i create deployments.apps -n default)"
echo "secret: [$CLIENT_SECRET]"`
	for _, tc := range []struct{ role, want string }{
		{"edit", "create token: forbidden\nget secrets: no\nexec: no\nimpersonate: no\ncreate deployments: yes\nsecret: []\n"},
		{"view", "create token: forbidden\nget secrets: no\nexec: no\nimpersonate: no\ncreate deployments: no\nsecret: []\n"},
	} {
		out, errOut, err := u.run([]string{"CLIENT_SECRET=e2e-must-not-leak"}, "kubectl", "kyma", "run", "e2e-roles", "--role", tc.role, "--", "sh", "-c", script)
		if err != nil || out != tc.want {
			t.Errorf("run --role %s: %v\nstdout:\n%s\nwant:\n%s\nstderr: %s", tc.role, err, out, tc.want, errOut)
		}
	}
}

// TestHardenVersionHandover: kubectl-kyma and kyma-cli of different releases refuse to
// work together and say to reinstall: a kyma-cli on PATH from another release (no
// kyma-cli beside kubectl-kyma), and a kyma-cli handed a call by another kubectl-kyma.
func TestHardenVersionHandover(t *testing.T) {
	t.Parallel()
	u := newUser(t)
	_, errOut, err := u.run([]string{"KUBECTL_KYMA_FRONT_VERSION=v9.9.9"}, filepath.Join(binDir, "kyma-cli"), "version")
	if want := "kubectl-kyma v9.9.9 handed this call to kyma-cli v0.0.0-e2e, from another release: reinstall the plugin"; err == nil || !strings.Contains(errOut, want) {
		t.Errorf("kyma-cli handed a call by another release: err %v, stderr %q; want %q", err, errOut, want)
	}

	front, old := filepath.Join(t.TempDir(), "front"), filepath.Join(t.TempDir(), "old")
	if err := os.MkdirAll(front, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(binDir, "kubectl-kyma"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(front, "kubectl-kyma"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", "build", "-o", filepath.Join(old, "kyma-cli"),
		"-ldflags", "-X github.com/kubectl-kyma/kubectl-kyma/internal/version.Version=v0.0.1-old", "../cmd/kyma-cli")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build an older kyma-cli: %v\n%s", err, out)
	}
	u.env = append(u.env, "PATH="+front+string(os.PathListSeparator)+old+string(os.PathListSeparator)+os.Getenv("PATH"))
	_, errOut, err = u.run(nil, filepath.Join(front, "kubectl-kyma"), "version")
	want := "kubectl-kyma v0.0.0-e2e found kyma-cli v0.0.1-old at " + filepath.Join(old, "kyma-cli") + ", from another release: reinstall the plugin"
	if err == nil || !strings.Contains(errOut, want) {
		t.Errorf("kubectl-kyma with an older kyma-cli on PATH: err %v, stderr %q; want %q", err, errOut, want)
	}
}
