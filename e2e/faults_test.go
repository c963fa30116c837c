package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The emulator's fault injection (POST /emulator/v1/faults) makes the service fail the
// way real ones do; these tests check what the user then sees, through the built
// binaries, the real kubectl and the real cluster.

const (
	listRoute = "GET /provisioning/v1/environments"
	bindRoute = "PUT /provisioning/v1/environments/{id}/bindings"
)

// fault adds a fault rule (see internal/emulator/faults.go).
func (e *emulator) fault(t testing.TB, rule string) {
	t.Helper()
	resp, err := e.client.Post(e.URL+"/emulator/v1/faults", "application/json", strings.NewReader(rule))
	if err != nil {
		t.Fatalf("add fault %s: %v", rule, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("add fault %s: %s", rule, resp.Status)
	}
}

// clearFaults drops every fault rule.
func (e *emulator) clearFaults(t testing.TB) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, e.URL+"/emulator/v1/faults", nil)
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatalf("clear faults: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("clear faults: %s", resp.Status)
	}
}

// outcome is what a command did under a fault rule: its output, and the requests the
// emulator counted meanwhile.
type outcome struct {
	stdout, stderr string
	err            error
	took           time.Duration
	faulted        int // requests a fault rule changed
	bindRequests   int // create-binding requests that reached the handler
	made           int // bindings made
}

// failsWithOneSentence checks that a command failed with a non-zero exit and printed
// exactly one line on stderr, "error: ...", holding each of want; and that nothing it
// printed holds a stack trace.
func failsWithOneSentence(t *testing.T, o outcome, want ...string) {
	t.Helper()
	var ee *exec.ExitError
	if !errors.As(o.err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("the command did not fail (%v)\nstdout: %s\nstderr: %s", o.err, o.stdout, o.stderr)
	}
	lines := strings.Split(strings.TrimSpace(o.stderr), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "error: ") {
		t.Errorf("stderr is not one line 'error: ...':\n%s", o.stderr)
	}
	for _, w := range want {
		if !strings.Contains(o.stderr, w) {
			t.Errorf("stderr does not say %q:\n%s", w, o.stderr)
		}
	}
	printsNone(t, o, "goroutine ", "panic:")
	t.Logf("stderr: %s", strings.TrimSpace(o.stderr))
}

// printsNone checks that a command printed none of never (raw bodies, tokens).
func printsNone(t *testing.T, o outcome, never ...string) {
	t.Helper()
	for _, n := range never {
		if strings.Contains(o.stdout+o.stderr, n) {
			t.Errorf("the output holds %q:\nstdout: %s\nstderr: %s", n, o.stdout, o.stderr)
		}
	}
}

