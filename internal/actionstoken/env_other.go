//go:build !linux

package actionstoken

// parentEnv: only Linux shows a process another's environment in a file; macOS's
// sysctl and Windows' process memory would need more than this check is worth where
// shared runners are rare, so the README says the check runs on Linux only.
func parentEnv() (map[string]string, string, error) { return nil, "", ErrNoParentEnv }
