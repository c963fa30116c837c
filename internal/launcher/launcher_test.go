package launcher

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
)

// cacheAt points the hot path's cache at a fresh folder, as XDG_CACHE_HOME does.
func cacheAt(t *testing.T) credential.Cache {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", dir)
	t.Setenv("KUBERNETES_EXEC_INFO", "")
	t.Setenv("KUBECTL_KYMA_PROFILE", "")
	want, err := credential.DefaultDir()
	if err != nil || want != filepath.Join(dir, "kubectl-kyma") {
		t.Fatalf("DefaultDir with XDG_CACHE_HOME=%s: %q, %v", dir, want, err)
	}
	return credential.Cache{Dir: want}
}

// TestServeCachedHit: a fresh cached binding is printed by the launcher itself, with no
// full CLI to hand over to.
func TestServeCachedHit(t *testing.T) {
	cache := cacheAt(t)
	key := credential.Key{Profile: "dev", Environment: "env-1"}
	now := time.Now()
	if err := cache.Store(key, &credential.Entry{BindingID: "b1", Token: "token-1", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	served, lock := serveCached([]string{"--profile", "dev", "--environment", "env-1"}, &out)
	if !served || lock != nil {
		t.Fatalf("serveCached: served %v, lock %v; want a hit", served, lock)
	}
	if !strings.Contains(out.String(), `"token":"token-1"`) || !strings.Contains(out.String(), `"kind":"ExecCredential"`) {
		t.Errorf("serveCached printed %q, want an ExecCredential with the cached token", out.String())
	}
}

// TestServeCachedLeavesTheRestToTheFullCLI: what the launcher does not serve (no
// profile, an unknown flag, a miss) prints nothing, so the full CLI answers it.
func TestServeCachedLeavesTheRestToTheFullCLI(t *testing.T) {
	cacheAt(t)
	for name, args := range map[string][]string{
		"no profile":   {"--environment", "env-1"},
		"unknown flag": {"--profile", "dev", "--environment", "env-1", "--bogus"},
		"no entry":     {"--profile", "dev", "--environment", "env-2"},
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			served, lock := serveCached(args, &out)
			if lock != nil {
				lock.Close()
			}
			if served || out.Len() > 0 {
				t.Errorf("serveCached(%q): served %v, printed %q; want neither", args, served, out.String())
			}
		})
	}
}
