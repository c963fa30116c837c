//go:build !windows

package launcher

import (
	"os"
	"strconv"
	"syscall"
)

// execve replaces this process, so kubectl (or the shell) sees one process with the
// full CLI's exit code and signals.
func execve(path string, args []string) error {
	return syscall.Exec(path, append([]string{path}, args[1:]...), os.Environ())
}

// lockFlag hands the held lock to the full CLI: its descriptor survives exec (Go opens
// files close-on-exec, so that is turned off), and --lock-fd names it.
func lockFlag(lock *os.File) string {
	fd := int(lock.Fd())
	_, _, _ = syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_SETFD, 0)
	return "--lock-fd=" + strconv.Itoa(fd)
}

// passCaller leaves the arguments as they are: exec keeps this process's PID and
// parent, so the full CLI sees the same caller.
func passCaller(args []string) []string { return args }
