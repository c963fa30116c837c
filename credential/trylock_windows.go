package credential

import "os"

// tryLock is not supported on Windows, where a lock cannot be handed to a child
// process: there the cached token is refreshed in the foreground, at the margin.
func tryLock(path string) (*os.File, bool) { return nil, false }
