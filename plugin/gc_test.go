package plugin

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/flock"
	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/broker"
	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/golden"
	"github.com/kubectl-kyma/kubectl-kyma/internal/ledger"
)

// record writes made-record lines, as the commands that make bindings do.
func (e *testEnv) record(env, kind string, at time.Time, ids ...string) {
	saved := e.f.Clock
	e.f.Clock = clock.NewFake(at)
	for _, id := range ids {
		recordMade(e.f, env, id, kind)
	}
	e.f.Clock = saved
}

func (e *testEnv) store(t *testing.T, env string, entry *credential.Entry) {
	t.Helper()
	entry.Environment = env
	if entry.Token == "" {
		entry.Token = "tok"
	}
	if entry.ExpiresAt.IsZero() {
		entry.IssuedAt, entry.ExpiresAt = now.Add(-time.Minute), now.Add(9*time.Minute)
	}
	if err := (credential.Cache{Dir: e.cache}).Store(credential.Key{Profile: "test", Environment: env}, entry); err != nil {
		t.Fatal(err)
	}
}

func TestGCDeletesWhatThisMachineMadeAndNoLongerUses(t *testing.T) {
	svc := newFakeBindings("current", "superseded", "by-bind", "by-credential", "by-run", "someone-elses")
	e := newTestEnv(t, svc)
	e.record("env-1", madeByCredential, now.Add(-20*time.Minute), "by-credential", "superseded")
	e.record("env-1", madeByKubeconfig, now.Add(-15*time.Minute), "current")
	e.record("env-1", madeByBind, now.Add(-10*time.Minute), "by-bind", "expired-long-ago")
	e.record("env-1", madeByRun, now.Add(-5*time.Minute), "by-run")
	e.store(t, "env-1", &credential.Entry{BindingID: "current", Superseded: []credential.Superseded{{BindingID: "superseded", After: now.Add(time.Minute)}}})
	release, err := ledger.Open(e.cache, "test", "env-1").HoldInUse("by-run")
	if err != nil {
		t.Fatal(err)
	}
	defer release()

	if err := e.run("gc", "env-1"); err != nil {
		t.Fatalf("gc: %v\n%s", err, e.err)
	}
	want := `binding/by-run kept: a 'kubectl kyma run' still uses it
binding/superseded deleted (superseded in the credential cache)
binding/by-bind deleted (made here by kubectl kyma bind)
binding/by-credential deleted (made here by the credential helper)
env-1: 3 binding(s) deleted, 3 of 10 live bindings left
`
	if diff := cmp.Diff(want, e.out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"by-run", "current", "someone-elses"}, svc.LiveIDs()); diff != "" {
		t.Errorf("live bindings (-want +got):\n%s", diff)
	}
	// The record forgets what is gone, keeps what may be live.
	if diff := cmp.Diff([]string{"by-run", "current"}, slices.Sorted(maps.Keys(ledger.Open(e.cache, "test", "env-1").Read()))); diff != "" {
		t.Errorf("record after gc (-want +got):\n%s", diff)
	}

	// A run that ended (its lock released) no longer protects its binding.
	release()
	if err := e.run("gc"); err != nil {
		t.Fatalf("gc: %v\n%s", err, e.err)
	}
	if !strings.Contains(e.out.String(), "binding/by-run deleted (made here by kubectl kyma run)") {
		t.Errorf("gc without an environment:\n%s", e.out)
	}
}

func TestGCLeavesTheBindingOfARefreshInFlight(t *testing.T) {
	svc := newFakeBindings("current", "minting")
	e := newTestEnv(t, svc)
	e.store(t, "env-1", &credential.Entry{BindingID: "current", IssuedAt: now.Add(-9 * time.Minute), ExpiresAt: now.Add(time.Minute)})
	e.record("env-1", madeByCredential, now.Add(-9*time.Minute), "current")
	e.record("env-1", madeByCredential, now, "minting") // made, not yet stored
	lock := flock.New(filepath.Join(e.cache, "credentials", "test", "env-1.json.lock"))
	if ok, err := lock.TryLock(); !ok || err != nil {
		t.Fatal(ok, err)
	}
	defer lock.Unlock()
	if err := e.run("gc", "env-1"); err != nil {
		t.Fatal(err)
	}
	if got := svc.LiveIDs(); len(got) != 2 {
		t.Errorf("gc during a refresh deleted %v", svc.Deleted)
	}
}