// TestFaultsRetries: idempotent calls are repeated through passing faults, within a
// budget of four retries, honouring Retry-After; the Provisioning Service's bind, which
// makes a new binding each time, is repeated only after a 429.
func TestFaultsRetries(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t)
	u := newUser(t)
	u.login(emu)
	u.provision("e2e-faults")

	// under runs `kubectl kyma ARGS` with one fault rule in force and reports what
	// reached the emulator.
	under := func(t *testing.T, rule string, args ...string) outcome {
		t.Helper()
		emu.clearFaults(t)
		before := emu.stats(t)
		emu.fault(t, rule)
		var o outcome
		start := time.Now()
		o.stdout, o.stderr, o.err = u.kyma(args...)
		o.took = time.Since(start)
		after := emu.stats(t)
		emu.clearFaults(t)
		o.faulted = after.FaultedRequests - before.FaultedRequests
		o.bindRequests = after.BindingRequests - before.BindingRequests
		o.made = after.BindingsCreated - before.BindingsCreated
		return o
	}
	listed := func(t *testing.T, o outcome) {
		t.Helper()
		if o.err != nil || !strings.Contains(o.stdout, "e2e-faults") {
			t.Fatalf("list failed: %v\nstdout: %s\nstderr: %s", o.err, o.stdout, o.stderr)
		}
	}

	t.Run("two 503s with Retry-After", func(t *testing.T) {
		o := under(t, `{"route":"`+listRoute+`","count":2,"status":503,"retryAfter":"1"}`, "list")
		listed(t, o)
		if o.faulted != 2 || o.took < 2*time.Second {
			t.Errorf("%d requests faulted, list took %s; want 2, and at least 2 s (Retry-After: 1, twice)", o.faulted, o.took)
		}
	})
	t.Run("a dropped connection", func(t *testing.T) {
		o := under(t, `{"route":"`+listRoute+`","drop":true}`, "list")
		listed(t, o)
		if o.faulted != 1 {
			t.Errorf("%d requests faulted, want 1", o.faulted)
		}
	})
	t.Run("429 with Retry-After", func(t *testing.T) {
		o := under(t, `{"route":"`+listRoute+`","status":429,"retryAfter":"3"}`, "list")
		listed(t, o)
		// Without Retry-After the first backoff is at most one second.
		if o.faulted != 1 || o.took < 3*time.Second {
			t.Errorf("%d requests faulted, list took %s; want 1, and at least the 3 s Retry-After asked for", o.faulted, o.took)
		}
	})
	t.Run("more faults than the retry budget", func(t *testing.T) {
		o := under(t, `{"route":"`+listRoute+`","count":10,"status":503,"retryAfter":"1","message":"Service is down for maintenance"}`, "list")
		failsWithOneSentence(t, o, "503 Service Unavailable", "Service is down for maintenance")
		if o.faulted != 5 {
			t.Errorf("%d requests reached the service, want 5: the first and four retries", o.faulted)
		}
		if out := u.mustKyma("list"); !strings.Contains(out, "e2e-faults") {
			t.Errorf("list once the service is back:\n%s", out)
		}
	})

	t.Run("bind is not repeated after a 502", func(t *testing.T) {
		o := under(t, `{"route":"`+bindRoute+`","count":5,"status":502,"message":"upstream request timeout"}`, "bind", "e2e-faults")
		failsWithOneSentence(t, o, `bind "e2e-faults"`, "502 Bad Gateway", "upstream request timeout")
		if o.faulted != 1 || o.bindRequests != 0 || o.made != 0 {
			t.Errorf("%d bind requests faulted, %d reached the handler, %d bindings made; want exactly one request, faulted", o.faulted, o.bindRequests, o.made)
		}
	})
	t.Run("bind is not repeated after a dropped connection", func(t *testing.T) {
		o := under(t, `{"route":"`+bindRoute+`","count":5,"drop":true}`, "bind", "e2e-faults")
		failsWithOneSentence(t, o, `bind "e2e-faults"`, "Provisioning Service")
		if o.faulted != 1 || o.bindRequests != 0 || o.made != 0 {
			t.Errorf("%d bind requests faulted, %d reached the handler, %d bindings made; want exactly one request, dropped", o.faulted, o.bindRequests, o.made)
		}
	})
	t.Run("bind is repeated after a 429", func(t *testing.T) {
		o := under(t, `{"route":"`+bindRoute+`","status":429,"retryAfter":"1"}`, "bind", "e2e-faults")
		if o.err != nil || !strings.Contains(o.stdout, "kind: Config") {
			t.Fatalf("bind after a 429: %v\nstderr: %s", o.err, o.stderr)
		}
		if o.faulted != 1 || o.bindRequests != 1 || o.made != 1 {
			t.Errorf("%d bind requests faulted, %d reached the handler, %d bindings made; want 1, 1, 1", o.faulted, o.bindRequests, o.made)
		}
	})
}

// TestFaultsBadBodies: an answer cut short, or an HTML page where JSON belongs, gives
// one sentence, without the body.
func TestFaultsBadBodies(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t)
	u := newUser(t)
	u.login(emu)
	u.provision("e2e-bodies")

	for _, tc := range []struct {
		name, rule string
		args       []string
		want       []string
		never      []string
	}{
		{"list, not JSON", `{"route":"` + listRoute + `","notJSON":true}`, []string{"list"},
			[]string{"the Provisioning Service answered 200 with a body that is not the expected JSON"}, []string{"<html", "proxy in front"}},
		{"list, truncated", `{"route":"` + listRoute + `","truncate":true}`, []string{"list"},
			[]string{"cannot read the Provisioning Service's answer"}, []string{"environmentInstances", "e2e-bodies"}},
		{"bind, a proxy's error page", `{"route":"` + bindRoute + `","notJSON":true,"status":502}`, []string{"bind", "e2e-bodies"},
			[]string{`bind "e2e-bodies"`, "502 Bad Gateway with a body that is not JSON"}, []string{"<html", "proxy in front"}},
		{"bind, not JSON", `{"route":"` + bindRoute + `","notJSON":true}`, []string{"bind", "e2e-bodies"},
			[]string{`bind "e2e-bodies"`, "not the expected JSON"}, []string{"<html", "proxy in front"}},
		{"bind, truncated", `{"route":"` + bindRoute + `","truncate":true}`, []string{"bind", "e2e-bodies"},
			[]string{`bind "e2e-bodies"`, "cannot read the Provisioning Service's answer"}, []string{"kubeconfig", "apiVersion", "eyJ"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			emu.clearFaults(t)
			before := emu.stats(t).FaultedRequests
			emu.fault(t, tc.rule)
			var o outcome
			o.stdout, o.stderr, o.err = u.kyma(tc.args...)
			failsWithOneSentence(t, o, tc.want...)
			printsNone(t, o, tc.never...)
			if faulted := emu.stats(t).FaultedRequests - before; faulted != 1 {
				t.Errorf("%d requests faulted, want 1", faulted)
			}
		})
	}
}

