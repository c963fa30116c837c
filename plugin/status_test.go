package plugin

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
	"github.com/kubectl-kyma/kubectl-kyma/internal/golden"
	"github.com/kubectl-kyma/kubectl-kyma/internal/printers"
)

// statusEnv has two cached credentials: env-a with a background refresh in flight
// (this process holds its lock; the PID noted beside it is 1, a process that always
// runs, so the golden files know it), env-b expired, whose last background refresh failed.
func statusEnv(t *testing.T, svc binding.Service) *testEnv {
	t.Helper()
	e := newTestEnv(t, svc)
	e.store(t, "env-a", &credential.Entry{BindingID: "b-a2", IssuedAt: now.Add(-8 * time.Minute), ExpiresAt: now.Add(2 * time.Minute),
		Superseded: []credential.Superseded{{BindingID: "b-a1", After: now.Add(time.Minute)}}})
	e.store(t, "env-b", &credential.Entry{BindingID: "b-b1", IssuedAt: now.Add(-15 * time.Minute), ExpiresAt: now.Add(-5 * time.Minute)})
	e.record("env-a", madeByCredential, now.Add(-18*time.Minute), "b-a1", "b-a2")

	dir := filepath.Join(e.cache, "credentials", "test")
	lock := flock.New(filepath.Join(dir, "env-a.json.lock"))
	if ok, err := lock.TryLock(); !ok || err != nil {
		t.Fatal(ok, err)
	}
	t.Cleanup(func() { _ = lock.Unlock() })
	if err := os.WriteFile(filepath.Join(dir, "env-a.pid"), []byte("1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	failure := fmt.Sprintf(`{"time":%q,"error":"make a binding for environment env-b: 503 Service Unavailable"}`, now.Add(-3*time.Minute).Format(time.RFC3339))
	if err := os.WriteFile(filepath.Join(dir, "env-b.refresh-error"), []byte(failure), 0o600); err != nil {
		t.Fatal(err)
	}
	// An entry that was never locked has no lock file: status must not create one.
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(dir, "env-b.json.lock")); err == nil {
			t.Error("status created a lock file")
		}
	})
	return e
}

func TestStatusGolden(t *testing.T) {
	svc := newFakeBindings("b-a1", "b-a2", "someone-elses")
	for _, tc := range []struct{ name, output string }{{"default", ""}, {"wide", "wide"}, {"json", "json"}} {
		t.Run(tc.name, func(t *testing.T) {
			e := statusEnv(t, svc)
			args := []string{"status"}
			if tc.output != "" {
				args = append(args, "-o", tc.output)
			}
			if err := e.run(args...); err != nil {
				t.Fatalf("status: %v\n%s", err, e.err)
			}
			golden.Assert(t, "status/"+tc.name, e.out.String())
		})
	}
}

// --cached-only makes no network call: the factory of newTestEnv fails the test if
// an HTTP client is asked for, and here the binding service too.
func TestStatusCachedOnlyStaysOffTheNetwork(t *testing.T) {
	e := statusEnv(t, nil)
	e.f.Bindings = func() (binding.Service, error) {
		t.Error("--cached-only asked for the binding service")
		return nil, fmt.Errorf("no")
	}
	e.f.Profile = func() (*config.Profile, error) {
		t.Error("--cached-only with --profile loaded the profile")
		return nil, fmt.Errorf("no")
	}
	if err := e.run("status", "--cached-only", "--profile", "test"); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "status/cached-only", e.out.String())

	if err := e.run("status", "--cached-only", "--profile", "test", "-o", "json"); err != nil {
		t.Fatal(err)
	}
	var list struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal(e.out.Bytes(), &list); err != nil || len(list.Items) != 2 {
		t.Fatalf("status -o json: %v\n%s", err, e.out)
	}
	a := list.Items[0]
	for _, field := range []string{"profile", "environment", "bindingId", "expiresAt", "timeLeftSeconds", "refreshInFlight", "refreshPid"} {
		if _, ok := a[field]; !ok {
			t.Errorf("status -o json has no %s: %v", field, a)
		}
	}
	if _, ok := a["liveBindings"]; ok {
		t.Errorf("--cached-only reports live bindings: %v", a)
	}
	if list.Items[1]["lastRefreshError"] == nil {
		t.Errorf("env-b has no lastRefreshError: %v", list.Items[1])
	}
}

func TestStatusOfAnEmptyCache(t *testing.T) {
	e := newTestEnv(t, newFakeBindings())
	if err := e.run("status"); err != nil {
		t.Fatal(err)
	}
	if e.out.String() != "" || e.err.String() != "No resources found.\n" {
		t.Errorf("stdout %q, stderr %q", e.out, e.err)
	}
}

func TestStatusFlags(t *testing.T) {
	testFlags(t, NewCmdStatus, []flagsCase[StatusOptions]{
		{args: []string{"status"}, want: &StatusOptions{}},
		{args: []string{"status", "--cached-only", "-o", "jsonpath={.items[*].timeLeftSeconds}"},
			want: &StatusOptions{CachedOnly: true, out: printers.Flags{Output: "jsonpath={.items[*].timeLeftSeconds}"}}},
		{args: []string{"status", "-o", "json"}, want: &StatusOptions{out: printers.Flags{Output: "json"}}},
		{args: []string{"status", "-o", "jsonpath"}, wantErr: "-o jsonpath needs a template"},
		{args: []string{"status", "prod"}, wantErr: `unknown command "prod" for "kubectl kyma status"`},
	})
}
