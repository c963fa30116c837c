package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// liveBindings lists an environment's bindings at the service, as the user sees them.
func (u *user) liveBindings(env string) []string {
	u.t.Helper()
	out := u.mustKyma("bindings", env, "-o", "name")
	var ids []string
	for l := range strings.Lines(out) {
		ids = append(ids, strings.TrimPrefix(strings.TrimSpace(l), "binding/"))
	}
	return ids
}

func contains(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// exitCodeOf is a finished command's exit status.
func exitCodeOf(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// TestLimitErrorAndGC: with ten live bindings, eight made here and two by another
// machine, the eleventh bind fails with a listing that marks this machine's; gc deletes
// those eight and leaves the others; then bind works again.
func TestLimitErrorAndGC(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t)
	u := newUser(t)
	u.login(emu)
	u.provision("e2e-limit")
	other := newUser(t)
	other.login(emu)

	var theirs []string
	for range 2 {
		_, errOut, err := other.kyma("bind", "e2e-limit")
		if err != nil {
			t.Fatalf("the other machine's bind: %v\n%s", err, errOut)
		}
		theirs = append(theirs, strings.TrimPrefix(strings.Fields(errOut)[0], "binding/"))
	}
	for i := range 8 {
		if _, errOut, err := u.kyma("bind", "e2e-limit"); err != nil {
			t.Fatalf("bind %d: %v\n%s", i+1, err, errOut)
		}
	}

	_, errOut, err := u.kyma("bind", "e2e-limit")
	if err == nil {
		t.Fatal("the eleventh live binding was made")
	}
	t.Logf("the limit error:\n%s", errOut)
	for _, want := range []string{
		"maximum number of non expired bindings reached: 10",
		"e2e-limit has 10 live bindings (the limit is 10):",
		"ID", "CREATED", "EXPIRES", "MADE BY THIS MACHINE",
		"'kubectl kyma gc e2e-limit'",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("the limit error lacks %q", want)
		}
	}
	if n := strings.Count(errOut, "yes (kubectl kyma bind)"); n != 8 {
		t.Errorf("the limit error marks %d bindings as made here, want 8", n)
	}
	for _, id := range theirs {
		if !lineHas(errOut, id, "  no") {
			t.Errorf("the limit error does not list the other machine's %s as not made here", id)
		}
	}

	out := u.mustKyma("gc", "e2e-limit")
	if strings.Count(out, "deleted (made here by kubectl kyma bind)") != 8 || !strings.Contains(out, "e2e-limit: 8 binding(s) deleted, 2 of 10 live bindings left") {
		t.Errorf("gc said:\n%s", out)
	}
	live := u.liveBindings("e2e-limit")
	if len(live) != 2 || !contains(live, theirs[0]) || !contains(live, theirs[1]) {
		t.Errorf("after gc the live bindings are %v, want the other machine's %v", live, theirs)
	}
	u.mustKyma("bind", "e2e-limit")
	if out := u.mustKyma("gc", "e2e-limit"); !strings.Contains(out, "1 binding(s) deleted, 2 of 10") {
		t.Errorf("a second gc said:\n%s", out)
	}
}

// lineHas reports whether the line of text that holds id also holds word.
func lineHas(text, id, word string) bool {
	for l := range strings.Lines(text) {
		if strings.Contains(l, id) {
			return strings.Contains(l, word)
		}
	}
	return false
}