// cacheEntry is the user's cached credential file for an environment: its bytes, and
// the times in it.
type cacheEntry struct {
	raw       []byte
	BindingID string    `json:"bindingId"`
	IssuedAt  time.Time `json:"issuedAt"`
	ExpiresAt time.Time `json:"expiresAt"`
}

func (u *user) cacheEntry(envID string) cacheEntry {
	u.t.Helper()
	path := filepath.Join(u.home, ".cache", "kubectl-kyma", "credentials", "default", envID+".json")
	raw, err := os.ReadFile(path)
	if err != nil {
		u.t.Fatalf("read the cache entry: %v", err)
	}
	e := cacheEntry{raw: raw}
	if err := json.Unmarshal(raw, &e); err != nil {
		u.t.Fatalf("the cache entry is not JSON: %v", err)
	}
	return e
}

// lastRefreshFailure is when the helper last failed to make a binding, from the file it
// keeps beside the entry.
func (u *user) lastRefreshFailure(envID string) time.Time {
	u.t.Helper()
	raw, err := os.ReadFile(filepath.Join(u.home, ".cache", "kubectl-kyma", "credentials", "default", envID+".refresh-error"))
	if err != nil {
		u.t.Fatalf("no refresh failure recorded: %v", err)
	}
	var f struct {
		Time time.Time `json:"time"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		u.t.Fatal(err)
	}
	return f.Time
}

func sleepUntil(t time.Time) { time.Sleep(time.Until(t)) }

// TestFaultsCredentialHelperKeepsWorking: bindings live 90 s and the helper stops handing
// one out 45 s before its end (the largest margin allowed: half the lifetime). When the service fails to bind in those 45 s, kubectl
// still works on the cached token, the helper says so, the entry stays as it was, and
// the service is asked again only after 30 s; then a new binding is made.
func TestFaultsCredentialHelperKeepsWorking(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, "--binding-ttl", "90s")
	u := newUser(t)
	u.login(emu)
	envID := u.provision("e2e-faulty-bind")
	kc := filepath.Join(u.home, "faulty.kubeconfig")
	u.mustKyma("kubeconfig", "e2e-faulty-bind", "--output-file", kc, "--refresh-margin", "45s")
	first := u.cacheEntry(envID)
	if life := first.ExpiresAt.Sub(first.IssuedAt); life < 85*time.Second || life > 95*time.Second {
		t.Fatalf("the binding lives %s, want 90 s", life)
	}

	get := func() (stdout, stderr string) {
		t.Helper()
		stdout, stderr, err := u.run(nil, "kubectl", "--kubeconfig", kc, "get", "ns", "-o", "name")
		if err != nil || !strings.Contains(stdout, "namespace/default") {
			t.Fatalf("kubectl failed: %v\nstdout: %s\nstderr: %s", err, stdout, stderr)
		}
		return stdout, stderr
	}
	const note = "kubectl-kyma: cannot make a new binding ("

	emu.fault(t, `{"route":"`+bindRoute+`","count":100,"status":503,"message":"Service is down for maintenance"}`)
	base := emu.stats(t)
	sleepUntil(first.IssuedAt.Add(45*time.Second + 500*time.Millisecond)) // past the margin
	if _, errOut := get(); !strings.Contains(errOut, note) || !strings.Contains(errOut, "Service is down for maintenance") {
		t.Errorf("kubectl's stderr does not say the cached token is used because the bind failed:\n%s", errOut)
	}
	failed := u.lastRefreshFailure(envID)
	if s := emu.stats(t); s.FaultedRequests-base.FaultedRequests != 1 || s.BindingsCreated != base.BindingsCreated {
		t.Errorf("one kubectl call made %d bind requests and %d bindings; want one request, refused", s.FaultedRequests-base.FaultedRequests, s.BindingsCreated-base.BindingsCreated)
	}
	if e := u.cacheEntry(envID); !bytes.Equal(e.raw, first.raw) {
		t.Errorf("a failed refresh changed the cache entry")
	}

	// Within 30 s of the failure the service is not asked again, up or down.
	emu.clearFaults(t)
	if _, errOut := get(); !strings.Contains(errOut, note) {
		t.Errorf("a call within 30 s of the failure: stderr does not say the cached token is used:\n%s", errOut)
	}
	if s := emu.stats(t); s.FaultedRequests != base.FaultedRequests+1 || s.BindingRequests != base.BindingRequests {
		t.Errorf("a call within 30 s of a failed bind asked the service again")
	}
	if e := u.cacheEntry(envID); !bytes.Equal(e.raw, first.raw) {
		t.Errorf("the cache entry changed")
	}

	// After 30 s, while the cached token is still valid, the next call makes a binding.
	sleepUntil(failed.Add(31 * time.Second))
	if !time.Now().Before(first.ExpiresAt) {
		t.Fatalf("the machine is too slow for this test: the binding expired before the backoff ended")
	}
	if _, errOut := get(); strings.Contains(errOut, note) {
		t.Errorf("the service is back, but the helper still hands out the old token:\n%s", errOut)
	}
	if e := u.cacheEntry(envID); e.BindingID == first.BindingID {
		t.Errorf("the cache still holds the old binding after the backoff")
	}
	if s := emu.stats(t); s.BindingsCreated != base.BindingsCreated+1 {
		t.Errorf("%d bindings made after the backoff, want 1", s.BindingsCreated-base.BindingsCreated)
	}
}

// TestFaultsCredentialHelperNothingLeft: when the cached binding has expired and the
// service cannot bind, kubectl fails and the helper says why in one sentence; the entry
// stays; once the service is back, kubectl works again.
func TestFaultsCredentialHelperNothingLeft(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, "--binding-ttl", "20s")
	u := newUser(t)
	u.login(emu)
	envID := u.provision("e2e-no-bind")
	kc := filepath.Join(u.home, "nothing.kubeconfig")
	u.mustKyma("kubeconfig", "e2e-no-bind", "--output-file", kc)
	first := u.cacheEntry(envID)

	emu.fault(t, `{"route":"`+bindRoute+`","count":100,"status":503,"message":"Service is down for maintenance"}`)
	sleepUntil(first.ExpiresAt.Add(time.Second))
	want := "error: make a binding for environment " + envID + ": the Provisioning Service answered 503 Service Unavailable: Service is down for maintenance"

	before := emu.stats(t).FaultedRequests
	stdout, stderr, err := u.run(nil, "kubectl", "--kubeconfig", kc, "get", "ns", "-o", "name")
	if err == nil || strings.Contains(stdout, "namespace/") {
		t.Fatalf("kubectl worked with an expired binding and no service:\n%s", stdout)
	}
	// kubectl runs the helper again for each request it retries; for a few seconds
	// after a failure the helper repeats it without asking the service again.
	if n := emu.stats(t).FaultedRequests - before; n != 1 {
		t.Errorf("one failing kubectl command made %d bind requests, want 1", n)
	}
	if !strings.Contains(stderr, want) || strings.Contains(stderr, "cannot make a new binding") || strings.Contains(stderr, "goroutine ") {
		t.Errorf("kubectl's stderr does not carry the helper's one sentence %q:\n%s", want, stderr)
	}

	// The helper itself, as kubectl runs it: one line on stderr, nothing on stdout.
	info := `{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":false,"cluster":{"server":"` + cluster.Server + `","certificate-authority-data":"` + base64(cluster.CAData) + `"}}}`
	var o outcome
	o.stdout, o.stderr, o.err = u.run([]string{"KUBERNETES_EXEC_INFO=" + info}, filepath.Join(binDir, "kubectl-kyma"), "credential", "--profile", "default", "--environment", envID)
	failsWithOneSentence(t, o, want)
	if o.stdout != "" {
		t.Errorf("the failed helper printed %q", o.stdout)
	}
	if e := u.cacheEntry(envID); !bytes.Equal(e.raw, first.raw) {
		t.Errorf("a failed refresh changed the cache entry")
	}

	emu.clearFaults(t)
	eventually(t, 20*time.Second, "kubectl works once the service is back", func() bool {
		_, err := u.kubectl("--kubeconfig", kc, "get", "ns", "-o", "name")
		return err == nil
	})
}