// A broker profile cannot list bindings: gc tries every recorded one but the cached.
func TestGCWithoutAList(t *testing.T) {
	svc := newFakeBindings("current", "old")
	svc.ListErr = broker.ErrListNotSupported
	e := newTestEnv(t, svc)
	e.store(t, "env-1", &credential.Entry{BindingID: "current"})
	e.record("env-1", madeByCredential, now.Add(-time.Hour), "current", "old", "long-gone")
	if err := e.run("gc", "env-1"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("binding/old deleted (made here by the credential helper)\nenv-1: 1 binding(s) deleted\n", e.out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"current"}, slices.Sorted(maps.Keys(ledger.Open(e.cache, "test", "env-1").Read()))); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
}

func TestGCWithNothingKnown(t *testing.T) {
	e := newTestEnv(t, newFakeBindings("x"))
	if err := e.run("gc"); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.out.String(), "Nothing to delete") {
		t.Errorf("gc printed %q", e.out)
	}
}

func TestLimitErrorListsTheLiveBindings(t *testing.T) {
	var ids []string
	for i := range 10 {
		ids = append(ids, fmt.Sprintf("b-%02d", i))
	}
	svc := newFakeBindings(ids...)
	svc.CreateErr = fmt.Errorf("the Provisioning Service answered 400 Bad Request: maximum number of non expired bindings reached: 10: %w", binding.ErrLimitReached)
	e := newTestEnv(t, svc)
	e.record("env-1", madeByBind, now.Add(-time.Hour), "b-00", "b-01")
	e.record("env-1", madeByCredential, now.Add(-time.Hour), "b-09")

	for _, args := range [][]string{
		{"bind", "env-1"},
		{"kubeconfig", "env-1", "--output-file", filepath.Join(t.TempDir(), "k.yaml")},
		{"run", "env-1", "--", "true"},
	} {
		t.Run(args[0], func(t *testing.T) {
			err := e.run(args...)
			if !errors.Is(err, binding.ErrLimitReached) {
				t.Fatalf("error %v does not wrap ErrLimitReached", err)
			}
			golden.Assert(t, "limit/"+args[0], err.Error()+"\n")
		})
	}

	// Nobody here made any: no gc to suggest.
	e2 := newTestEnv(t, svc)
	err := e2.run("bind", "env-1")
	if err == nil || strings.Contains(err.Error(), "kubectl kyma gc") || !strings.Contains(err.Error(), "this machine made none of them") {
		t.Errorf("error:\n%v", err)
	}
}

func TestLimitErrorWithoutAList(t *testing.T) {
	svc := newFakeBindings()
	svc.CreateErr = fmt.Errorf("maximum number of non expired bindings reached: 10: %w", binding.ErrLimitReached)
	svc.ListErr = broker.ErrListNotSupported
	e := newTestEnv(t, svc)
	e.record("env-1", madeByCredential, now.Add(-time.Hour), "b-1")
	err := e.run("bind", "env-1")
	want := `bind "env-1": maximum number of non expired bindings reached: 10: binding limit reached
the live bindings cannot be listed (` + broker.ErrListNotSupported.Error() + `); this machine made these, which may be live:
  b-1 (the credential helper, 60m ago)
delete the ones this machine made and no longer uses with 'kubectl kyma gc env-1', or wait until one expires`
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
}

func TestGCFlags(t *testing.T) {
	testFlags(t, NewCmdGC, []flagsCase[GCOptions]{
		{args: []string{"gc"}, want: &GCOptions{}},
		{args: []string{"gc", "prod"}, want: &GCOptions{Arg: "prod"}},
		{args: []string{"gc", "prod", "dev"}, wantErr: "accepts at most 1 arg(s), received 2"},
		{args: []string{"gc", "--all"}, wantErr: "unknown flag: --all"},
	})
}
