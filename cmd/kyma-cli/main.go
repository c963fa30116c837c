// Command kyma-cli holds kubectl-kyma's commands. Users run it as `kubectl kyma ...`:
// kubectl starts kubectl-kyma, which hands every call it does not answer itself to
// this binary (see package launcher).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/kubectl-kyma/kubectl-kyma/internal/sibling"
	"github.com/kubectl-kyma/kubectl-kyma/plugin"
)

func main() {
	if err := sibling.CheckCredentialOnly(os.Args); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
	if err := sibling.CheckHandover(); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := plugin.Run(ctx, os.Args[1:], plugin.StdStreams())
	stop()
	os.Exit(code)
}
