// Package filelock takes the advisory locks that keep two kubectl-kyma processes from
// writing one file at once: an exclusive lock on a separate lock file beside it (flock
// on Unix, LockFileEx on Windows, through github.com/gofrs/flock). The kernel drops a
// lock when its holder dies, so a crashed process never blocks the next one.
//
// A lock file is opened without following a link (privfile.NoFollow) and created 0600:
// nobody may get this process to create or truncate a file of their choosing through a
// link. Callers make sure the file is a regular file of theirs first (privfile.Touch
// for a file under the project's folders, privfile.TouchBeside for one beside a file in
// a folder of the user's choosing).
//
// It imports only the standard library, gofrs/flock and privfile, so the credential
// helper's hot path may use it.
package filelock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/gofrs/flock"

	"github.com/kubectl-kyma/kubectl-kyma/internal/privfile"
)

// ErrTimeout matches the error Lock returns when another process held the lock for
// the whole wait.
var ErrTimeout = errors.New("timed out waiting for a file lock")

// retryDelay is how often Lock tries again while another process holds the lock.
const retryDelay = 10 * time.Millisecond

// timeoutError says which lock another process held, and for how long this one waited.
type timeoutError struct {
	path    string
	timeout time.Duration
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("another process has held the lock %s for over %s", e.path, e.timeout)
}

func (e *timeoutError) Is(target error) bool { return target == ErrTimeout }

// open is the lock at path, opened for writing and created 0600 when missing, never
// through a link.
func open(path string) *flock.Flock {
	return flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDWR|privfile.NoFollow), flock.SetPermissions(0o600))
}

// Lock takes the exclusive lock on the file at path, waiting for another holder for at
// most timeout (a timeout of zero or less tries once) or until ctx ends. The error of a
// wait that ran out names the lock and matches ErrTimeout. unlock releases the lock.
func Lock(ctx context.Context, path string, timeout time.Duration) (unlock func(), err error) {
	l := open(path)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ok, err := l.TryLockContext(ctx, retryDelay)
	if !ok {
		if err == nil || errors.Is(err, context.DeadlineExceeded) {
			return nil, &timeoutError{path, timeout}
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { _ = l.Unlock() }, nil
}

// TryLock takes the exclusive lock on the file at path without waiting; ok is false
// when another process holds it. unlock releases the lock.
func TryLock(path string) (unlock func(), ok bool, err error) {
	return try(open(path))
}

// TryLockExisting is TryLock for a lock file that must exist already, opened read-only:
// it probes another process's lock and creates nothing. With the lock taken (ok), the
// caller may act as the holder that is known to be gone, then unlock.
func TryLockExisting(path string) (unlock func(), ok bool, err error) {
	return try(flock.New(path, flock.SetFlag(os.O_RDONLY|privfile.NoFollow)))
}

func try(l *flock.Flock) (unlock func(), ok bool, err error) {
	ok, err = l.TryLock()
	if err != nil {
		return nil, false, fmt.Errorf("lock %s: %w", l.Path(), err)
	}
	if !ok {
		return nil, false, nil
	}
	return func() { _ = l.Unlock() }, true, nil
}
