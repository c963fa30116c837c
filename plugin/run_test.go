package plugin

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
	"github.com/kubectl-kyma/kubectl-kyma/internal/ledger"
	"github.com/kubectl-kyma/kubectl-kyma/internal/rbac"
)

// fakeBindings is a binding.Service in memory.
type fakeBindings struct {
	mu         sync.Mutex
	live       map[string]binding.Binding
	deleted    []string
	made       int
	kubeconfig string
	createErr  error
	listErr    error
}

func newFakeBindings(ids ...string) *fakeBindings {
	s := &fakeBindings{live: map[string]binding.Binding{}, kubeconfig: testKubeconfig("https://127.0.0.1:1")}
	for i, id := range ids {
		s.live[id] = binding.Binding{ID: id, EnvironmentID: "env-1",
			CreatedAt: now.Add(-time.Duration(len(ids)-i) * time.Minute), ExpiresAt: now.Add(time.Duration(i+1) * time.Minute)}
	}
	return s
}

func (s *fakeBindings) Create(_ context.Context, env string, exp time.Duration) (*binding.Binding, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.createErr != nil {
		return nil, s.createErr
	}
	s.made++
	b := binding.Binding{ID: fmt.Sprintf("new-%d", s.made), EnvironmentID: env, CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)}
	s.live[b.ID] = b
	b.Kubeconfig = s.kubeconfig
	return &b, nil
}

func (s *fakeBindings) Get(_ context.Context, _, id string) (*binding.Binding, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.live[id]
	if !ok {
		return nil, binding.ErrNotFound
	}
	return &b, nil
}

func (s *fakeBindings) List(context.Context, string) ([]binding.Binding, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listErr != nil {
		return nil, s.listErr
	}
	var out []binding.Binding
	for _, id := range sortedKeys(s.live) {
		out = append(out, s.live[id])
	}
	return out, nil
}

func (s *fakeBindings) Delete(_ context.Context, _, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.live[id]; !ok {
		return fmt.Errorf("binding %s: %w", id, binding.ErrNotFound)
	}
	delete(s.live, id)
	s.deleted = append(s.deleted, id)
	return nil
}

func (s *fakeBindings) liveIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedKeys(s.live)
}

// testKubeconfig is a binding's kubeconfig; ca, when given, is the server's certificate.
func testKubeconfig(server string, ca ...*x509.Certificate) string {
	caData := ""
	if len(ca) > 0 {
		pemData := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca[0].Raw})
		caData = "\n    certificate-authority-data: " + base64.StdEncoding.EncodeToString(pemData)
	}
	return `
---
apiVersion: v1
kind: Config
clusters:
- name: e
  cluster:
    server: ` + server + caData + `
users:
- name: e
  user:
    token: tok
contexts:
- name: e
  context:
    cluster: e
    user: e
current-context: e
`
}

// testEnv is a factory whose profile (a broker profile: environment arguments are ids,
// no environment list) uses svc, with its own cache, and no network: any HTTP client
// asked for fails the test.
type testEnv struct {
	f        *Factory
	out, err *bytes.Buffer
	cache    string
}

func newTestEnv(t *testing.T, svc binding.Service) *testEnv {
	t.Helper()
	e := &testEnv{out: &bytes.Buffer{}, err: &bytes.Buffer{}, cache: filepath.Join(t.TempDir(), "cache")}
	f := NewFactory(genericiooptions.IOStreams{In: strings.NewReader(""), Out: e.out, ErrOut: e.err})
	f.Clock = clock.NewFake(now)
	f.CacheDir = func() (string, error) { return e.cache, nil }
	f.Profile = func() (*config.Profile, error) {
		return &config.Profile{Name: "test", Kind: config.KindBroker}, nil
	}
	f.HTTPClient = func(*config.Profile) (*http.Client, error) {
		t.Error("a network client was asked for")
		return nil, errors.New("no network in this test")
	}
	f.Bindings = func() (binding.Service, error) { return svc, nil }
	e.f = f
	return e
}

// run runs kubectl kyma ARGS in process.
func (e *testEnv) run(args ...string) error {
	e.out.Reset()
	e.err.Reset()
	cmd := NewRootCmd(e.f)
	cmd.SetArgs(args)
	return cmd.ExecuteContext(context.Background())
}

