// Package launcher is the kubectl-kyma executable: the one kubectl starts, from PATH,
// for `kubectl kyma ...` and, through a kubeconfig's exec stanza, before every kubectl
// call to a Kyma cluster. It serves a credential cache hit itself and launches kyma-cli
// for everything else.
//
// Every Go package linked into a binary runs its init work on every start. The full
// command set links cobra, cli-runtime and client-go, whose inits cost several times a
// bare Go program's start (docs/benchmarks.md). So this binary links only the standard
// library and package credential (deps_test.go holds it to that): it serves a
// credential cache hit itself, and hands everything else (every other command, and a
// cache miss) to kyma-cli with exec, which keeps the PID, the arguments, the
// environment and the standard streams.
package launcher

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/sibling"
	"github.com/kubectl-kyma/kubectl-kyma/internal/version"
)

// Main runs kubectl-kyma with args (os.Args) and returns the exit code.
func Main(args []string) int {
	if err := sibling.CheckCredentialOnly(args); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		return 1
	}
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
	in.Caller, in.Stderr = credential.Caller(), os.Stderr
	in.Spawn = func(lock *os.File) error { return sibling.SpawnRefresh(a.Render(), lock) }
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
// make build and Krew put it) or else on PATH (see sibling.Find).
func handOver(args []string) int {
	path, err := sibling.CLI()
	if err == nil {
		err = sibling.CheckRelease(path)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		return 1
	}
	_ = os.Setenv(sibling.VersionEnv, version.Version) // kyma-cli checks it (sibling.CheckHandover)
	if err := execve(path, args); err != nil {
		fmt.Fprintf(os.Stderr, "error: run %s: %v\n", path, err)
		return 1
	}
	return 0 // execve returns only on failure, or on Windows after the child exited
}
