package credential

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/gofrs/flock"

	"github.com/kubectl-kyma/kubectl-kyma/internal/privfile"
)

// DefaultLockTimeout bounds the wait for another plugin process making a binding: KEB
// gives up on a bind after 15 s, so a minute covers a slow service and a retry.
const DefaultLockTimeout = time.Minute

// BusyDeadline is how long a call whose cached token is still valid waits for another
// process's refresh before it hands that token out (for at most busyHandout): a good
// token never waits for a bind.
const BusyDeadline = 500 * time.Millisecond

// busyHandout bounds the expirationTimestamp of a token handed out while a refresh is in
// flight, so the client comes back soon for the new one.
const busyHandout = 30 * time.Second

// errBusy: the lock's wait timed out.
var errBusy = errors.New("refresh in flight")

// lock takes the entry's exclusive lock, a separate .lock file beside it (locking the
// entry itself would fight the rename that replaces it). The kernel drops the lock when
// its holder dies, so a crashed plugin never blocks the others.
func (c Cache) lock(ctx context.Context, k Key, timeout time.Duration) (unlock func(), err error) {
	path := c.path(k) + ".lock"
	if err := privfile.Touch(c.Dir, path); err != nil {
		return nil, err
	}
	l := flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDWR|privfile.NoFollow), flock.SetPermissions(0o600))
	if timeout <= 0 {
		timeout = DefaultLockTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ok, err := l.TryLockContext(ctx, 20*time.Millisecond)
	if !ok {
		if err == nil || errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("another kubectl-kyma process has held the lock %s for over %s: %w", path, timeout, errBusy)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { _ = l.Unlock() }, nil
}
