package front

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"syscall"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/version"
)

// execve runs the full CLI as a child (Windows has no exec) and exits with its code.
func execve(path string, args []string) error {
	cmd := exec.Command(path, args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	runtime.KeepAlive(heldForChild) // the lock a miss took is held until the child has run
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		os.Exit(exit.ExitCode())
	}
	return err
}

// Process creation flags (winbase.h) for a refresh that outlives kubectl: no console,
// and no Ctrl+C from the console kubectl runs in.
const (
	createNewProcessGroup = 0x00000200
	detachedProcess       = 0x00000008
)

// SpawnRefresh starts `kyma-cli credential --background-refresh ARGS` detached, with no
// standard streams (client-go waits for the plugin's stdout to close, so the child must
// not hold it; Go lets a child inherit only the handles it is given). The lock, held by
// the caller, is not passed: the child waits for it and gets it when the caller exits
// (see credential.Cache.BackgroundLock).
func SpawnRefresh(args []string, lock *os.File) error {
	path, err := fullCLI()
	if err != nil {
		return err
	}
	cmd := exec.Command(path, append([]string{"credential", "--background-refresh"}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: createNewProcessGroup | detachedProcess}
	cmd.Env = append(os.Environ(), versionEnv+"="+version.Version) // see CheckHandover
	if err := cmd.Start(); err != nil {
		return err
	}
	return cmd.Process.Release()
}

// heldForChild keeps the lock a miss took reachable while the full CLI runs: the
// garbage collector would otherwise close the file, and with it release the lock.
var heldForChild *os.File

// lockFlag tells the full CLI that this process holds the entry's lock for it: a
// Windows lock belongs to the process that took it and cannot be handed over, but
// this process waits for the child (execve) and so holds the lock exactly as long as
// the child runs, and Windows releases it should either die.
func lockFlag(lock *os.File) string {
	heldForChild = lock
	return "--lock-held"
}

// passCaller tells the full CLI who called: it runs as this process's child, so its
// own parent is this process, not the kubectl whose refused token it must recognise.
func passCaller(args []string) []string {
	return append([]string{args[0], args[1], "--caller=" + credential.Caller()}, args[2:]...)
}
