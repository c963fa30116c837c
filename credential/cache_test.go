package credential

import (
	"path/filepath"
	"strings"
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

func TestCheckProfileName(t *testing.T) {
	for name, valid := range map[string]bool{
		"default": true, "ci-team_2.prod": true, "A": true, strings.Repeat("x", 63): true,
		"": false, ".": false, "..": false, "../../x": false, "a/b": false, `a\b`: false,
		".hidden": false, "ci@team": false, "a b": false, "é": false, strings.Repeat("x", 64): false,
	} {
		if err := CheckProfileName(name); (err == nil) != valid {
			t.Errorf("CheckProfileName(%q) = %v, want valid %v", name, err, valid)
		}
	}
	// A name an earlier version stored stays one element inside its folder.
	for _, name := range []string{"..", "../../x", "a/b", "ci@team"} {
		if p, want := ProfilePath("/c", "credentials", name), filepath.Join("/c", "credentials"); filepath.Dir(p) != want {
			t.Errorf("ProfilePath(%q) = %s, outside %s", name, p, want)
		}
	}
}
