// Package front is the kubectl-kyma executable: the one kubectl starts, from PATH, for
// `kubectl kyma ...` and, through a kubeconfig's exec stanza, before every kubectl call
// to a Kyma cluster.
//
// Every Go package linked into a binary runs its init work on every start. The full
// command set links cobra, cli-runtime and client-go, whose inits cost several times a
// bare Go program's start (docs/benchmarks.md). So this binary links only the standard
// library and package credential: it serves a credential cache hit itself, and hands
// everything else (every other command, and a cache miss) to kyma-cli with exec, which
// keeps the PID, the arguments, the environment and the standard streams.
package front

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/version"
)

// Main runs kubectl-kyma with args (os.Args) and returns the exit code.
func Main(args []string) int {
	if len(args) > 1 && args[1] == "credential" {
		served, lock := serveCached(args[2:], os.Stdout)
		if served {
			return 0
		}
		if lock != nil {
			// The full CLI makes the binding under the lock this process holds.
			args = append([]string{args[0], "credential", lockFlag(lock)}, args[2:]...)
		}
		args = passCaller(args)
	}
	return handOver(args)
}

// serveCached is the credential cache-hit path. Anything it does not understand, and
// every miss, goes to the full CLI, which reports errors properly. A miss waits for the
// entry's lock and reads the cache again: when many kubectl processes miss at once, one
// full CLI makes the binding and the others are answered here. It returns the lock,
// held, when the miss is this process's to resolve.
func serveCached(args []string, stdout io.Writer) (bool, *os.File) {
	a, err := credential.ParseArgs(args)
	if err == nil && a.OIDC.Source != "" {
		return serveOIDC(a, stdout)
	}
	if err != nil || a.Environment == "" || credential.ValidAhead(a.Ahead) != nil {
		return false, nil // the full CLI says what is wrong
	}
	profile := a.Profile
	if profile == "" {
		profile = os.Getenv("KUBECTL_KYMA_PROFILE")
	}
	if profile == "" || credential.CheckProfileName(profile) != nil {
		return false, nil // the full CLI knows the current profile, and explains a bad name
	}
	in, err := a.Input(os.Getenv("KUBERNETES_EXEC_INFO"))
	if err != nil {
		return false, nil
	}
	in.Key.Profile = profile
	dir, err := credential.DefaultDir()
	if err != nil {
		return false, nil
	}
	in.Caller, in.Now, in.Stderr = credential.Caller(), time.Now, os.Stderr
	in.Spawn = func(lock *os.File) error { return SpawnRefresh(a.Render(), lock) }
	cache := credential.Cache{Dir: dir}
	if ok, err := cache.Hit(in, stdout); ok {
		return err == nil, nil
	}
	served, lock, err := cache.Miss(context.Background(), in, stdout)
	if served {
		return err == nil, nil
	}
	return false, lock
}

// handOver replaces this process with kyma-cli, found beside this executable (where
// make build and Krew put it) or else on PATH.
func handOver(args []string) int {
	path, err := fullCLI()
	if err == nil {
		err = checkFullCLI(path)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		return 1
	}
	_ = os.Setenv(versionEnv, version.Version) // kyma-cli checks it (CheckHandover)
	if err := execve(path, args); err != nil {
		fmt.Fprintf(os.Stderr, "error: run %s: %v\n", path, err)
		return 1
	}
	return 0 // execve returns only on failure, or on Windows after the child exited
}

// fullCLI finds kyma-cli beside the real path of this executable (Krew links
// kubectl-kyma into $KREW_ROOT/bin, and the files it installed stay in the plugin's
// versioned folder), or else on PATH.
func fullCLI() (string, error) {
	name := "kyma-cli"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		p := filepath.Join(filepath.Dir(exe), name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", errors.New("cannot find kyma-cli beside kubectl-kyma or on PATH: reinstall the plugin")
	}
	return p, nil
}
