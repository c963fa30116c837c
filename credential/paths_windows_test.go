package credential

import (
	"os"
	"path/filepath"
	"testing"
)

// TestDefaultDirIsUnderLocalAppData: on Windows the cache is where adrg/xdg puts it
// and Windows users look for it, %LOCALAPPDATA%\cache\kubectl-kyma.
func TestDefaultDirIsUnderLocalAppData(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "")
	local := os.Getenv("LOCALAPPDATA")
	if local == "" {
		t.Fatal("LOCALAPPDATA is not set")
	}
	got, err := DefaultDir()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(local, "cache", "kubectl-kyma"); got != want {
		t.Errorf("DefaultDir() = %s, want %s", got, want)
	}
}