// TestRunFlags is testFlags for run, whose options also hold the environment COMMAND
// inherits (the test's own, not compared) and where "--" split the arguments.
func TestRunFlags(t *testing.T) {
	for _, tc := range []flagsCase[RunOptions]{
		{args: []string{"run", "env-1", "--", "kubectl", "get", "pods", "-A"},
			want: &RunOptions{Arg: "env-1", Command: []string{"kubectl", "get", "pods", "-A"}, Role: "admin"}},
		{args: []string{"run", "env-1", "--role", "view", "--expiration", "1h", "--", "sh", "-c", "exit 3"},
			want: &RunOptions{Arg: "env-1", Command: []string{"sh", "-c", "exit 3"}, Role: "view", Expiration: expirationFlag{time.Hour}}},
		{args: []string{"run", "env-1", "kubectl", "version"}, wantErr: "kubectl kyma run takes NAME|ID -- COMMAND [ARGS...]"},
		{args: []string{"run", "env-1", "--"}, wantErr: "put the command after --"},
		{args: []string{"run", "--", "kubectl"}, wantErr: "put the command after --"},
		{args: []string{"run", "env-1", "--role", "owner", "--", "true"}, wantErr: `--role must be view, edit or admin, not "owner"`},
		{args: []string{"run", "env-1", "--expiration", "1m", "--", "true"}, wantErr: "a binding lives from 600 to 7200 seconds"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			f := flagsFactory(t)
			var got *RunOptions
			root := NewRootCmd(f)
			for _, c := range root.Commands() {
				if c.Name() == "run" {
					root.RemoveCommand(c)
				}
			}
			root.AddCommand(NewCmdRun(f, func(o *RunOptions) error { got = o; return nil }))
			root.SetArgs(tc.args)
			err := root.Execute()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.want.dash, tc.want.commandPath = 1, "kubectl kyma run"
			if diff := cmp.Diff(tc.want, got, optionsCmp, cmpopts.IgnoreFields(RunOptions{}, "environ")); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

// runOptions is a RunOptions ready to Run, whose signals come from the returned channel.
func runOptions(e *testEnv, command ...string) (*RunOptions, chan os.Signal) {
	sigs := make(chan os.Signal, 4)
	return &RunOptions{
		IO: e.f.IOStreams, Profile: e.f.Profile, CacheDir: e.f.CacheDir, Bindings: e.f.Bindings,
		envs: environmentsOf(e.f), limit: madeHereOf(e.f),
		record: func(envID, bindingID, kind string) { recordMade(e.f, envID, bindingID, kind) },
		Arg:    "env-1", Command: command, Role: rbac.Admin, narrow: rbac.Narrow,
		environ: append(os.Environ(), "KUBECONFIG=/elsewhere", "CLIENT_SECRET=top-secret", "CLIENT_ID=id",
			"UAA_URL=https://uaa.example", "PROVISIONING_SERVICE_URL=https://ps.example", "KUBECTL_KYMA_PROFILE=env"),
		signals: func() (<-chan os.Signal, func()) { return sigs, func() {} },
	}, sigs
}

func codeOf(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var ee *ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("error %v is not an *ExitError", err)
	}
	return ee.Code
}

func needShell(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("runs sh")
	}
}

func TestRunGivesTheCommandAPrivateKubeconfigAndDeletesTheBinding(t *testing.T) {
	needShell(t)
	svc := newFakeBindings()
	e := newTestEnv(t, svc)
	o, _ := runOptions(e, "sh", "-c", `echo "$KUBECONFIG"; echo "$KUBECTL_KYMA_BINDING_ID"; stat -c %a "$KUBECONFIG"; grep -c "token: tok" "$KUBECONFIG"; echo "profile:$CLIENT_ID$CLIENT_SECRET$UAA_URL$PROVISIONING_SERVICE_URL$KUBECTL_KYMA_PROFILE"; exit 7`)
	err := o.Run(context.Background())
	if code := codeOf(t, err); code != 7 {
		t.Fatalf("exit code %d, want 7 (the command's)", code)
	}
	var ee *ExitError
	if errors.As(err, &ee) && ee.Err != nil {
		t.Errorf("a command's own failure is not an error to print again: %v", ee.Err)
	}
	lines := strings.Split(strings.TrimSpace(e.out.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("the command printed %q", e.out.String())
	}
	if lines[4] != "profile:" {
		t.Errorf("the command inherited the profile's variables: %s", lines[4])
	}
	if lines[0] == "/elsewhere" || lines[1] != "new-1" || lines[2] != "600" || lines[3] != "1" {
		t.Errorf("KUBECONFIG %s, binding %s, mode %s, token lines %s; want a new 0600 file holding the binding's kubeconfig", lines[0], lines[1], lines[2], lines[3])
	}
	if _, err := os.Stat(lines[0]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temporary kubeconfig %s is still there: %v", lines[0], err)
	}
	if diff := cmp.Diff([]string{"new-1"}, svc.deleted); diff != "" {
		t.Errorf("deleted bindings (-want +got):\n%s", diff)
	}
	if made := ledger.Open(e.cache, "test", "env-1").Read(); made["new-1"].Kind != madeByRun {
		t.Errorf("the run's binding is not in the made record: %+v", made)
	}
}

func TestRunExitStatus(t *testing.T) {
	needShell(t)
	for _, tc := range []struct {
		command []string
		want    int
		errText string
	}{
		{[]string{"true"}, 0, ""},
		{[]string{"sh", "-c", "exit 3"}, 3, ""},
		{[]string{"sh", "-c", "kill -TERM $$"}, 128 + int(syscall.SIGTERM), ""},
		{[]string{"no-such-command-kubectl-kyma"}, 127, "run no-such-command-kubectl-kyma:"},
	} {
		t.Run(strings.Join(tc.command, " "), func(t *testing.T) {
			svc := newFakeBindings()
			e := newTestEnv(t, svc)
			o, _ := runOptions(e, tc.command...)
			err := o.Run(context.Background())
			if code := codeOf(t, err); code != tc.want {
				t.Errorf("exit code %d, want %d (%v)", code, tc.want, err)
			}
			if tc.errText != "" && (err == nil || !strings.Contains(err.Error(), tc.errText)) {
				t.Errorf("error %v, want %q", err, tc.errText)
			}
			if len(svc.liveIDs()) != 0 {
				t.Errorf("bindings left: %v", svc.liveIDs())
			}
		})
	}
}

func TestRunForwardsSignals(t *testing.T) {
	needShell(t)
	svc := newFakeBindings()
	e := newTestEnv(t, svc)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	e.f.IOStreams.Out = w
	o, sigs := runOptions(e, "sh", "-c", "echo ready; exec sleep 30")
	done := make(chan error, 1)
	go func() { done <- o.Run(context.Background()); w.Close() }()
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("the command printed %q, %v", line, err)
	}
	if got := svc.liveIDs(); len(got) != 1 {
		t.Errorf("while the command runs, live bindings %v, want its one", got)
	}
	sigs <- syscall.SIGTERM
	select {
	case err := <-done:
		if code := codeOf(t, err); code != 128+int(syscall.SIGTERM) {
			t.Errorf("exit code %d, want %d: the command was ended by the forwarded SIGTERM", code, 128+int(syscall.SIGTERM))
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the command did not end after SIGTERM was forwarded")
	}
	if got := svc.liveIDs(); len(got) != 0 {
		t.Errorf("after the signal, live bindings %v, want none", got)
	}
}

func TestRunInterruptedBeforeTheCommandStarts(t *testing.T) {
	needShell(t)
	svc := newFakeBindings()
	e := newTestEnv(t, svc)
	marker := filepath.Join(t.TempDir(), "ran")
	o, sigs := runOptions(e, "touch", marker)
	sigs <- os.Interrupt // arrived while the binding was being made
	if code := codeOf(t, o.Run(context.Background())); code != 130 {
		t.Errorf("exit code %d, want 130", code)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the command ran after Ctrl-C")
	}
	if svc.made != 1 || len(svc.liveIDs()) != 0 {
		t.Errorf("made %d, live %v: want the binding made and deleted", svc.made, svc.liveIDs())
	}
}

// The binding is narrowed to --role, with its own kubeconfig, before the command
// starts; admin leaves it as made. (internal/rbac tests the narrowing itself.)
func TestRunNarrowsTheRoleBeforeTheCommandStarts(t *testing.T) {
	needShell(t)
	for _, role := range []string{rbac.View, rbac.Edit, rbac.Admin} {
		t.Run(role, func(t *testing.T) {
			svc := newFakeBindings()
			e := newTestEnv(t, svc)
			marker := filepath.Join(t.TempDir(), "ran")
			o, _ := runOptions(e, "touch", marker)
			o.Role = role
			var calls []string
			o.narrow = func(_ context.Context, kubeconfig, bindingID, role string) error {
				if _, err := os.Stat(marker); err == nil {
					t.Error("the command started before the binding was narrowed")
				}
				if kubeconfig != svc.kubeconfig {
					t.Errorf("narrowed with kubeconfig %q, want the binding's", kubeconfig)
				}
				calls = append(calls, bindingID+" "+role)
				return nil
			}
			if err := o.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			var want []string
			if role != rbac.Admin {
				want = []string{"new-1 " + role}
			}
			if diff := cmp.Diff(want, calls); diff != "" {
				t.Errorf("narrowings (-want +got):\n%s", diff)
			}
			if _, err := os.Stat(marker); err != nil {
				t.Errorf("the command did not run: %v", err)
			}
			if len(svc.liveIDs()) != 0 {
				t.Error("the binding outlived the run")
			}
		})
	}
}

func TestRunDeletesTheBindingWhenNarrowingFails(t *testing.T) {
	svc := newFakeBindings() // its kubeconfig points at 127.0.0.1:1, where nothing listens
	e := newTestEnv(t, svc)
	o, _ := runOptions(e, "true")
	o.Role = rbac.View
	err := o.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "narrow binding new-1 to --role view") {
		t.Errorf("error = %v", err)
	}
	if len(svc.liveIDs()) != 0 {
		t.Error("the binding outlived the failed run")
	}
}

// An *ExitError's code becomes the process's; only its Err is printed.
func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err    error
		code   int
		stderr string
	}{
		{nil, 0, ""},
		{errors.New("no profile"), 1, "error: no profile\n"},
		{&ExitError{Code: 7}, 7, ""},
		{fmt.Errorf("wrapped: %w", &ExitError{Code: 127, Err: errors.New("run x: not found")}), 127, "error: run x: not found\n"},
	} {
		var errOut bytes.Buffer
		if code := exitCode(tc.err, &errOut); code != tc.code || errOut.String() != tc.stderr {
			t.Errorf("exitCode(%v) = %d, printed %q; want %d, %q", tc.err, code, errOut.String(), tc.code, tc.stderr)
		}
	}
}
