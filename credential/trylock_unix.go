//go:build !windows

package credential

import (
	"os"
	"syscall"
)

// tryLock opens path and takes an exclusive flock without waiting: the same lock that
// gofrs/flock takes for the foreground refresh. It returns the open, locked file.
func tryLock(path string) (*os.File, bool) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, false
	}
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		f.Close()
		return nil, false
	}
	return f, true
}
