package e2e

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-kyma/kubectl-kyma/internal/testcluster"
	"github.com/kubectl-kyma/kubectl-kyma/krew"
)

// The Krew tests install the plugin as a Krew user does, with the real krew (pinned in
// tools/krew) and the real kubectl, offline: the archives come from scripts/dist.sh,
// the manifests from package krew, and every krew command runs with an HTTP proxy that
// does not exist, so anything but a loopback address would fail.

// krewRelease is one version of the plugin as a release ships it for this machine's
// platform: the archive scripts/dist.sh builds and the manifest `make krew` renders.
type krewRelease struct {
	Version  string
	Dist     string // folder of the archive and the checksums file
	Archive  string
	Manifest string // <folder>/kyma.yaml: Krew's validator takes the plugin name from the file name
}

var (
	releasesMu sync.Mutex
	releases   = map[string]*krewRelease{}
)

// buildRelease builds (once per test binary) the release archive of version for this
// platform with scripts/dist.sh, and renders its manifest.
func buildRelease(t *testing.T, version string) *krewRelease {
	t.Helper()
	releasesMu.Lock()
	defer releasesMu.Unlock()
	if r, ok := releases[version]; ok {
		return r
	}
	p := krew.Platform{OS: runtime.GOOS, Arch: runtime.GOARCH}
	dir := filepath.Join(filepath.Dir(binDir), "krew-release", version)
	r := &krewRelease{
		Version:  version,
		Dist:     filepath.Join(dir, "dist"),
		Archive:  filepath.Join(dir, "dist", fmt.Sprintf("kubectl-kyma_%s_%s_%s.%s", version, p.OS, p.Arch, p.Format())),
		Manifest: filepath.Join(dir, "manifest", "kyma.yaml"),
	}
	cmd := exec.Command("scripts/dist.sh", "archives")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "VERSION="+version, "COMMIT=e2e", "DATE=2026-01-01T00:00:00Z",
		"PLATFORMS="+p.String(), "OUT="+r.Dist)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/dist.sh %s: %v\n%s", version, err, out)
	}
	manifest, err := krew.Render(krew.Options{TagName: version, DistDir: r.Dist, Platforms: []krew.Platform{p}})
	if err != nil {
		t.Fatalf("render the manifest of %s: %v", version, err)
	}
	if err := os.MkdirAll(filepath.Dir(r.Manifest), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.Manifest, manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	releases[version] = r
	return r
}

var krewOnce = sync.OnceValues(func() (string, error) {
	bin, err := testcluster.BinDir()
	if err != nil {
		return "", err
	}
	cmd := exec.Command("scripts/tools.sh", "krew")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "KUBECTL_KYMA_BIN_DIR="+bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("scripts/tools.sh krew: %v\n%s", err, out)
	}
	return filepath.Join(bin, "krew"), nil
})

