package credential

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// On a GitHub Actions runner the OIDC cache lives in the job's RUNNER_TEMP, which the
// runner empties after the job, so no ID token outlives its job there.
func TestOIDCCacheLivesInRunnerTemp(t *testing.T) {
	home := filepath.Join(t.TempDir(), "cache")
	tmp := t.TempDir()
	env := func(v string) func(string) (string, bool) {
		return func(k string) (string, bool) { return v, k == EnvRunnerTemp && v != "" }
	}
	for v, want := range map[string]string{tmp: filepath.Join(tmp, "kubectl-kyma"), "": home, "relative/tmp": home} {
		if got := OIDCDir(home, env(v)); got != want {
			t.Errorf("RUNNER_TEMP=%q: OIDCDir = %s, want %s", v, got, want)
		}
	}

	now := time.Now()
	var calls atomic.Int32
	in := githubInput(&now)
	c := OIDCCache{Dir: OIDCDir(home, env(tmp))}
	if err := c.Do(context.Background(), in, countingFetcher(t, &now, &calls), &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	entries, _ := filepath.Glob(filepath.Join(tmp, "kubectl-kyma", "oidc", "github-*.json"))
	if len(entries) != 1 {
		t.Fatalf("entries under RUNNER_TEMP: %v", entries)
	}
	if _, err := os.Stat(home); !os.IsNotExist(err) {
		t.Errorf("the home cache folder was made too: %v", err)
	}
	// Windows has no mode bits to check (privfile leaves the folders to their ACL).
	if runtime.GOOS == "windows" {
		return
	}
	for _, p := range []string{filepath.Join(tmp, "kubectl-kyma"), filepath.Join(tmp, "kubectl-kyma", "oidc")} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v, %v; want a 0700 folder", p, fi.Mode(), err)
		}
	}
	// The same checks as for the home cache: a folder others can write is not used.
	if err := os.Chmod(filepath.Join(tmp, "kubectl-kyma"), 0o777); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	in.Stderr = &stderr
	if ok, _ := c.Hit(in, &bytes.Buffer{}); ok {
		t.Error("an entry in a folder others can write was handed out")
	}
}
