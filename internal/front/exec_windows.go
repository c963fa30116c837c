package front

import (
	"errors"
	"os"
	"os/exec"
)

// execve runs the full CLI as a child (Windows has no exec) and exits with its code.
func execve(path string, args []string) error {
	cmd := exec.Command(path, args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		os.Exit(exit.ExitCode())
	}
	return err
}

// SpawnRefresh is never called on Windows: the credential package does not hand a lock
// to a child there.
func SpawnRefresh(args []string, lock *os.File) error {
	return errors.New("background refresh is not supported on Windows")
}

// inherit is never called on Windows: credential.WaitLock returns no lock there.
func inherit(lock *os.File) int { return -1 }
