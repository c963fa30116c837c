// Package privfile writes and checks files that hold secrets (client secrets, tokens):
// 0600 files in 0700 folders, replaced atomically. It imports only the standard library,
// so the credential helper's hot path can use it.
package privfile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// MkdirAll makes dir and its missing parents 0700.
func MkdirAll(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	return nil
}

// WriteAtomic writes data to path through a temporary file in the same folder and a
// rename, 0600, creating the folder 0700: a reader, or a crash at any point, sees the
// old file or the new one, never a part of either.
func WriteAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := MkdirAll(dir); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err = tmp.Write(data); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = replace(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Check refuses a secret-holding file that others may read or write.
func Check(path string, fi fs.FileInfo) error {
	if runtime.GOOS == "windows" {
		return nil // modes do not describe Windows ACLs
	}
	if mode := fi.Mode().Perm(); mode&0o077 != 0 {
		return fmt.Errorf("%s holds secrets but others can access it (mode %04o): run chmod 600 %s", path, mode, path)
	}
	return nil
}