// TestRunScopedBinding: the session's binding works while COMMAND runs, is gone after it ends,
// the exit status is COMMAND's, and --role narrows what COMMAND may do.
func TestRunScopedBinding(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t)
	u := newUser(t)
	u.login(emu)
	u.provision("e2e-run")

	out, errOut, err := u.kyma("run", "e2e-run", "--", "sh", "-c", `echo "$KUBECTL_KYMA_BINDING_ID"; kubectl get ns -o name; kubectl auth whoami -o jsonpath='{.status.userInfo.username}'`)
	if err != nil {
		t.Fatalf("run: %v\n%s%s", err, out, errOut)
	}
	lines := strings.Split(out, "\n")
	id := lines[0]
	if !strings.Contains(out, "namespace/default") || !strings.HasSuffix(out, "system:serviceaccount:kyma-system:kyma-binding-"+id) {
		t.Errorf("kubectl inside run:\n%s", out)
	}
	if contains(u.liveBindings("e2e-run"), id) {
		t.Errorf("binding %s is still live after the command ended", id)
	}

	// The exit status is COMMAND's; its failure is not reported a second time.
	_, errOut, err = u.kyma("run", "e2e-run", "--", "sh", "-c", "exit 7")
	if code := exitCodeOf(err); code != 7 || strings.Contains(errOut, "error:") {
		t.Errorf("run of exit 7: status %d, stderr %q", code, errOut)
	}
	_, errOut, err = u.kyma("run", "e2e-run", "--", "no-such-command-e2e")
	if code := exitCodeOf(err); code != 127 || !strings.Contains(errOut, "error: run no-such-command-e2e") {
		t.Errorf("run of a missing command: status %d, stderr %q", code, errOut)
	}

	// --role view: reads work, writes are refused; --role edit: writes, but no RBAC,
	// not even to the binding's own ClusterRole. Each line is kubectl auth can-i's
	// answer, asked inside the session.
	script := `kubectl get ns -o name >/dev/null || exit 99
echo "create pods: $(kubectl auth can-i create pods)"
echo "delete namespaces: $(kubectl auth can-i delete namespaces)"
echo "create clusterroles: $(kubectl auth can-i create clusterroles.rbac.authorization.k8s.io)"
echo "update own role: $(kubectl auth can-i update clusterroles.rbac.authorization.k8s.io/kyma-binding-$KUBECTL_KYMA_BINDING_ID)"`
	for _, tc := range []struct{ role, want string }{
		{"view", "create pods: no\ndelete namespaces: no\ncreate clusterroles: no\nupdate own role: no\n"},
		{"edit", "create pods: yes\ndelete namespaces: yes\ncreate clusterroles: no\nupdate own role: no\n"},
		{"admin", "create pods: yes\ndelete namespaces: yes\ncreate clusterroles: yes\nupdate own role: yes\n"},
	} {
		out, errOut, err := u.kyma("run", "e2e-run", "--role", tc.role, "--", "sh", "-c", script)
		if err != nil {
			t.Errorf("run --role %s: %v\n%s%s", tc.role, err, out, errOut)
			continue
		}
		if out != tc.want {
			t.Errorf("run --role %s: kubectl auth can-i inside said\n%s\nwant\n%s", tc.role, out, tc.want)
		}
	}
	if live := u.liveBindings("e2e-run"); len(live) != 0 {
		t.Errorf("bindings left after the runs: %v", live)
	}
}

// TestRunInterrupted: a SIGINT to `kubectl kyma run` reaches COMMAND, and the
// binding is deleted.
func TestRunInterrupted(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t)
	u := newUser(t)
	u.login(emu)
	u.provision("e2e-sigint")

	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		cmd := exec.Command("kubectl", "kyma", "run", "e2e-sigint", "--", "sh", "-c", `echo "$KUBECTL_KYMA_BINDING_ID"; exec sleep 120`)
		cmd.Env, cmd.Dir = u.env, u.home
		var errOut strings.Builder
		cmd.Stderr = &errOut
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		id, err := bufio.NewReader(stdout).ReadString('\n')
		id = strings.TrimSpace(id)
		if err != nil || id == "" {
			_ = cmd.Process.Kill()
			t.Fatalf("run printed no binding id: %v\n%s", err, errOut.String())
		}
		if !contains(u.liveBindings("e2e-sigint"), id) {
			t.Errorf("binding %s is not live while the command runs", id)
		}
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if code, want := exitCodeOf(err), 128+int(sig.(syscall.Signal)); code != want {
				t.Errorf("after %v: status %d, want %d\n%s", sig, code, want, errOut.String())
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("run did not end within 30s of %v", sig)
		}
		eventually(t, 30*time.Second, "the binding is deleted after "+sig.String(), func() bool {
			return !contains(u.liveBindings("e2e-sigint"), id)
		})
		out, err := kubectl(t, nil, "--kubeconfig", cluster.Kubeconfig, "get", "serviceaccount", "-n", "kyma-system", "kyma-binding-"+id)
		if err == nil || !strings.Contains(out, "NotFound") {
			t.Errorf("the binding's ServiceAccount is still on the cluster after %v: %v\n%s", sig, err, out)
		}
	}
}

