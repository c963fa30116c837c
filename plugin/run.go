package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
	"github.com/kubectl-kyma/kubectl-kyma/internal/ledger"
	"github.com/kubectl-kyma/kubectl-kyma/internal/rbac"
)

// ExitError ends a command with a given exit code. Run prints Err as any other error;
// with a nil Err it prints nothing (the command's child has already reported).
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

// forwardedSignals are passed on to COMMAND; each also means the session ends, so
// kyma-cli must not die of them before it deleted the binding.
var forwardedSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// RunOptions runs a command with a binding made for it alone.
type RunOptions struct {
	IO       genericiooptions.IOStreams
	Profile  func() (*config.Profile, error)
	CacheDir func() (string, error)
	Bindings func() (binding.Service, error)
	envs     environments
	limit    madeHere
	// record notes a binding this machine made (see recordMade).
	record func(envID, bindingID, kind string)

	Arg        string
	Command    []string
	Expiration expirationFlag
	Role       string

	// environ is the environment COMMAND inherits, before KUBECONFIG is set.
	environ []string
	// signals delivers the signals to forward and stops delivering them when stop is
	// called (signal.Notify; tests send their own).
	signals func() (c <-chan os.Signal, stop func())
	// narrow narrows the binding to Role before COMMAND starts (rbac.Narrow).
	narrow func(ctx context.Context, kubeconfig, bindingID, role string) error
	// dash and commandPath are where "--" splits the arguments (cobra's ArgsLenAtDash)
	// and the command's name, for Complete.
	dash        int
	commandPath string
}

