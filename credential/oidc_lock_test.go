package credential

import (
	"bytes"
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/actionstoken"
)

// No holder of the lock legitimately keeps it past its own fetch's deadline.
func TestOIDCLockWaitIsTheFetchDeadlineAndFiveSeconds(t *testing.T) {
	if OIDCLockWait != actionstoken.Deadline+5*time.Second {
		t.Fatalf("OIDCLockWait = %s, want actionstoken.Deadline (%s) + 5s", OIDCLockWait, actionstoken.Deadline)
	}
}

// A lock held by a stopped process costs one lock wait, counted once across the
// launcher (Miss) and the full CLI (Do): after it, the call fetches without the lock,
// says so, and hands out a token.
func TestOIDCStuckLockIsWaitedOnceThenFetchedWithout(t *testing.T) {
	now := time.Now()
	var calls atomic.Int32
	const wait = 2 * time.Second
	c := OIDCCache{Dir: t.TempDir(), lockWait: wait}
	in := githubInput(&now)
	bound, err := in.bindToCluster()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Do(context.Background(), in, func(context.Context, string, string, string) (string, error) {
		return "", context.Canceled // makes the entry's folder and lock; caches nothing
	}, &bytes.Buffer{}); err == nil {
		t.Fatal("a failing fetch answered")
	}
	held := waitLock(context.Background(), c.Dir, c.path(bound)+".lock") // the stopped holder
	if held == nil {
		t.Fatal("could not take the lock")
	}
	defer held.Close()
	now = now.Add(oidcFailedFor + time.Second) // past the failure's stamp

	start := time.Now()
	served, lock, err := c.Miss(context.Background(), in, &bytes.Buffer{})
	waited := time.Since(start)
	if served || lock != nil || err != nil {
		t.Fatalf("Miss = %v, %v, %v with the lock held elsewhere", served, lock, err)
	}
	if waited < wait {
		t.Fatalf("Miss gave up after %s, before the lock wait (%s)", waited, wait)
	}

	var out, stderr bytes.Buffer
	in.LockWaited, in.Stderr = waited, &stderr
	start = time.Now()
	if err := c.Do(context.Background(), in, countingFetcher(t, &now, &calls), &out); err != nil {
		t.Fatal(err)
	}
	if again := time.Since(start); again >= wait {
		t.Errorf("the full CLI waited %s more for the lock the launcher waited %s for", again, waited)
	}
	if tok, _ := printed(t, &out); tok == "" || calls.Load() != 1 {
		t.Fatalf("token %q after %d fetches", tok, calls.Load())
	}
	if !strings.Contains(stderr.String(), "without it") || !strings.Contains(stderr.String(), ".lock") {
		t.Errorf("no warning that the lock was passed by: %q", stderr.String())
	}
}

func TestOIDCLockWaitedIsReadFromTheEnvironment(t *testing.T) {
	for v, want := range map[string]time.Duration{"12.5s": 12500 * time.Millisecond, "": 0, "nonsense": 0, "-3s": 0} {
		in := ReadOIDCEnv(OIDC{Source: OIDCGitHub}, func(k string) (string, bool) {
			return v, k == EnvOIDCLockWaited && v != ""
		})
		if in.LockWaited != want {
			t.Errorf("%s=%q: LockWaited = %s, want %s", EnvOIDCLockWaited, v, in.LockWaited, want)
		}
	}
}