// TestStatusCommand: status -o json shows each cached credential with its time left,
// refresh in flight (and by which process) and live bindings against the limit.
func TestStatusCommand(t *testing.T) {
	t.Parallel()
	// A slow bind keeps the background refresh in flight long enough to be seen on a
	// loaded machine.
	emu := startEmulator(t, "--binding-ttl", "60s", "--bind-delay", "12s", "--bind-timeout", "30s")
	u := newUser(t)
	u.login(emu)
	envID := u.provision("e2e-status")
	kc := filepath.Join(u.home, "status.kubeconfig")
	u.mustKyma("kubeconfig", "e2e-status", "--output-file", kc, "--refresh-ahead", "0.5")
	made := time.Now()
	first, _ := u.entry(envID)

	type item struct {
		Profile         string    `json:"profile"`
		Environment     string    `json:"environment"`
		EnvironmentName string    `json:"environmentName"`
		BindingID       string    `json:"bindingId"`
		ExpiresAt       time.Time `json:"expiresAt"`
		TimeLeft        *int      `json:"timeLeftSeconds"`
		InFlight        bool      `json:"refreshInFlight"`
		PID             int       `json:"refreshPid"`
		LiveBindings    *int      `json:"liveBindings"`
		BindingLimit    int       `json:"bindingLimit"`
		MadeHere        *int      `json:"liveBindingsMadeHere"`
	}
	status := func(args ...string) item {
		t.Helper()
		var list struct {
			Kind  string `json:"kind"`
			Items []item `json:"items"`
		}
		out := u.mustKyma(append([]string{"status", "-o", "json"}, args...)...)
		if err := json.Unmarshal([]byte(out), &list); err != nil || list.Kind != "List" || len(list.Items) != 1 {
			t.Fatalf("status -o json: %v\n%s", err, out)
		}
		return list.Items[0]
	}

	s := status()
	if s.Profile != "default" || s.Environment != envID || s.EnvironmentName != "e2e-status" || s.BindingID != first ||
		s.TimeLeft == nil || *s.TimeLeft <= 0 || *s.TimeLeft > 60 || s.ExpiresAt.IsZero() || s.InFlight {
		t.Errorf("status: %+v", s)
	}
	if s.LiveBindings == nil || *s.LiveBindings != 1 || s.BindingLimit != 10 || s.MadeHere == nil || *s.MadeHere != 1 {
		t.Errorf("status live bindings: %+v", s)
	}
	if c := status("--cached-only"); c.LiveBindings != nil || c.BindingID != first {
		t.Errorf("status --cached-only: %+v", c)
	}

	// Past half the lifetime a kubectl call starts the background refresh, which the
	// emulator holds for 12 s: status shows it in flight, by its process.
	time.Sleep(time.Until(made.Add(31 * time.Second)))
	if out, err := u.kubectl("--kubeconfig", kc, "get", "ns", "-o", "name"); err != nil {
		t.Fatalf("kubectl: %v\n%s", err, out)
	}
	// The refresh notes its PID beside the lock as it starts.
	var inFlight item
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if inFlight = status("--cached-only"); inFlight.InFlight && inFlight.PID > 0 {
			break
		}
	}
	if !inFlight.InFlight || inFlight.PID <= 0 || inFlight.BindingID != first {
		t.Errorf("status during the background refresh: %+v", inFlight)
	}
	table := u.mustKyma("status", "--cached-only")
	if !strings.Contains(table, fmt.Sprintf("in flight (pid %d)", inFlight.PID)) {
		t.Errorf("status table during the refresh:\n%s", table)
	}
	eventually(t, 30*time.Second, "the background refresh ends", func() bool {
		s := status("--cached-only")
		return !s.InFlight && s.BindingID != first
	})
}

// TestParallelMergesOfOneEnvironment: twenty `kubectl kyma kubeconfig` processes merging into one
// file at once, each under its own context name, leave a valid kubeconfig with all
// twenty contexts, and the file's mode. Four environments, five merges each: every
// merge makes a binding, and an environment allows ten.
func TestParallelMergesOfOneEnvironment(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t)
	u := newUser(t)
	u.login(emu)
	envs := []string{"e2e-merge-a", "e2e-merge-b", "e2e-merge-c", "e2e-merge-d"}
	for _, env := range envs {
		u.mustKyma("provision", env, "--plan", "aws", "--region", "eu-central-1", "--user", "e2e@example.com")
	}
	for _, env := range envs {
		eventually(t, 60*time.Second, env+" is ready", func() bool {
			out, _, _ := u.kyma("get", env, "-o", "jsonpath={.state}")
			return out == "OK"
		})
	}
	path := filepath.Join(u.home, "merged.kubeconfig")
	if err := os.WriteFile(path, []byte(existingKubeconfig), 0o640); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() {
			out, errOut, err := u.kyma("kubeconfig", envs[i%len(envs)], "--kubeconfig", path, "--context-name", fmt.Sprintf("ctx-%02d", i), "--no-switch")
			if err != nil {
				errs[i] = fmt.Errorf("%v: %s%s", err, out, errOut)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("merge %d: %v", i, err)
		}
	}
	out, err := u.kubectl("--kubeconfig", path, "config", "get-contexts", "-o", "name")
	if err != nil {
		t.Fatalf("the merged kubeconfig does not load: %v\n%s", err, out)
	}
	want := "ctx-00\n"
	for i := 1; i < 20; i++ {
		want += fmt.Sprintf("ctx-%02d\n", i)
	}
	if want += "other\n"; out != want {
		t.Errorf("contexts after 20 parallel merges:\n%s", out)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("the kubeconfig's mode changed: %v %v", fi.Mode(), err)
	}
	if out, err := u.kubectl("--kubeconfig", path, "--context", "ctx-13", "get", "ns", "-o", "name"); err != nil || !strings.Contains(out, "namespace/kyma-system") {
		t.Errorf("kubectl through a merged context: %v\n%s", err, out)
	}

	// --dry-run prints the change as a diff and leaves the file as it was.
	before, _ := os.ReadFile(path)
	diff := u.mustKyma("kubeconfig", envs[0], "--kubeconfig", path, "--context-name", "ctx-new", "--dry-run")
	for _, want := range []string{"--- " + path, "+++ " + path, "+  name: ctx-new", "-current-context: other", "+current-context: ctx-new", "@@ -"} {
		if !strings.Contains(diff, want) {
			t.Errorf("the dry run's diff lacks %q:\n%s", want, diff)
		}
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("kubeconfig --dry-run changed the file")
	}
}
