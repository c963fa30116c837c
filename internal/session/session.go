// Package session runs a command with a binding made for it alone (`kubectl kyma
// run`): it makes the binding, narrows its role, hands the command a private
// kubeconfig, forwards signals, and deletes the binding when the command ends.
package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/ledger"
	"github.com/kubectl-kyma/kubectl-kyma/internal/rbac"
)

// ExitError ends a command with a given exit code. The caller prints Err as any other
// error; with a nil Err it prints nothing (the command has already reported).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

func (e *ExitError) Unwrap() error { return e.Err }

// Signals are passed on to the command; each also means the session ends, so the
// caller must not die of them before the binding is deleted: it catches them from its
// start and hands them to Do as Input.Signals.
var Signals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// Input is one session.
type Input struct {
	// Bindings makes and deletes the binding of environment EnvID; EnvName names the
	// environment in errors.
	Bindings       binding.Service
	EnvID, EnvName string
	// Expiration is the binding's lifetime; zero is the service's default.
	Expiration time.Duration
	// Role is what the command may do (rbac.View, Edit or Admin); Narrow narrows the
	// binding to it (rbac.Narrow).
	Role   string
	Narrow func(ctx context.Context, kubeconfig, bindingID, role string) error
	// Command is the command line; Environ the environment it inherits, before
	// KUBECONFIG is set.
	Command []string
	Environ []string
	In      io.Reader
	Out     io.Writer
	ErrOut  io.Writer
	// Signals delivers the signals to forward, from before Do was called.
	Signals <-chan os.Signal
	// Made, when set, is the record of the environment's bindings made on this machine:
	// the session's binding is noted in it, and marked in use while the command runs.
	Made  *ledger.Record
	Clock clock.Clock
	// Explain turns a failed Create into the error to return (limit.Explain).
	Explain func(ctx context.Context, err error) error
}

// Do makes the binding, runs the command, and deletes the binding. It returns an
// *ExitError carrying the command's status when that is not zero.
func Do(ctx context.Context, in Input) (err error) {
	// Not cancelled by Ctrl-C: a binding the service made must come back with its id,
	// so that it can be deleted.
	createCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	b, err := in.Bindings.Create(createCtx, in.EnvID, in.Expiration)
	cancel()
	if err != nil {
		return in.Explain(ctx, fmt.Errorf("bind %q: %w", in.EnvName, err))
	}
	if in.Made != nil {
		if release, err := in.Made.HoldInUse(b.ID); err == nil {
			defer release()
		}
		// Never fails the session: without the line, gc only misses a binding that
		// expires by itself.
		_ = in.Made.Add(b.ID, ledger.Run, in.Clock.Now())
	}
	defer func() {
		if derr := deleteBinding(ctx, in, b); derr != nil {
			if err == nil {
				err = derr
			} else {
				fmt.Fprintf(in.ErrOut, "error: %v\n", derr)
			}
		}
	}()

	kubeconfig, err := writeTempKubeconfig(b.Kubeconfig)
	if err != nil {
		return err
	}
	defer os.Remove(kubeconfig)

	if in.Role != rbac.Admin {
		narrowCtx, cancel := context.WithTimeout(ctx, time.Minute)
		err := in.Narrow(narrowCtx, b.Kubeconfig, b.ID, in.Role)
		cancel()
		if err != nil {
			return fmt.Errorf("narrow binding %s to --role %s: %w", b.ID, in.Role, err)
		}
	}
	select {
	case s := <-in.Signals:
		return &ExitError{Code: signalExitCode(s)}
	default:
	}
	return runCommand(in, kubeconfig, b.ID)
}

// notForTheCommand are the variables the command does not inherit: the two the session
// sets, and the profile's (the seed procedure's client secret among them), which would
// let the command make bindings of its own, with every right --role took away.
var notForTheCommand = []string{"KUBECONFIG", "KUBECTL_KYMA_BINDING_ID",
	"CLIENT_ID", "CLIENT_SECRET", "UAA_URL", "PROVISIONING_SERVICE_URL", "KUBECTL_KYMA_PROFILE"}

// runCommand runs the command to its end, forwarding signals, and returns its status.
func runCommand(in Input, kubeconfig, bindingID string) error {
	cmd := exec.Command(in.Command[0], in.Command[1:]...)
	cmd.Env = append(slices.DeleteFunc(slices.Clone(in.Environ), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.Contains(notForTheCommand, name)
	}), "KUBECONFIG="+kubeconfig, "KUBECTL_KYMA_BINDING_ID="+bindingID)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = in.In, in.Out, in.ErrOut
	if err := cmd.Start(); err != nil {
		code := 126 // found but cannot run, as a shell says
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			code = 127
		}
		return &ExitError{Code: code, Err: fmt.Errorf("run %s: %w", in.Command[0], err)}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case s := <-in.Signals:
			// A terminal's Ctrl-C reaches the command too (same process group); passing
			// it on covers a SIGINT or SIGTERM sent to this process alone, as by a CI
			// runner.
			_ = cmd.Process.Signal(s)
		case err := <-done:
			return exitStatus(err)
		}
	}
}

// exitStatus maps the command's end to this process's: its exit code, or 128 + the
// signal that ended it, as shells report it.
func exitStatus(err error) error {
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return &ExitError{Code: 1, Err: err}
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return &ExitError{Code: 128 + int(ws.Signal())}
	}
	return &ExitError{Code: ee.ExitCode()}
}

func signalExitCode(s os.Signal) int {
	if n, ok := s.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return 1
}

// deleteBinding revokes the session's binding, with its own deadline: the caller's
// context is cancelled by the Ctrl-C that may have ended the session.
func deleteBinding(ctx context.Context, in Input, b *binding.Binding) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err := in.Bindings.Delete(ctx, in.EnvID, b.ID)
	if err == nil || errors.Is(err, binding.ErrNotFound) || errors.Is(err, binding.ErrExpired) {
		return nil
	}
	until := ""
	if !b.ExpiresAt.IsZero() {
		until = " (it expires at " + b.ExpiresAt.Local().Format(time.TimeOnly) + ")"
	}
	return fmt.Errorf("delete binding %s%s: %w; retry with 'kubectl kyma gc %s'", b.ID, until, err, in.EnvName)
}

// writeTempKubeconfig writes the binding's kubeconfig to a new 0600 file.
func writeTempKubeconfig(kubeconfig string) (string, error) {
	f, err := os.CreateTemp("", "kubectl-kyma-run-*.kubeconfig")
	if err != nil {
		return "", fmt.Errorf("write the session's kubeconfig: %w", err)
	}
	if err := f.Chmod(0o600); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		f.Close()
		os.Remove(f.Name())
		return "", fmt.Errorf("write the session's kubeconfig: %w", err)
	}
	_, err = io.WriteString(f, kubeconfig)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("write the session's kubeconfig: %w", err)
	}
	return f.Name(), nil
}
