package e2e

import (
	"os"
	"path/filepath"
	"strings"
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
	job := newRunner(t, emu, jobEnv(t, emu))
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
