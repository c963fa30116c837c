//go:build !windows

package credential

import (
	"context"
	"os"
	"syscall"

	"github.com/kubectl-kyma/kubectl-kyma/internal/privfile"
)

// A flock belongs to the open file, so a child process (or the program exec replaces
// this one with) inherits a lock that is already held: the hit hands the locked file
// to the background refresh, and the launcher hands it to the full CLI on a miss.

// tryLock opens path and takes an exclusive flock without waiting: the same lock that
// gofrs/flock takes for the foreground refresh. It returns the open, locked file.
func tryLock(root, path string) (*os.File, bool) {
	f, err := privfile.OpenFile(root, path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, false
	}
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		f.Close()
		return nil, false
	}
	return f, true
}

// waitLock takes the lock at path, waiting in the kernel (a herd of waiters polling
// would take the CPU from the one process making the binding). It returns nil when ctx
// ends first, or when a folder on the way is not private (privfile).
func waitLock(ctx context.Context, root, path string) *os.File {
	f, err := privfile.OpenFile(root, path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }()
	select {
	case err := <-done:
		if err != nil {
			f.Close()
			return nil
		}
		return f
	case <-ctx.Done():
		// Should the lock still come, drop it at once rather than hold it for good.
		go func() {
			<-done
			f.Close()
		}()
		return nil
	}
}

// BackgroundLock is the entry's lock for the background refresh a hit started: the hit
// passed it, held, as file descriptor 3.
func (c Cache) BackgroundLock(ctx context.Context, k Key) *os.File {
	return os.NewFile(3, "lock")
}
