package credential

import (
	"context"
	"os"
	"time"

	"golang.org/x/sys/windows"

	"github.com/kubectl-kyma/kubectl-kyma/internal/privfile"
)

// The entry's lock on Windows is LockFileEx on the first byte of the .lock file, the
// range gofrs/flock takes for the foreground refresh, so the two exclude each other.
//
// A Windows byte-range lock belongs to the process that took it, and Windows releases
// it when that process closes its handle or ends; a child that inherits the handle does
// not inherit the lock (Wine keeps the same rule: its server drops a process's locks
// when that process closes the file or exits). So the lock is not handed to a child on
// Windows; instead:
//   - on a miss, the launcher keeps holding the lock while its child, the full CLI,
//     makes the binding (`--lock-held`): the launcher waits for the child anyway, as
//     Windows has no exec;
//   - a refresh ahead is started while the hit holds the lock, and the new process
//     waits for the lock itself (BackgroundLock): Windows grants a waiting LockFileEx
//     when the holder releases it, which the hit does as it exits. Should another call
//     take the lock in between, it starts a second refresh process, which waits its
//     turn, finds the entry refreshed and makes no binding (Refresher.Background reads
//     the entry again under the lock).
// Both are proven under Wine 8 by the Windows tests (make test-windows).

// backgroundWait bounds a background refresh's wait for the lock that the hit which
// started it still holds for a moment; longer means another refresh is under way.
const backgroundWait = 10 * time.Second

// lockRange locks the entry's lock file: exclusive, and without waiting when
// immediately is set.
func lockRange(f *os.File, immediately bool) error {
	flags := uint32(windows.LOCKFILE_EXCLUSIVE_LOCK)
	if immediately {
		flags |= windows.LOCKFILE_FAIL_IMMEDIATELY
	}
	return windows.LockFileEx(windows.Handle(f.Fd()), flags, 0, 1, 0, new(windows.Overlapped))
}

// tryLock opens path and takes the entry's lock without waiting. It returns the open,
// locked file.
func tryLock(root, path string) (*os.File, bool) {
	f, err := privfile.OpenFile(root, path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, false
	}
	if lockRange(f, true) != nil {
		f.Close()
		return nil, false
	}
	return f, true
}

// waitLock takes the lock at path, waiting in the kernel (LockFileEx blocks until the
// holder releases it). It returns nil when ctx ends first.
func waitLock(ctx context.Context, root, path string) *os.File {
	f, err := privfile.OpenFile(root, path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- lockRange(f, false) }()
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

// BackgroundLock is the entry's lock for the background refresh a hit started: this
// process waits for it, as the hit could not hand its own over (see above). Nil means
// another process holds it for longer: a refresh is already under way.
func (c Cache) BackgroundLock(ctx context.Context, k Key) *os.File {
	ctx, cancel := context.WithTimeout(ctx, backgroundWait)
	defer cancel()
	return waitLock(ctx, c.Dir, c.path(k)+".lock")
}
