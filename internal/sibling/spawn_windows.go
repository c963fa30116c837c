package sibling

import (
	"os"
	"os/exec"
	"syscall"

	"github.com/kubectl-kyma/kubectl-kyma/internal/version"
)

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
	path, err := CLI()
	if err != nil {
		return err
	}
	cmd := exec.Command(path, append([]string{"credential", "--background-refresh"}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: createNewProcessGroup | detachedProcess}
	cmd.Env = append(os.Environ(), VersionEnv+"="+version.Version) // see CheckHandover
	if err := cmd.Start(); err != nil {
		return err
	}
	return cmd.Process.Release()
}
