package front

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/version"
)

// versionEnv carries kubectl-kyma's version to the kyma-cli it hands a call to: the
// two are one release, and a kyma-cli of another (an older one on PATH, say) may not
// know what this kubectl-kyma asks of it (--lock-fd), so every miss would fail.
const versionEnv = "KUBECTL_KYMA_FRONT_VERSION"

// reinstall is the advice for two binaries of different releases.
const reinstall = "reinstall the plugin (kubectl krew reinstall kyma, or put kyma-cli of the same release beside kubectl-kyma)"

// CheckHandover is kyma-cli's half of the check: when kubectl-kyma handed the call
// over, their versions must be the same. It removes the variable, so the commands
// kyma-cli runs (kubectl kyma run) do not inherit it.
func CheckHandover() error {
	front, ok := os.LookupEnv(versionEnv)
	if !ok {
		return nil // run directly, not through kubectl-kyma
	}
	_ = os.Unsetenv(versionEnv)
	if front != version.Version {
		return fmt.Errorf("kubectl-kyma %s handed this call to kyma-cli %s, from another release: %s", front, version.Version, reinstall)
	}
	return nil
}

// checkFullCLI is kubectl-kyma's half, for a kyma-cli found on PATH rather than beside
// it: one from before this check would not make its own. It asks that kyma-cli for its
// version, a process start that only this uncommon set-up pays.
func checkFullCLI(path string) error {
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
