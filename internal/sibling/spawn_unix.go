//go:build !windows

package sibling

import (
	"os"
	"os/exec"
	"syscall"

	"github.com/kubectl-kyma/kubectl-kyma/internal/version"
)

// SpawnRefresh starts `kyma-cli credential --background-refresh ARGS` detached: in its
// own session, with no standard streams (kubectl waits for the plugin's stdout to
// close, so the child must not hold it), inheriting the locked lock file as fd 3. It
// outlives this process and is reaped by init. Both the launcher (on a cache hit) and
// kyma-cli (on a hit it served) start it.
func SpawnRefresh(args []string, lock *os.File) error {
	path, err := CLI()
	if err != nil {
		return err
	}
	cmd := exec.Command(path, append([]string{"credential", "--background-refresh"}, args...)...)
	cmd.ExtraFiles = []*os.File{lock}
	cmd.Env = append(os.Environ(), VersionEnv+"="+version.Version)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	return cmd.Process.Release()
}