// NewCmdRun builds `kubectl kyma run NAME|ID -- COMMAND [ARGS...]`; runF, when set,
// replaces Run (tests).
func NewCmdRun(f *Factory, runF func(*RunOptions) error) *cobra.Command {
	o := &RunOptions{Role: rbac.Admin}
	cmd := &cobra.Command{
		Use:   "run NAME|ID [--role view|edit|admin] [--expiration S] -- COMMAND [ARGS...]",
		Short: "Run a command with a binding made for it alone, deleted when the command ends",
		Long: `Make a binding of the environment, run COMMAND with KUBECONFIG pointing at the
binding's kubeconfig (a temporary 0600 file), and delete the binding when COMMAND ends,
also after Ctrl-C or SIGTERM, which are passed on to COMMAND. The exit status is
COMMAND's (128 + the signal number when a signal ended it).

--role narrows the binding's ClusterRole kyma-binding-ID before COMMAND starts:
  view   get, list and watch on every resource
  edit   also create, update, patch, delete and deletecollection on every resource
         of the API groups the cluster serves at that moment, except RBAC
  admin  the binding as made: every verb on every resource (the default)

COMMAND also gets KUBECTL_KYMA_BINDING_ID, the binding's id.`,
		Example: `  kubectl kyma run my-kyma -- kubectl get pods -A
  kubectl kyma run my-kyma --role view --expiration 1h -- ./smoke-test.sh
  kubectl kyma run my-kyma --role edit -- helm upgrade --install app ./chart`,
		ValidArgsFunction: completeEnvironments(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.dash, o.commandPath = cmd.ArgsLenAtDash(), cmd.CommandPath()
			return runE(f, o, runF)(cmd, args)
		},
	}
	cmd.Flags().Var(&o.Expiration, "expiration", "the binding's lifetime: seconds (600 to 7200) or a duration (10m to 2h); default the service's, 600")
	cmd.Flags().StringVar(&o.Role, "role", rbac.Admin, "what COMMAND may do: view, edit or admin")
	_ = cmd.RegisterFlagCompletionFunc("role", cobra.FixedCompletions(rbac.Roles, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Complete takes the streams, the profile's services and cache, splits the arguments
// at "--" and reads the environment COMMAND inherits.
func (o *RunOptions) Complete(f *Factory, args []string) error {
	if o.dash != 1 || len(args) < 2 {
		return fmt.Errorf("%s takes NAME|ID -- COMMAND [ARGS...]: put the command after --", o.commandPath)
	}
	o.IO, o.Profile, o.CacheDir, o.Bindings = f.IOStreams, f.Profile, f.CacheDir, f.Bindings
	o.envs, o.limit = environmentsOf(f), madeHereOf(f)
	o.record = func(envID, bindingID, kind string) { recordMade(f, envID, bindingID, kind) }
	o.Arg, o.Command = args[0], args[1:]
	o.environ = os.Environ()
	o.narrow = rbac.Narrow
	if o.signals == nil {
		o.signals = func() (<-chan os.Signal, func()) {
			c := make(chan os.Signal, 8)
			signal.Notify(c, forwardedSignals...)
			return c, func() { signal.Stop(c) }
		}
	}
	return nil
}

// Validate checks the flags before any network call.
func (o *RunOptions) Validate() error {
	if slices.Contains(rbac.Roles, o.Role) {
		return nil
	}
	return fmt.Errorf("--role must be view, edit or admin, not %q", o.Role)
}

// Run makes the binding, runs COMMAND, and deletes the binding. It returns an
// *ExitError carrying COMMAND's status when that is not zero.
func (o *RunOptions) Run(ctx context.Context) (err error) {
	// Signals are caught from the start: one that arrives while the binding is being
	// made must not kill this process before it deletes the binding.
	sigs, stop := o.signals()
	defer stop()

	env, err := o.envs.resolve(ctx, o.Arg)
	if err != nil {
		return err
	}
	svc, err := o.Bindings()
	if err != nil {
		return err
	}
	// Not cancelled by Ctrl-C: a binding the service made must come back with its id,
	// so that it can be deleted.
	createCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	b, err := svc.Create(createCtx, env.ID, o.Expiration.d)
	cancel()
	if err != nil {
		return o.limit.explainLimit(ctx, svc, env, fmt.Errorf("bind %q: %w", env.Name, err))
	}
	dir, _ := o.CacheDir()
	p, _ := o.Profile()
	if dir != "" && p != nil {
		if release, err := ledger.Open(dir, p.Name, env.ID).HoldInUse(b.ID); err == nil {
			defer release()
		}
	}
	o.record(env.ID, b.ID, madeByRun)
	defer func() {
		if derr := o.deleteBinding(ctx, svc, env, b); derr != nil {
			if err == nil {
				err = derr
			} else {
				fmt.Fprintf(o.IO.ErrOut, "error: %v\n", derr)
			}
		}
	}()

	kubeconfig, err := writeTempKubeconfig(b.Kubeconfig)
	if err != nil {
		return err
	}
	defer os.Remove(kubeconfig)

	if o.Role != rbac.Admin {
		narrowCtx, cancel := context.WithTimeout(ctx, time.Minute)
		err := o.narrow(narrowCtx, b.Kubeconfig, b.ID, o.Role)
		cancel()
		if err != nil {
			return fmt.Errorf("narrow binding %s to --role %s: %w", b.ID, o.Role, err)
		}
	}
	select {
	case s := <-sigs:
		return &ExitError{Code: signalExitCode(s)}
	default:
	}
	return o.runCommand(sigs, kubeconfig, b.ID)
}

// notForTheCommand are the variables COMMAND does not inherit: the two this command
// sets, and the profile's (the seed procedure's client secret among them), which would
// let COMMAND make bindings of its own, with every right --role took away.
var notForTheCommand = []string{"KUBECONFIG", "KUBECTL_KYMA_BINDING_ID",
	"CLIENT_ID", "CLIENT_SECRET", "UAA_URL", "PROVISIONING_SERVICE_URL", "KUBECTL_KYMA_PROFILE"}

// runCommand runs COMMAND to its end, forwarding signals, and returns its status.
func (o *RunOptions) runCommand(sigs <-chan os.Signal, kubeconfig, bindingID string) error {
	cmd := exec.Command(o.Command[0], o.Command[1:]...)
	cmd.Env = append(slices.DeleteFunc(slices.Clone(o.environ), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.Contains(notForTheCommand, name)
	}), "KUBECONFIG="+kubeconfig, "KUBECTL_KYMA_BINDING_ID="+bindingID)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = o.IO.In, o.IO.Out, o.IO.ErrOut
	if err := cmd.Start(); err != nil {
		code := 126 // found but cannot run, as a shell says
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			code = 127
		}
		return &ExitError{Code: code, Err: fmt.Errorf("run %s: %w", o.Command[0], err)}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case s := <-sigs:
			// A terminal's Ctrl-C reaches COMMAND too (same process group); passing it on
			// covers a SIGINT or SIGTERM sent to this process alone, as by a CI runner.
			_ = cmd.Process.Signal(s)
		case err := <-done:
			return exitStatus(err)
		}
	}
}

// exitStatus maps COMMAND's end to this process's: its exit code, or 128 + the signal
// that ended it, as shells report it.
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

// deleteBinding revokes the session's binding, with its own deadline: the command's
// context is cancelled by the Ctrl-C that may have ended the session.
func (o *RunOptions) deleteBinding(ctx context.Context, svc binding.Service, env target, b *binding.Binding) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err := svc.Delete(ctx, env.ID, b.ID)
	if err == nil || errors.Is(err, binding.ErrNotFound) || errors.Is(err, binding.ErrExpired) {
		return nil
	}
	until := ""
	if !b.ExpiresAt.IsZero() {
		until = " (it expires at " + b.ExpiresAt.Local().Format(time.TimeOnly) + ")"
	}
	return fmt.Errorf("delete binding %s%s: %w; retry with 'kubectl kyma gc %s'", b.ID, until, err, env.Name)
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
