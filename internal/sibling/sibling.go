// Package sibling is what kubectl-kyma's executables know of each other. They ship
// together (one archive, one Krew plugin folder): kubectl-kyma, the launcher kubectl
// runs, hands calls to kyma-cli, the full command set; kyma-cli starts another kyma-cli
// for a background refresh; kubectl_complete-kyma runs kubectl-kyma. Each finds the
// other beside itself (Find), and the two that hand calls to each other check they are
// of one release (CheckHandover, CheckRelease).
//
// It links only the standard library and internal/version: the launcher, on the
// credential hot path, uses it.
package sibling

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/version"
)

// CLIName is the full command set's executable, without the .exe of Windows.
const CLIName = "kyma-cli"

// Find looks for the executable name (.exe added on Windows) of this release: beside
// the real path of this executable (Krew links kubectl-kyma into $KREW_ROOT/bin, and the
// files it installed stay in the plugin's versioned folder), then beside the path it
// was started as (a copy of kubectl_complete-kyma in Krew's bin folder sits beside
// Krew's link), and else on PATH, where kubectl itself would look.
func Find(name string) (string, bool) {
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if exe, err := os.Executable(); err == nil {
		dirs := []string{filepath.Dir(exe)}
		if real, err := filepath.EvalSymlinks(exe); err == nil && filepath.Dir(real) != dirs[0] {
			dirs = []string{filepath.Dir(real), dirs[0]}
		}
		for _, dir := range dirs {
			p := filepath.Join(dir, name)
			if _, err := os.Stat(p); err == nil {
				return p, true
			}
		}
	}
	p, err := exec.LookPath(name)
	return p, err == nil
}

// CLI finds kyma-cli (see Find).
func CLI() (string, error) {
	p, ok := Find(CLIName)
	if !ok {
		return "", errors.New("cannot find kyma-cli beside kubectl-kyma or on PATH: reinstall the plugin")
	}
	return p, nil
}

// VersionEnv carries kubectl-kyma's version to the kyma-cli it hands a call to: the
// two are one release, and a kyma-cli of another (an older one on PATH, say) may not
// know what this kubectl-kyma asks of it (--lock-fd), so every miss would fail. The
// name stays as releases before this package set it: a kyma-cli checks the variable an
// older kubectl-kyma sets.
const VersionEnv = "KUBECTL_KYMA_FRONT_VERSION"

// reinstall is the advice for two binaries of different releases.
const reinstall = "reinstall the plugin (kubectl krew reinstall kyma, or put kyma-cli of the same release beside kubectl-kyma)"

// CheckHandover is kyma-cli's half of the check: when kubectl-kyma handed the call
// over, their versions must be the same. It removes the variable, so the commands
// kyma-cli runs (kubectl kyma run) do not inherit it.
func CheckHandover() error {
	launcher, ok := os.LookupEnv(VersionEnv)
	if !ok {
		return nil // run directly, not through kubectl-kyma
	}
	_ = os.Unsetenv(VersionEnv)
	if launcher != version.Version {
		return fmt.Errorf("kubectl-kyma %s handed this call to kyma-cli %s, from another release: %s", launcher, version.Version, reinstall)
	}
	return nil
}

// CheckRelease is kubectl-kyma's half, for a kyma-cli at path found on PATH rather
// than beside it: one from before this check would not make its own. It asks that
// kyma-cli for its version, a process start that only this uncommon set-up pays.
func CheckRelease(path string) error {
	if beside(path) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "version", "--short").Output()
	got := strings.TrimSpace(string(out))
	if err != nil || got != version.Version {
		if got == "" {
			got = "of unknown version"
		}
		return fmt.Errorf("kubectl-kyma %s found kyma-cli %s at %s, from another release: %s", version.Version, got, path, reinstall)
	}
	return nil
}

// beside reports whether path is in the folder of this executable's real path.
func beside(path string) bool {
	exe, err := os.Executable()
	if err != nil {
		return false
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	return filepath.Dir(path) == filepath.Dir(exe)
}

// EnvExecInfo is what client-go sets for an exec credential plugin, after the
// kubeconfig's env: entries, so a kubeconfig can neither set nor clear it.
const EnvExecInfo = "KUBERNETES_EXEC_INFO"

// CheckCredentialOnly refuses every command but credential when kubectl started this
// process as a credential plugin (EnvExecInfo is set; args is os.Args). Otherwise a
// kubeconfig's exec args: could run another command in the CI job's environment, with
// its secrets: oidc trust with --github-api-url sends GITHUB_TOKEN to the URL given,
// run starts any program.
func CheckCredentialOnly(args []string) error {
	if os.Getenv(EnvExecInfo) == "" || len(args) > 1 && args[1] == "credential" {
		return nil
	}
	return errors.New("kubectl started kubectl-kyma as a credential plugin (" + EnvExecInfo + " is set), and then it runs only the credential command: the kubeconfig's exec args name another")
}
