package launcher

import (
	"errors"
	"os"
	"os/exec"
	"runtime"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
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
