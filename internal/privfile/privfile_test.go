//go:build !windows

package privfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMkdirAllMakesPrivateFolders(t *testing.T) {
	root := filepath.Join(t.TempDir(), "cache", "kubectl-kyma")
	dir := filepath.Join(root, "credentials", "dev")
	if err := MkdirAll(root, dir); err != nil {
		t.Fatal(err)
	}
	for p := dir; p != filepath.Dir(filepath.Dir(root)); p = filepath.Dir(p) {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o700 {
			t.Errorf("%s: mode %04o, want 0700", p, got)
		}
	}
	if err := MkdirAll(root, filepath.Join(root, "..", "elsewhere")); err == nil {
		t.Error("MkdirAll made a folder outside its root")
	}
}

func TestUnsafeFoldersAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		plant      func(t *testing.T, root string)
	}{
		{"writable by others", "others can write to it (mode 0777)", func(t *testing.T, root string) {
			mkdir(t, root)
			if err := os.Chmod(root, 0o777); err != nil {
				t.Fatal(err)
			}
		}},
		{"group-writable below the root", "others can write to it (mode 0770)", func(t *testing.T, root string) {
			mkdir(t, filepath.Join(root, "credentials"))
			if err := os.Chmod(filepath.Join(root, "credentials"), 0o770); err != nil {
				t.Fatal(err)
			}
		}},
		{"a link", "it is a link", func(t *testing.T, root string) {
			target := filepath.Join(t.TempDir(), "elsewhere")
			mkdir(t, target)
			if err := os.Symlink(target, root); err != nil {
				t.Fatal(err)
			}
		}},
		{"a link below the root", "it is a link", func(t *testing.T, root string) {
			mkdir(t, root)
			if err := os.Symlink(t.TempDir(), filepath.Join(root, "credentials")); err != nil {
				t.Fatal(err)
			}
		}},
		{"another user's", "it belongs to uid 65534, not to you", func(t *testing.T, root string) {
			if os.Geteuid() != 0 {
				t.Skip("only root can give a folder to another user")
			}
			mkdir(t, root)
			if err := os.Chown(root, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "kubectl-kyma")
			tc.plant(t, root)
			dir := filepath.Join(root, "credentials", "dev")
			err := MkdirAll(root, dir)
			var unsafe *UnsafeError
			if !errors.As(err, &unsafe) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("MkdirAll = %v, want an UnsafeError saying %q", err, tc.want)
			}
			if _, err := os.Lstat(filepath.Join(root, "credentials", "dev")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a folder was made inside a refused one: %v", err)
			}
			if err := WriteAtomic(root, filepath.Join(dir, "e.json"), []byte("secret")); !errors.As(err, &unsafe) {
				t.Errorf("WriteAtomic = %v, want an UnsafeError", err)
			}
		})
	}
}

func TestParentOthersCanWriteIsRefused(t *testing.T) {
	parent := filepath.Join(t.TempDir(), "shared")
	mkdir(t, parent)
	if err := os.Chmod(parent, 0o777); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(parent, "kubectl-kyma")
	if err := MkdirAll(root, root); err == nil || !strings.Contains(err.Error(), "could replace kubectl-kyma") {
		t.Fatalf("MkdirAll under a 0777 parent = %v, want a refusal", err)
	}
	if err := os.Chmod(parent, os.ModeSticky|0o777); err != nil { // sticky, as /tmp
		t.Fatal(err)
	}
	if err := MkdirAll(root, root); err != nil {
		t.Fatalf("MkdirAll under a sticky parent: %v", err)
	}
}

// Links planted where the project keeps a file are never written through.
func TestLinksAreNotFollowed(t *testing.T) {
	root := filepath.Join(t.TempDir(), "kubectl-kyma")
	mkdir(t, root)
	victim := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(victim, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"lock", "atomic", "read"} {
		if err := os.Symlink(victim, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}

	f, err := OpenFile(root, filepath.Join(root, "lock"), os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatalf("OpenFile over a link: %v", err)
	}
	if _, err := f.WriteString("1234\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := WriteAtomic(root, filepath.Join(root, "atomic"), []byte("new")); err != nil {
		t.Fatal(err)
	}
	_, err = ReadFile(root, filepath.Join(root, "read"))
	var unsafe *UnsafeError
	if !errors.As(err, &unsafe) {
		t.Errorf("ReadFile of a link = %v, want an UnsafeError", err)
	}
	if got, _ := os.ReadFile(victim); string(got) != "precious" {
		t.Errorf("the link's target now holds %q", got)
	}
	for _, name := range []string{"lock", "atomic"} {
		if fi, err := os.Lstat(filepath.Join(root, name)); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("%s: %v, %v; want a regular file in place of the link", name, fi, err)
		}
	}
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
}

func TestGroupWritableParentIsAccepted(t *testing.T) {
	parent := filepath.Join(t.TempDir(), "home")
	mkdir(t, parent)
	if err := os.Chmod(parent, 0o775); err != nil { // umask 002 with a per-user group
		t.Fatal(err)
	}
	if err := MkdirAll(filepath.Join(parent, "kubectl-kyma"), filepath.Join(parent, "kubectl-kyma", "tokens")); err != nil {
		t.Fatalf("MkdirAll under a group-writable parent: %v", err)
	}
}

func TestTouchBesideDoesNotFollowLinks(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(victim, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(dir, "config.kubectl-kyma.lock")
	if err := os.Symlink(victim, lock); err != nil {
		t.Fatal(err)
	}
	if err := TouchBeside(lock); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(lock); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("lock %v, %v: want a regular file in place of the link", fi, err)
	}
	if got, _ := os.ReadFile(victim); string(got) != "precious" {
		t.Errorf("the link's target now holds %q", got)
	}
}
