package session

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding/bindingtest"
	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/ledger"
	"github.com/kubectl-kyma/kubectl-kyma/internal/rbac"
)

var now = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// session is an Input ready for Do on env-1 of svc, whose signals come from the
// returned channel and whose output goes to out.
func session(t *testing.T, svc *bindingtest.Fake, out *bytes.Buffer, command ...string) (Input, chan os.Signal) {
	sigs := make(chan os.Signal, 4)
	rec := ledger.Open(filepath.Join(t.TempDir(), "cache"), "test", "env-1")
	return Input{
		Bindings: svc, EnvID: "env-1", EnvName: "env-1", Role: rbac.Admin, Narrow: rbac.Narrow,
		Command: command,
		Environ: append(os.Environ(), "KUBECONFIG=/elsewhere", "CLIENT_SECRET=top-secret", "CLIENT_ID=id",
			"UAA_URL=https://uaa.example", "PROVISIONING_SERVICE_URL=https://ps.example", "KUBECTL_KYMA_PROFILE=env"),
		In: strings.NewReader(""), Out: out, ErrOut: &bytes.Buffer{}, Signals: sigs,
		Made: &rec, Clock: clock.NewFake(now),
		Explain: func(_ context.Context, err error) error { return err },
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

func TestDoGivesTheCommandAPrivateKubeconfigAndDeletesTheBinding(t *testing.T) {
	needShell(t)
	svc := bindingtest.New(now)
	var out bytes.Buffer
	in, _ := session(t, svc, &out, "sh", "-c", `echo "$KUBECONFIG"; echo "$KUBECTL_KYMA_BINDING_ID"; stat -c %a "$KUBECONFIG"; grep -c "token: tok" "$KUBECONFIG"; echo "profile:$CLIENT_ID$CLIENT_SECRET$UAA_URL$PROVISIONING_SERVICE_URL$KUBECTL_KYMA_PROFILE"; exit 7`)
	err := Do(context.Background(), in)
	if code := codeOf(t, err); code != 7 {
		t.Fatalf("exit code %d, want 7 (the command's)", code)
	}
	var ee *ExitError
	if errors.As(err, &ee) && ee.Err != nil {
		t.Errorf("a command's own failure is not an error to print again: %v", ee.Err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("the command printed %q", out.String())
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
	if diff := cmp.Diff([]string{"new-1"}, svc.Deleted); diff != "" {
		t.Errorf("deleted bindings (-want +got):\n%s", diff)
	}
	if made := in.Made.Read(); made["new-1"].Kind != ledger.Run || !made["new-1"].At.Equal(now) {
		t.Errorf("the run's binding is not in the made record: %+v", made)
	}
}

// While the command runs, its binding is marked in use, so that gc leaves it alone.
func TestDoMarksTheBindingInUse(t *testing.T) {
	needShell(t)
	svc := bindingtest.New(now)
	var out bytes.Buffer
	in, _ := session(t, svc, &out, "true")
	var inUse bool
	in.Role = rbac.View
	in.Narrow = func(_ context.Context, _, bindingID, _ string) error {
		inUse = in.Made.InUse(bindingID)
		return nil
	}
	if err := Do(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if !inUse {
		t.Error("the binding was not marked in use while the session ran")
	}
	if in.Made.InUse("new-1") {
		t.Error("the binding is still marked in use after the session")
	}
}

func TestDoExitStatus(t *testing.T) {
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
			svc := bindingtest.New(now)
			in, _ := session(t, svc, &bytes.Buffer{}, tc.command...)
			err := Do(context.Background(), in)
			if code := codeOf(t, err); code != tc.want {
				t.Errorf("exit code %d, want %d (%v)", code, tc.want, err)
			}
			if tc.errText != "" && (err == nil || !strings.Contains(err.Error(), tc.errText)) {
				t.Errorf("error %v, want %q", err, tc.errText)
			}
			if len(svc.LiveIDs()) != 0 {
				t.Errorf("bindings left: %v", svc.LiveIDs())
			}
		})
	}
}

func TestDoForwardsSignals(t *testing.T) {
	needShell(t)
	svc := bindingtest.New(now)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	in, sigs := session(t, svc, nil, "sh", "-c", "echo ready; exec sleep 30")
	in.Out = w
	done := make(chan error, 1)
	go func() { done <- Do(context.Background(), in); w.Close() }()
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("the command printed %q, %v", line, err)
	}
	if got := svc.LiveIDs(); len(got) != 1 {
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
	if got := svc.LiveIDs(); len(got) != 0 {
		t.Errorf("after the signal, live bindings %v, want none", got)
	}
}

func TestDoInterruptedBeforeTheCommandStarts(t *testing.T) {
	needShell(t)
	svc := bindingtest.New(now)
	marker := filepath.Join(t.TempDir(), "ran")
	in, sigs := session(t, svc, &bytes.Buffer{}, "touch", marker)
	sigs <- os.Interrupt // arrived while the binding was being made
	if code := codeOf(t, Do(context.Background(), in)); code != 130 {
		t.Errorf("exit code %d, want 130", code)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the command ran after Ctrl-C")
	}
	if svc.MadeCount() != 1 || len(svc.LiveIDs()) != 0 {
		t.Errorf("made %d, live %v: want the binding made and deleted", svc.MadeCount(), svc.LiveIDs())
	}
}

// The binding is narrowed to the role, with its own kubeconfig, before the command
// starts; admin leaves it as made. (internal/rbac tests the narrowing itself.)
func TestDoNarrowsTheRoleBeforeTheCommandStarts(t *testing.T) {
	needShell(t)
	for _, role := range []string{rbac.View, rbac.Edit, rbac.Admin} {
		t.Run(role, func(t *testing.T) {
			svc := bindingtest.New(now)
			marker := filepath.Join(t.TempDir(), "ran")
			in, _ := session(t, svc, &bytes.Buffer{}, "touch", marker)
			in.Role = role
			var calls []string
			in.Narrow = func(_ context.Context, kubeconfig, bindingID, role string) error {
				if _, err := os.Stat(marker); err == nil {
					t.Error("the command started before the binding was narrowed")
				}
				if kubeconfig != svc.Kubeconfig {
					t.Errorf("narrowed with kubeconfig %q, want the binding's", kubeconfig)
				}
				calls = append(calls, bindingID+" "+role)
				return nil
			}
			if err := Do(context.Background(), in); err != nil {
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
			if len(svc.LiveIDs()) != 0 {
				t.Error("the binding outlived the run")
			}
		})
	}
}

func TestDoDeletesTheBindingWhenNarrowingFails(t *testing.T) {
	svc := bindingtest.New(now) // its kubeconfig points at 127.0.0.1:1, where nothing listens
	in, _ := session(t, svc, &bytes.Buffer{}, "true")
	in.Role = rbac.View
	err := Do(context.Background(), in)
	if err == nil || !strings.Contains(err.Error(), "narrow binding new-1 to --role view") {
		t.Errorf("error = %v", err)
	}
	if len(svc.LiveIDs()) != 0 {
		t.Error("the binding outlived the failed run")
	}
}

// A failed Create goes through Explain (the limit's listing) and makes nothing to
// delete.
func TestDoExplainsAFailedBind(t *testing.T) {
	svc := bindingtest.New(now)
	svc.CreateErr = binding.ErrLimitReached
	in, _ := session(t, svc, &bytes.Buffer{}, "true")
	in.Explain = func(_ context.Context, err error) error { return errors.New("explained: " + err.Error()) }
	err := Do(context.Background(), in)
	if err == nil || err.Error() != `explained: bind "env-1": `+binding.ErrLimitReached.Error() {
		t.Errorf("error = %v", err)
	}
	if len(svc.Deleted) != 0 {
		t.Errorf("deleted %v after a failed bind", svc.Deleted)
	}
}
