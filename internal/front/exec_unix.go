//go:build !windows

package front

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"github.com/kubectl-kyma/kubectl-kyma/internal/version"
)

// execve replaces this process, so kubectl (or the shell) sees one process with the
// full CLI's exit code and signals.
func execve(path string, args []string) error {
	return syscall.Exec(path, append([]string{path}, args[1:]...), os.Environ())
}

// SpawnRefresh starts `kyma-cli credential --background-refresh ARGS` detached: in its
// own session, with no standard streams (kubectl waits for the plugin's stdout to
// close, so the child must not hold it), inheriting the locked lock file as fd 3. It
// outlives this process and is reaped by init.
func SpawnRefresh(args []string, lock *os.File) error {
	path, err := fullCLI()
	if err != nil {
		return err
	}
	cmd := exec.Command(path, append([]string{"credential", "--background-refresh"}, args...)...)
	cmd.ExtraFiles = []*os.File{lock}
	cmd.Env = append(os.Environ(), versionEnv+"="+version.Version)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	return cmd.Process.Release()
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
