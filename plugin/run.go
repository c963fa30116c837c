package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
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

// Roles that `kubectl kyma run --role` narrows a binding to.
const (
	roleView  = "view"
	roleEdit  = "edit"
	roleAdmin = "admin"
)

// forwardedSignals are passed on to COMMAND; each also means the session ends, so
// kyma-cli must not die of them before it deleted the binding.
var forwardedSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// RunOptions runs a command with a binding made for it alone.
type RunOptions struct {
	f *Factory

	Arg        string
	Command    []string
	Expiration expirationFlag
	Role       string

	// environ is the environment COMMAND inherits, before KUBECONFIG is set.
	environ []string
	// signals delivers the signals to forward and stops delivering them when stop is
	// called (signal.Notify; tests send their own).
	signals func() (c <-chan os.Signal, stop func())
}

// NewCmdRun builds `kubectl kyma run NAME|ID -- COMMAND [ARGS...]`.
func NewCmdRun(f *Factory) *cobra.Command { return newCmdRun(f, nil) }

// newCmdRun lets a test replace Run with runF, to see the parsed options.
func newCmdRun(f *Factory, runF func(*RunOptions) error) *cobra.Command {
	o := &RunOptions{f: f, Role: roleAdmin}
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
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().Var(&o.Expiration, "expiration", "the binding's lifetime: seconds (600 to 7200) or a duration (10m to 2h); default the service's, 600")
	cmd.Flags().StringVar(&o.Role, "role", roleAdmin, "what COMMAND may do: view, edit or admin")
	_ = cmd.RegisterFlagCompletionFunc("role", cobra.FixedCompletions([]string{roleView, roleEdit, roleAdmin}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Complete splits the arguments at "--" and reads the environment COMMAND inherits.
func (o *RunOptions) Complete(cmd *cobra.Command, args []string) error {
	dash := cmd.ArgsLenAtDash()
	if dash != 1 || len(args) < 2 {
		return fmt.Errorf("%s takes NAME|ID -- COMMAND [ARGS...]: put the command after --", cmd.CommandPath())
	}
	o.Arg, o.Command = args[0], args[1:]
	o.environ = os.Environ()
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
	switch o.Role {
	case roleView, roleEdit, roleAdmin:
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

	env, err := resolveEnvironment(ctx, o.f, o.Arg)
	if err != nil {
		return err
	}
	svc, err := o.f.Bindings()
	if err != nil {
		return err
	}
	// Not cancelled by Ctrl-C: a binding the service made must come back with its id,
	// so that it can be deleted.
	createCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	b, err := svc.Create(createCtx, env.ID, o.Expiration.d)
	cancel()
	if err != nil {
		return explainLimit(ctx, o.f, svc, env, fmt.Errorf("bind %q: %w", env.Name, err))
	}
	dir, _ := o.f.CacheDir()
	p, _ := o.f.Profile()
	if dir != "" && p != nil {
		if release, err := holdInUse(madeRecordPath(dir, p.Name, env.ID), b.ID); err == nil {
			defer release()
		}
	}
	recordMade(o.f, env.ID, b.ID, madeByRun)
	defer func() {
		if derr := o.deleteBinding(ctx, svc, env, b); derr != nil {
			if err == nil {
				err = derr
			} else {
				fmt.Fprintf(o.f.IOStreams.ErrOut, "error: %v\n", derr)
			}
		}
	}()

	kubeconfig, err := writeTempKubeconfig(b.Kubeconfig)
	if err != nil {
		return err
	}
	defer os.Remove(kubeconfig)

	if o.Role != roleAdmin {
		narrowCtx, cancel := context.WithTimeout(ctx, time.Minute)
		err := narrowRole(narrowCtx, b.Kubeconfig, b.ID, o.Role)
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
	cmd.Stdin, cmd.Stdout, cmd.Stderr = o.f.IOStreams.In, o.f.IOStreams.Out, o.f.IOStreams.ErrOut
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

// policyRule is an rbac/v1 PolicyRule.
type policyRule struct {
	APIGroups []string `json:"apiGroups"`
	Resources []string `json:"resources"`
	Verbs     []string `json:"verbs"`
}

var (
	readVerbs  = []string{"get", "list", "watch"}
	writeVerbs = []string{"create", "update", "patch", "delete", "deletecollection"}
)

// rbacGroup is the API group that edit may not change: changing it could give the
// binding back what --role took away.
const rbacGroup = "rbac.authorization.k8s.io"

// hidden are the core resources and subresources no narrowed role reads or writes:
// secrets (tokens of other service accounts, and whatever the cluster keeps there), a
// new token for any service account, and ways into a running container or node, which
// would carry the command past what its role allows. Kubernetes' own view role leaves
// out secrets and these subresources as well.
var hidden = []string{"secrets", "serviceaccounts/token", "pods/exec", "pods/attach", "pods/portforward",
	"pods/proxy", "pods/ephemeralcontainers", "services/proxy", "nodes/proxy"}

// roleRules are the rules of a narrowed binding. resources are what the cluster serves
// then, by API group ("" is the core group). RBAC rules can only add, so every resource
// is listed by name: a wildcard would take in secrets and the subresources in hidden.
// view may get, list and watch each of them but hidden; edit may also create, update,
// patch, delete and deletecollection them, except in the RBAC group. Neither gets the
// impersonate, bind or escalate verbs.
func roleRules(role string, resources map[string][]string) []policyRule {
	groups := slices.Sorted(maps.Keys(resources))
	var rules []policyRule
	for _, g := range groups {
		var names []string
		for _, r := range resources[g] {
			if !(g == "" && slices.Contains(hidden, r)) && !slices.Contains(names, r) {
				names = append(names, r)
			}
		}
		if len(names) == 0 {
			continue
		}
		slices.Sort(names)
		rules = append(rules, policyRule{APIGroups: []string{g}, Resources: names, Verbs: readVerbs})
		if role == roleEdit && g != rbacGroup {
			rules = append(rules, policyRule{APIGroups: []string{g}, Resources: names, Verbs: writeVerbs})
		}
	}
	return rules
}

// apiResources lists the resources and subresources the cluster serves, by API group:
// the core group's v1 and each other group's preferred version.
func (c *kubeClient) apiResources(ctx context.Context) (map[string][]string, error) {
	out := map[string][]string{}
	add := func(group, path string) error {
		var list struct {
			Resources []struct {
				Name string `json:"name"`
			} `json:"resources"`
		}
		if err := c.do(ctx, http.MethodGet, path, nil, &list); err != nil {
			return fmt.Errorf("list the cluster's resources at %s: %w", path, err)
		}
		for _, r := range list.Resources {
			out[group] = append(out[group], r.Name)
		}
		return nil
	}
	if err := add("", "/api/v1"); err != nil {
		return nil, err
	}
	var groups struct {
		Groups []struct {
			Name             string `json:"name"`
			PreferredVersion struct {
				GroupVersion string `json:"groupVersion"`
			} `json:"preferredVersion"`
		} `json:"groups"`
	}
	if err := c.do(ctx, http.MethodGet, "/apis", nil, &groups); err != nil {
		return nil, fmt.Errorf("list the cluster's API groups: %w", err)
	}
	for _, g := range groups.Groups {
		if g.PreferredVersion.GroupVersion == "" {
			continue
		}
		if err := add(g.Name, "/apis/"+g.PreferredVersion.GroupVersion); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// narrowRole replaces the rules of the binding's ClusterRole kyma-binding-ID, as the
// binding itself (its token may do anything, including lowering its own rights), and
// waits until the API server's authorizer applies them.
//
// It speaks JSON over client-go's rest transport rather than through the typed
// clientset: k8s.io/client-go/kubernetes/scheme has the costliest init of all client-go,
// which every kyma-cli start (credential refreshes included) would pay.
func narrowRole(ctx context.Context, kubeconfig, bindingID, role string) error {
	cfg, err := clientcmd.RESTConfigFromKubeConfig([]byte(kubeconfig))
	if err != nil {
		return fmt.Errorf("read the binding's kubeconfig: %w", err)
	}
	c, err := newKubeClient(cfg)
	if err != nil {
		return err
	}
	resources, err := c.apiResources(ctx)
	if err != nil {
		return err
	}
	path := "/apis/" + rbacGroup + "/v1/clusterroles/kyma-binding-" + bindingID
	for attempt := 0; ; attempt++ {
		var cr map[string]any
		if err := c.do(ctx, http.MethodGet, path, nil, &cr); err != nil {
			return fmt.Errorf("read ClusterRole kyma-binding-%s: %w", bindingID, err)
		}
		cr["rules"] = roleRules(role, resources)
		err := c.do(ctx, http.MethodPut, path, cr, nil)
		var se *statusError
		if errors.As(err, &se) && se.code == http.StatusConflict && attempt < 3 {
			continue // changed in between: read it again
		}
		if err != nil {
			return fmt.Errorf("update ClusterRole kyma-binding-%s: %w", bindingID, err)
		}
		break
	}
	return c.waitDenied(ctx, deniedProbe(role))
}

// deniedProbe is something the narrowed role no longer allows.
func deniedProbe(role string) map[string]any {
	if role == roleView {
		return map[string]any{"verb": "create", "resource": "pods", "namespace": "default"}
	}
	return map[string]any{"verb": "create", "resource": "serviceaccounts", "subresource": "token", "namespace": "default"}
}

// waitDenied asks the API server (SelfSubjectAccessReview) until it denies attrs: the
// RBAC authorizer reads roles from an informer, so an update takes effect a moment
// later, and COMMAND must never start with the old rights.
func (c *kubeClient) waitDenied(ctx context.Context, attrs map[string]any) error {
	review := map[string]any{
		"apiVersion": "authorization.k8s.io/v1",
		"kind":       "SelfSubjectAccessReview",
		"spec":       map[string]any{"resourceAttributes": attrs},
	}
	for {
		var got struct {
			Status struct {
				Allowed bool `json:"allowed"`
			} `json:"status"`
		}
		if err := c.do(ctx, http.MethodPost, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review, &got); err != nil {
			return fmt.Errorf("check the narrowed rights: %w", err)
		}
		if !got.Status.Allowed {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the API server still allows %v: %w", attrs, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// kubeClient does JSON requests to a Kubernetes API server.
type kubeClient struct {
	host string
	hc   *http.Client
}

func newKubeClient(cfg *rest.Config) (*kubeClient, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", cfg.Host, err)
	}
	return &kubeClient{host: strings.TrimRight(cfg.Host, "/"), hc: hc}, nil
}

// statusError is an API server's refusal: its status code and message.
type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.code, http.StatusText(e.code), e.msg)
}

func (c *kubeClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.host+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var st struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(data, &st)
		return &statusError{code: resp.StatusCode, msg: st.Message}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}