// krewBinary returns the pinned krew, built by scripts/tools.sh (at once if make tools
// has not built it yet: it does nothing when krew is up to date).
func krewBinary(t *testing.T) string {
	t.Helper()
	p, err := krewOnce()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// validateManifest runs Krew's own manifest validator, the one krew-index runs on every
// plugin's pull request (sigs.k8s.io/krew/cmd/validate-krew-manifest, pinned in
// tools/krew/go.mod). Its install step downloads the URIs, so it is skipped: the tests
// install with --archive instead.
func validateManifest(t *testing.T, path string) (string, error) {
	t.Helper()
	cmd := exec.Command("go", "tool", "validate-krew-manifest", "-manifest", path, "-skip-install")
	cmd.Dir = filepath.Join("..", "tools", "krew")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestKrewManifestValidates(t *testing.T) {
	t.Parallel()
	r := buildRelease(t, "v0.0.1")

	t.Run("archive", func(t *testing.T) {
		exe := krew.Platform{OS: runtime.GOOS}.Exe()
		want := []string{"LICENSE", "README.md", "kubectl-kyma" + exe, "kubectl_complete-kyma" + exe, "kyma-cli" + exe}
		if got := tarEntries(t, r.Archive); !slices.Equal(got, want) {
			t.Errorf("the archive holds %q, want %q (executables with their x bits)", got, want)
		}
		sums, err := os.ReadFile(filepath.Join(r.Dist, "kubectl-kyma_v0.0.1_checksums.txt"))
		if err != nil {
			t.Fatalf("dist wrote no checksums: %v", err)
		}
		manifest := readText(t, r.Manifest)
		for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
			sum, name, _ := strings.Cut(line, "  ")
			if !strings.Contains(manifest, "uri: https://github.com/kubectl-kyma/kubectl-kyma/releases/download/v0.0.1/"+name+"\n    sha256: "+sum+"\n") {
				t.Errorf("the manifest does not give %s (sha256 %s, from the checksums file) under its release URL:\n%s", name, sum, manifest)
			}
		}
	})

	t.Run("krew's validator accepts it", func(t *testing.T) {
		out, err := validateManifest(t, r.Manifest)
		if err != nil {
			t.Fatalf("validate-krew-manifest: %v\n%s", err, out)
		}
		for _, want := range []string{"structural validation OK", "all spec.platform[] items are used", "no overlapping spec.platform[].selector"} {
			if !strings.Contains(out, want) {
				t.Errorf("validate-krew-manifest did not say %q:\n%s", want, out)
			}
		}
	})

	t.Run("krew's validator rejects a broken copy", func(t *testing.T) {
		broken := filepath.Join(t.TempDir(), "kyma.yaml")
		data := strings.Replace(readText(t, r.Manifest), "sha256: ", "sha256: x", 1)
		if err := os.WriteFile(broken, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := validateManifest(t, broken)
		if err == nil || !strings.Contains(out, "is not valid, must match pattern") {
			t.Errorf("validate-krew-manifest on a bad sha256: %v\n%s", err, out)
		}
	})
}

// TestKrewInstallCompletionAndUpgrade is a Krew user's life with the plugin: install,
// completion, a kubeconfig, uninstall, install from an index, upgrade; the kubeconfig's
// exec credential keeps working whenever the plugin is installed.
func TestKrewInstallCompletionAndUpgrade(t *testing.T) {
	t.Parallel()
	r1, r2 := buildRelease(t, "v0.0.1"), buildRelease(t, "v0.0.2")
	kubectlPath, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatal(err)
	}

	// Krew as the user has it: kubectl-krew on PATH, and $KREW_ROOT/bin on PATH. Nothing
	// else of ours is: the built binaries of the other tests are left out.
	root := filepath.Join(t.TempDir(), "krew")
	tools := t.TempDir()
	if err := os.Symlink(krewBinary(t), filepath.Join(tools, "kubectl-krew")); err != nil {
		t.Fatal(err)
	}
	krewBin := filepath.Join(root, "bin")
	u := newUser(t)
	u.env = append(u.env,
		"PATH="+strings.Join([]string{krewBin, tools, filepath.Dir(kubectlPath), "/usr/bin", "/bin"}, string(os.PathListSeparator)),
		"KREW_ROOT="+root, "KREW_NO_UPGRADE_CHECK=1")
	offline := []string{"HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9", "NO_PROXY=",
		"https_proxy=http://127.0.0.1:9", "http_proxy=http://127.0.0.1:9", "no_proxy="}
	krewRun := func(args ...string) (string, error) {
		t.Helper()
		out, errOut, err := u.run(offline, "kubectl", append([]string{"krew"}, args...)...)
		return out + errOut, err
	}
	mustKrew := func(args ...string) string {
		t.Helper()
		out, err := krewRun(args...)
		if err != nil {
			t.Fatalf("kubectl krew %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	// sh runs a command line as the user's shell does: commands are looked up on the
	// user's PATH, as kubectl looks up a kubeconfig's exec command.
	sh := func(cmdline string) string {
		t.Helper()
		out, errOut, err := u.run(nil, "sh", "-c", cmdline)
		if err != nil {
			t.Fatalf("%s: %v\n%s%s", cmdline, err, out, errOut)
		}
		return strings.TrimSpace(out)
	}
	// The user follows the caveats Krew printed at install: copy the completion helper.
	setUpCompletion := func() {
		t.Helper()
		var cp string
		for _, l := range strings.Split(readText(t, r1.Manifest), "\n") {
			if l = strings.TrimSpace(l); strings.HasPrefix(l, "cp ") && strings.Contains(l, "kubectl_complete-kyma") {
				cp = l
			}
		}
		if cp == "" {
			t.Fatal("the caveats tell no cp command for kubectl_complete-kyma")
		}
		sh(cp)
	}
	// An initialised index, as `kubectl krew update` leaves it: list and uninstall need it.
	index := filepath.Join(root, "index", "default")
	for _, d := range []string{filepath.Join(index, ".git"), filepath.Join(index, "plugins")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if out, errOut, err := u.kyma("version"); err == nil {
		t.Fatalf("kubectl kyma runs before Krew installed it:\n%s%s", out, errOut)
	}

	t.Log("step: krew install --manifest --archive")
	{
		if out, err := krewRun("install", "--manifest="+r1.Manifest, "--archive="+r2.Archive); err == nil || !strings.Contains(out, "checksum does not match") {
			t.Errorf("krew installed an archive whose sha256 the manifest does not give: %v\n%s", err, out)
		}
		out := mustKrew("install", "--manifest="+r1.Manifest, "--archive="+r1.Archive)
		for _, want := range []string{"Installed plugin: kyma", "kubectl kyma login --service-key", "kubectl_complete-kyma"} {
			if !strings.Contains(out, want) {
				t.Errorf("krew install did not say %q:\n%s", want, out)
			}
		}
		if got := sh("kubectl kyma version --short"); got != "v0.0.1" {
			t.Errorf("kubectl kyma version --short = %q, want v0.0.1", got)
		}
	}

	t.Log("step: completion")
	{
		if got := completions(t, u, ""); slices.Contains(got, "login") {
			t.Errorf("kubectl completed kyma's subcommands without kubectl_complete-kyma on PATH: %q", got)
		}
		setUpCompletion()
		got := completions(t, u, "")
		for _, want := range []string{"login", "provision", "kubeconfig", "completion", "version"} {
			if !slices.Contains(got, want) {
				t.Errorf("kubectl __complete kyma \"\" = %q, want it to hold %q", got, want)
			}
		}
		if got, want := completions(t, u, "completion", ""), []string{"bash", "fish", "powershell", "zsh"}; !slices.Equal(got, want) {
			t.Errorf("kubectl __complete kyma completion \"\" = %q, want %q", got, want)
		}
		for shell, want := range map[string]string{
			"bash":       "# bash completion V2 for kyma",
			"zsh":        "#compdef kyma",
			"fish":       "# fish completion for kyma",
			"powershell": "# powershell completion for kyma",
		} {
			if out := u.mustKyma("completion", shell); !strings.Contains(out, want) || !strings.Contains(out, "__complete") {
				t.Errorf("kubectl kyma completion %s does not print the %s script:\n%.300s", shell, shell, out)
			}
		}
	}

	emu := startEmulator(t)
	u.login(emu)
	_, kc := execKubeconfig(t, u, "e2e-krew")
	getNS := func() (string, error) {
		t.Helper()
		return u.kubectl("--kubeconfig", kc, "get", "ns", "default", "-o", "name")
	}
	t.Log("step: the kubeconfig names kubectl-kyma")
	{
		var cfg struct {
			Users []struct {
				User struct {
					Exec struct {
						Command string   `json:"command"`
						Args    []string `json:"args"`
					} `json:"exec"`
				} `json:"user"`
			} `json:"users"`
		}
		if err := yaml.Unmarshal([]byte(readText(t, kc)), &cfg); err != nil || len(cfg.Users) != 1 {
			t.Fatalf("read the kubeconfig: %v (%d users)", err, len(cfg.Users))
		}
		// The bare name, found on PATH in Krew's bin folder, never the versioned store
		// folder that an upgrade deletes.
		if x := cfg.Users[0].User.Exec; x.Command != "kubectl-kyma" || !slices.Contains(x.Args, "credential") {
			t.Errorf("the kubeconfig's exec runs %q %q, want kubectl-kyma credential ...", x.Command, x.Args)
		}
		if out, err := getNS(); err != nil || strings.TrimSpace(out) != "namespace/default" {
			t.Errorf("kubectl through the Krew-installed credential helper: %v\n%s", err, out)
		}
	}

	t.Log("step: krew uninstall")
	{
		if out := mustKrew("uninstall", "kyma"); !strings.Contains(out, "Uninstalled plugin: kyma") {
			t.Errorf("krew uninstall said:\n%s", out)
		}
		if _, err := os.Stat(filepath.Join(root, "store", "kyma")); !os.IsNotExist(err) {
			t.Errorf("the store folder is still there after uninstall (%v)", err)
		}
		if out, err := getNS(); err == nil || !strings.Contains(out, "kubectl krew install kyma") {
			t.Errorf("kubectl without the plugin: %v, want the kubeconfig's install hint:\n%s", err, out)
		}
		// As the caveats say: Krew does not know the helper's copy, the user deletes it.
		if err := os.Remove(filepath.Join(krewBin, "kubectl_complete-kyma")); err != nil {
			t.Fatal(err)
		}
	}

	// From here the plugin comes from an index, as `kubectl krew install kyma` gets it from
	// krew-index: the released manifest with the GitHub release URL pointed at a loopback
	// server that serves the same archives.
	var downloads atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		for _, r := range []*krewRelease{r1, r2} {
			if req.URL.Path == "/kubectl-kyma/kubectl-kyma/releases/download/"+r.Version+"/"+filepath.Base(r.Archive) {
				downloads.Add(1)
				http.ServeFile(w, req, r.Archive)
				return
			}
		}
		http.NotFound(w, req)
	}))
	defer srv.Close()
	publish := func(r *krewRelease) {
		t.Helper()
		m := strings.ReplaceAll(readText(t, r.Manifest), "https://github.com/", srv.URL+"/")
		if err := os.WriteFile(filepath.Join(index, "plugins", "kyma.yaml"), []byte(m), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	t.Log("step: krew install from the index")
	{
		publish(r1)
		if out := mustKrew("install", "kyma", "--no-update-index"); !strings.Contains(out, "Installed plugin: kyma") {
			t.Errorf("krew install kyma said:\n%s", out)
		}
		if n := downloads.Load(); n != 1 {
			t.Errorf("krew downloaded %d archives, want 1", n)
		}
		if got := sh("kubectl kyma version --short"); got != "v0.0.1" {
			t.Errorf("kubectl kyma version --short = %q, want v0.0.1", got)
		}
		setUpCompletion()
		if out, err := getNS(); err != nil {
			t.Errorf("kubectl after the reinstall: %v\n%s", err, out)
		}
	}

	t.Log("step: krew upgrade")
	{
		publish(r2)
		if out := mustKrew("upgrade", "kyma", "--no-update-index"); !strings.Contains(out, "Upgraded plugin: kyma") {
			t.Errorf("krew upgrade said:\n%s", out)
		}
		// What the kubeconfig's exec stanza runs: the bare name, through PATH.
		if got, want := sh("command -v kubectl-kyma"), filepath.Join(krewBin, "kubectl-kyma"); got != want {
			t.Errorf("kubectl-kyma on PATH is %s, want Krew's link %s", got, want)
		}
		if got := sh("kubectl-kyma version --short"); got != "v0.0.2" {
			t.Errorf("kubectl-kyma version --short = %q after the upgrade, want v0.0.2", got)
		}
		if _, err := os.Stat(filepath.Join(root, "store", "kyma", "v0.0.1")); !os.IsNotExist(err) {
			t.Errorf("the old version's store folder is still there after the upgrade (%v)", err)
		}
		// krew list prints only names when its output is not a terminal; the version it
		// shows on one comes from the receipt.
		if out := mustKrew("list"); !hasLine(out, "kyma") {
			t.Errorf("krew list after the upgrade:\n%s", out)
		}
		var receipt struct {
			Spec struct {
				Version string `json:"version"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal([]byte(readText(t, filepath.Join(root, "receipts", "kyma.yaml"))), &receipt); err != nil || receipt.Spec.Version != "v0.0.2" {
			t.Errorf("krew's receipt after the upgrade: version %q (%v), want v0.0.2", receipt.Spec.Version, err)
		}
		// Without a cached token the next kubectl call makes a binding: the new front finds
		// its kyma-cli in the new store folder.
		if err := os.RemoveAll(filepath.Join(u.home, ".cache", "kubectl-kyma")); err != nil {
			t.Fatal(err)
		}
		before := emu.stats(t).BindingsCreated
		if out, err := getNS(); err != nil || strings.TrimSpace(out) != "namespace/default" {
			t.Errorf("kubectl through the kubeconfig after the upgrade: %v\n%s", err, out)
		}
		if after := emu.stats(t).BindingsCreated; after != before+1 {
			t.Errorf("kubectl after the upgrade made %d bindings, want 1 (the cache was emptied)", after-before)
		}
		if got := completions(t, u, ""); !slices.Contains(got, "kubeconfig") {
			t.Errorf("completion after the upgrade = %q, want kyma's subcommands", got)
		}
	}
}

// completions runs `kubectl __complete kyma ARGS...` (what the shell's kubectl completion
// runs for `kubectl kyma ...<TAB>`) and returns the completed words, without the
// descriptions and the directive.
func completions(t *testing.T, u *user, args ...string) []string {
	t.Helper()
	out, errOut, err := u.run(nil, "kubectl", append([]string{"__complete", "kyma"}, args...)...)
	if err != nil {
		t.Fatalf("kubectl __complete kyma %q: %v\n%s%s", args, err, out, errOut)
	}
	var words []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" || strings.HasPrefix(l, ":") {
			continue
		}
		w, _, _ := strings.Cut(l, "\t")
		words = append(words, w)
	}
	return words
}

// tarEntries lists a .tar.gz archive's regular files, failing the test on a file that
// should be executable and is not. (A zip is not read here: the e2e tests run on Linux.)
func tarEntries(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	tr := tar.NewReader(gz)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if h.Typeflag != tar.TypeReg {
			t.Errorf("%s holds %s, which is not a regular file", path, h.Name)
			continue
		}
		if strings.HasPrefix(h.Name, "kubectl") || strings.HasPrefix(h.Name, "kyma-cli") {
			if h.Mode&0o111 != 0o111 {
				t.Errorf("%s: %s has mode %o, want it executable", path, h.Name, h.Mode)
			}
		}
		names = append(names, h.Name)
	}
	slices.Sort(names)
	return names
}

func readText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// hasLine reports whether out has a line whose fields are exactly fields.
func hasLine(out string, fields ...string) bool {
	for _, l := range strings.Split(out, "\n") {
		if slices.Equal(strings.Fields(l), fields) {
			return true
		}
	}
	return false
}
