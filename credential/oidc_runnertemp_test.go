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

func runnerTempEnv(v string) func(string) (string, bool) {
	return func(k string) (string, bool) { return v, k == EnvRunnerTemp && v != "" }
}

// On a GitHub Actions runner the OIDC cache lives in the job's RUNNER_TEMP, which the
// runner empties after the job, so no ID token outlives its job there. Not on Windows,
// whose RUNNER_TEMP lies outside the user's private profile (see
// TestOIDCCacheOnWindowsStaysInTheProfile).
func TestOIDCCacheLivesInRunnerTemp(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows keeps the cache in %LOCALAPPDATA%: TestOIDCCacheOnWindowsStaysInTheProfile")
	}
	home := filepath.Join(t.TempDir(), "cache")
	tmp := t.TempDir()
	for v, want := range map[string]string{tmp: filepath.Join(tmp, "kubectl-kyma"), "": home, "relative/tmp": home} {
		if got := OIDCDir(home, runnerTempEnv(v)); got != want {
			t.Errorf("RUNNER_TEMP=%q: OIDCDir = %s, want %s", v, got, want)
		}
	}

	now := time.Now()
	var calls atomic.Int32
	in := githubInput(&now)
	c := OIDCCache{Dir: OIDCDir(home, runnerTempEnv(tmp))}
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

// A RUNNER_TEMP that privfile would refuse as the cache's parent (a `container:` job
// running as root, whose RUNNER_TEMP is a bind mount of the runner user's; or one others
// may write) is passed over for the home cache: the job fetches once and hits after,
// with no warning, instead of fetching, and warning, on every call.
func TestOIDCCacheFallsBackHomeFromARunnerTempItCannotUse(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows never uses RUNNER_TEMP: TestOIDCCacheOnWindowsStaysInTheProfile")
	}
	cases := map[string]func(t *testing.T, tmp string){
		"writable by others": func(t *testing.T, tmp string) {
			if err := os.Chmod(tmp, 0o777); err != nil {
				t.Fatal(err)
			}
		},
	}
	if os.Geteuid() == 0 {
		// The container job as root: RUNNER_TEMP (/__w/_temp) belongs to the runner
		// user, uid 1001 on GitHub's hosted runners, mode 0755.
		cases["another user's, as root"] = func(t *testing.T, tmp string) {
			if err := os.Chown(tmp, 1001, 1001); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, prepare := range cases {
		t.Run(name, func(t *testing.T) {
			home := filepath.Join(t.TempDir(), "cache")
			tmp := filepath.Join(t.TempDir(), "_temp")
			if err := os.Mkdir(tmp, 0o755); err != nil {
				t.Fatal(err)
			}
			prepare(t, tmp)
			if got := OIDCDir(home, runnerTempEnv(tmp)); got != home {
				t.Errorf("OIDCDir = %s, want the home cache %s", got, home)
			}
			now := time.Now()
			var calls atomic.Int32
			var stderr bytes.Buffer
			in := githubInput(&now)
			in.Stderr = &stderr
			c := OIDCCache{Dir: OIDCDir(home, runnerTempEnv(tmp))}
			for i := 0; i < 3; i++ {
				if err := c.Do(context.Background(), in, countingFetcher(t, &now, &calls), &bytes.Buffer{}); err != nil {
					t.Fatal(err)
				}
			}
			if n := calls.Load(); n != 1 || stderr.Len() != 0 {
				t.Errorf("3 calls fetched %d times, stderr %q; want one fetch and no warning", n, stderr.String())
			}
			if _, err := os.Stat(filepath.Join(tmp, "kubectl-kyma")); !os.IsNotExist(err) {
				t.Errorf("a folder was made in the refused RUNNER_TEMP: %v", err)
			}
		})
	}
}

// On Windows the cache stays in the user's profile (%LOCALAPPDATA%), whose ACL keeps
// other users out, whatever RUNNER_TEMP says: a self-hosted runner's RUNNER_TEMP
// (C:\actions-runner\_work\_temp) inherits the drive's ACL, under which every local
// user may read, and privfile sets no ACL.
func TestOIDCCacheOnWindowsStaysInTheProfile(t *testing.T) {
	if runtime.GOOS != "windows" {
		t.Skip("RUNNER_TEMP is used off Windows: TestOIDCCacheLivesInRunnerTemp")
	}
	home := filepath.Join(t.TempDir(), "cache")
	if got := OIDCDir(home, runnerTempEnv(t.TempDir())); got != home {
		t.Errorf("OIDCDir = %s, want the profile's cache %s", got, home)
	}
}
