// Command kubectl_complete-kyma completes `kubectl kyma <TAB>`.
//
// kubectl 1.26 and newer complete a plugin's arguments by running
// kubectl_complete-<plugin>, found on PATH, with the words typed after the plugin's
// name, the word being completed last (empty for a new word); it prints cobra's
// completion lines and reads an optional last line ":<directive>"
// (https://github.com/kubernetes/kubernetes/blob/master/staging/src/k8s.io/kubectl/pkg/cmd/plugin/plugin_completion.go).
// This helper is cobra's own `__complete` of the plugin: `kubectl kyma __complete
// ARGS...`. It runs kubectl-kyma directly rather than through kubectl, which saves a
// whole kubectl start-up on every <TAB>.
//
// A Go program rather than the usual two-line shell script, so that Windows, where
// kubectl looks the helper up as kubectl_complete-kyma.exe, is served too.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/kubectl-kyma/kubectl-kyma/internal/sibling"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	// The kubectl-kyma beside this helper is of the same release: the archive ships
	// both, and a copy of the helper in Krew's bin folder sits beside Krew's link. Else
	// the one on PATH, which is the one kubectl itself would run.
	plugin, ok := sibling.Find("kubectl-kyma")
	if !ok {
		fmt.Fprintln(os.Stderr, "error: cannot find kubectl-kyma beside kubectl_complete-kyma or on PATH: install the plugin")
		return 1
	}
	cmd := exec.Command(plugin, append([]string{"__complete"}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: run %s: %v\n", plugin, err)
		return 1
	}
	return 0
}
