package plugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding/bindingtest"
	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
	"github.com/kubectl-kyma/kubectl-kyma/internal/ledger"
)

// fakeBindings is a binding.Service in memory (bindingtest.Fake).
type fakeBindings = bindingtest.Fake

// newFakeBindings holds bindings ids of env-1, made before now.
func newFakeBindings(ids ...string) *fakeBindings { return bindingtest.New(now, ids...) }

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

// TestRunFlags: run's options also hold the environment COMMAND inherits (the test's
// own, not compared) and where "--" split the arguments.
func TestRunFlags(t *testing.T) {
	run := func(o RunOptions) *RunOptions {
		o.dash, o.commandPath = 1, "kubectl kyma run"
		return &o
	}
	testFlags(t, NewCmdRun, []flagsCase[RunOptions]{
		{args: []string{"run", "env-1", "--", "kubectl", "get", "pods", "-A"},
			want: run(RunOptions{Arg: "env-1", Command: []string{"kubectl", "get", "pods", "-A"}, Role: "admin"})},
		{args: []string{"run", "env-1", "--role", "view", "--expiration", "1h", "--", "sh", "-c", "exit 3"},
			want: run(RunOptions{Arg: "env-1", Command: []string{"sh", "-c", "exit 3"}, Role: "view", Expiration: expirationFlag{time.Hour}})},
		{args: []string{"run", "env-1", "kubectl", "version"}, wantErr: "kubectl kyma run takes NAME|ID -- COMMAND [ARGS...]"},
		{args: []string{"run", "env-1", "--"}, wantErr: "put the command after --"},
		{args: []string{"run", "--", "kubectl"}, wantErr: "put the command after --"},
		{args: []string{"run", "env-1", "--role", "owner", "--", "true"}, wantErr: `--role must be view, edit or admin, not "owner"`},
		{args: []string{"run", "env-1", "--expiration", "1m", "--", "true"}, wantErr: "a binding lives from 600 to 7200 seconds"},
	}, cmpopts.IgnoreFields(RunOptions{}, "environ"))
}

// Run wires the session: the binding is made for COMMAND, noted in the made record
// as run's, and deleted when COMMAND ends, whose status is the command's. (Package
// session tests the session itself.)
func TestRunRunsTheSession(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("runs sh")
	}
	svc := newFakeBindings()
	e := newTestEnv(t, svc)
	err := e.run("run", "env-1", "--", "sh", "-c", `echo "$KUBECTL_KYMA_BINDING_ID"; exit 3`)
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 3 {
		t.Fatalf("error %v, want exit status 3", err)
	}
	if e.out.String() != "new-1\n" || len(svc.LiveIDs()) != 0 {
		t.Errorf("the command printed %q, live bindings %v; want new-1, then none", e.out.String(), svc.LiveIDs())
	}
	if made := ledger.Open(e.cache, "test", "env-1").Read(); made["new-1"].Kind != madeByRun {
		t.Errorf("the run's binding is not in the made record: %+v", made)
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
