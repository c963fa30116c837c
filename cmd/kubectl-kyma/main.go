// Command kubectl-kyma is the plugin kubectl runs: `kubectl kyma ...`. It answers the
// credential helper's cache hits itself and hands every other call to kyma-cli, the
// full command set installed beside it (see package launcher for why).
package main

import (
	"os"

	"github.com/kubectl-kyma/kubectl-kyma/internal/launcher"
)

func main() { os.Exit(launcher.Main(os.Args)) }
