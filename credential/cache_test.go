package credential

import (
	"path/filepath"
	"testing"

	"github.com/adrg/xdg"
)

// DefaultDir re-implements adrg/xdg's cache folder to keep xdg's init off the hot path:
// this keeps the two in step.
func TestDefaultDirMatchesXDG(t *testing.T) {
	for _, env := range []string{"", "/tmp/xdg-cache-test"} {
		t.Setenv("XDG_CACHE_HOME", env)
		xdg.Reload()
		got, err := DefaultDir()
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(xdg.CacheHome, "kubectl-kyma"); got != want {
			t.Errorf("XDG_CACHE_HOME=%q: DefaultDir() = %s, xdg says %s", env, got, want)
		}
	}
}
