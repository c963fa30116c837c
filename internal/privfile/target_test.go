//go:build !windows

package privfile

import (
	"os"
	"path/filepath"
	"testing"
)

// A kubeconfig is not written into a folder anyone can write (they could swap it)
// unless the sticky bit keeps them from it.
func TestCheckTarget(t *testing.T) {
	for _, tc := range []struct {
		mode os.FileMode
		ok   bool
	}{
		{0o700, true},
		{0o755, true},
		{0o777, false},
		{0o777 | os.ModeSticky, true},
	} {
		dir := filepath.Join(t.TempDir(), "kube")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, tc.mode); err != nil {
			t.Fatal(err)
		}
		err := CheckTarget(filepath.Join(dir, "config"))
		if (err == nil) != tc.ok {
			t.Errorf("folder %v: CheckTarget = %v, want ok %v", tc.mode, err, tc.ok)
		}
	}
}
