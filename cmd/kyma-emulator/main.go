// Command kyma-emulator serves, on loopback, the SAP BTP APIs kubectl-kyma uses (UAA,
// the Provisioning Service, the Kyma Environment Broker), backed by a real Kubernetes API
// server. See package emulator.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/kubectl-kyma/kubectl-kyma/internal/emulator"
)

func main() { os.Exit(run()) }

func run() int {
	opts, err := emulator.ParseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return 2
	}
	opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := emulator.Run(ctx, opts, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return 1
	}
	return 0
}
