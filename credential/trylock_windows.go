package credential

import (
	"context"
	"os"
)

// lockHandover is off: a Windows lock cannot be handed to another process.
const lockHandover = false

// tryLock is not supported on Windows, where a lock cannot be handed to a child
// process: there the cached token is refreshed in the foreground, at the margin.
func tryLock(path string) (*os.File, bool) { return nil, false }

// waitLock is never called on Windows (lockHandover is off).
func waitLock(ctx context.Context, path string) *os.File { return nil }
