package credential

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/filelock"
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
	if timeout <= 0 {
		timeout = DefaultLockTimeout
	}
	unlock, err = filelock.Lock(ctx, path, timeout)
	if errors.Is(err, filelock.ErrTimeout) {
		return nil, fmt.Errorf("another kubectl-kyma process has held the lock %s for over %s: %w", path, timeout, errBusy)
	}
	return unlock, err
}
