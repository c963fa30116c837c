//go:build !windows

package credential

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fullDisk makes every write of the cache fail as a full disk does.
func fullDisk(path string, data []byte) error {
	return &os.PathError{Op: "write", Path: path, Err: syscall.ENOSPC}
}

func (h *harness) do(t *testing.T, in Input) (execCredential, error) {
	t.Helper()
	var out bytes.Buffer
	if in.Key == (Key{}) {
		in.Key = h.key
	}
	in.ExecInfo.APIVersion, in.Clock, in.Stderr = apiV1, h.clock, &h.stderr
	if in.Ahead == 0 {
		in.Ahead = h.ahead
	}
	err := h.r.Do(context.Background(), in, &out)
	var got execCredential
	if err == nil {
		if jerr := json.Unmarshal(out.Bytes(), &got); jerr != nil {
			t.Fatalf("output is not an ExecCredential: %v", jerr)
		}
	} else if out.Len() > 0 {
		t.Errorf("printed %q with the error %v", out.String(), err)
	}
	return got, err
}

func TestFullDiskDeletesTheBindingAndBacksOff(t *testing.T) {
	h := newHarness(t)
	h.r.Cache.write = fullDisk
	for i := range 10 {
		_, err := h.do(t, Input{Caller: fmt.Sprintf("kubectl-%d", i)})
		if err == nil || !strings.Contains(err.Error(), "is full") {
			t.Fatalf("call %d: error %v, want one that says the disk is full", i+1, err)
		}
		h.clock.Add(time.Second)
	}
	if n := h.minter.minted.Load(); n != 1 {
		t.Errorf("ten calls on a full disk made %d bindings, want 1", n)
	}
	if diff := cmp.Diff([]string{"b1"}, h.minter.revoked); diff != "" {
		t.Errorf("the binding that could not be stored is not deleted (-want +got):\n%s", diff)
	}
	// Room again, and the back-off has passed: the next call works.
	h.r.Cache.write = nil
	h.clock.Add(lostBackoff)
	if got := h.call(t, "kubectl-x").Status.Token; got != "token-2" {
		t.Errorf("after the disk was freed got %q", got)
	}
}

func TestBindingForAnotherClusterIsDeleted(t *testing.T) {
	h := newHarness(t)
	_, err := h.do(t, Input{Caller: "kubectl-1", ExecInfo: ExecInfo{Server: "https://other:6443"}})
	if err == nil || !strings.Contains(err.Error(), "was deleted") {
		t.Fatalf("error = %v", err)
	}
	if diff := cmp.Diff([]string{"b1"}, h.minter.revoked); diff != "" {
		t.Errorf("revoked (-want +got):\n%s", diff)
	}
	h.clock.Add(10 * time.Second)
	if _, err := h.do(t, Input{Caller: "kubectl-2", ExecInfo: ExecInfo{Server: "https://other:6443"}}); err == nil {
		t.Fatal("no error")
	}
	if n := h.minter.minted.Load(); n != 1 {
		t.Errorf("a second call within the back-off made a binding: %d in all", n)
	}
}

// lostMinter makes a binding that cannot be used each time, as a service whose answer
// cannot be read does.
type lostMinter struct{ fakeMinter }

func (m *lostMinter) Mint(ctx context.Context) (*Entry, error) {
	m.attempts.Add(1)
	return nil, fmt.Errorf("unreadable answer: %w", ErrLost)
}

func TestLostBindingBacksOff(t *testing.T) {
	h := newHarness(t)
	m := &lostMinter{}
	h.r.Minter = m
	for range 5 {
		if _, err := h.do(t, Input{Caller: "kubectl-1"}); err == nil {
			t.Fatal("no error")
		}
		h.clock.Add(5 * time.Second)
	}
	if n := m.attempts.Load(); n != 1 {
		t.Errorf("five calls in 25 s sent %d binds after one made a binding it lost, want 1", n)
	}
}

func TestSuspectedRefusalOfAGoodTokenHandsItOutAgain(t *testing.T) {
	h := newHarness(t)
	for i := range 20 { // a shell loop: one parent process
		if got := h.call(t, "bash-1").Status.Token; got != "token-1" {
			t.Fatalf("call %d got %s", i+1, got)
		}
		h.clock.Add(2 * time.Second)
	}
	if n := h.minter.minted.Load(); n != 1 || h.stderr.Len() != 0 {
		t.Errorf("a shell loop made %d bindings and printed %q", n, h.stderr.String())
	}
	if h.probes != 19 {
		t.Errorf("asked the cluster %d times, want 19", h.probes)
	}
}

func TestComingBackAtTheHandedExpiryIsNoRefusal(t *testing.T) {
	h := newHarness(t)
	first := h.call(t, "k9s").Status
	if first.ExpirationTimestamp != "2026-11-23T10:07:12Z" {
		t.Fatalf("first expiry %s, want the refresh-ahead point", first.ExpirationTimestamp)
	}
	h.clock.Add(7*time.Minute + 12*time.Second)
	got := h.call(t, "k9s").Status
	if got.Token != "token-1" || got.ExpirationTimestamp != "2026-11-23T10:09:00Z" || h.probes != 0 {
		t.Errorf("at its expiry the client got %+v after %d probes; want token-1 until the due point, no probe", got, h.probes)
	}
}

func TestLongLivedClientKeepsTheValidTokenWhenTheRefreshFails(t *testing.T) {
	h := newHarness(t)
	h.runInline(t)
	h.call(t, "controller")
	h.minter.err = errorString("the service is down")
	h.clock.Add(7*time.Minute + 12*time.Second) // its expiry: the refresh-ahead point
	if got := h.call(t, "controller").Status; got.Token != "token-1" || got.ExpirationTimestamp != "2026-11-23T10:09:00Z" {
		t.Fatalf("at the refresh-ahead point got %+v", got)
	}
	h.clock.Add(108 * time.Second) // its expiry again: the due point
	got := h.call(t, "controller").Status
	if got.Token != "token-1" || got.ExpirationTimestamp != "2026-11-23T10:09:30Z" {
		t.Errorf("at the due point, the refresh failing, got %+v; want token-1 for 30 s", got)
	}
}

func TestBusyLockHandsOutTheValidToken(t *testing.T) {
	h := newHarness(t)
	h.call(t, "kubectl-1")
	h.clock.Add(9*time.Minute + 40*time.Second) // due, 20 s left
	unlock, err := h.r.Cache.lock(context.Background(), h.key, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	start := time.Now()
	got, err := h.do(t, Input{Caller: "kubectl-2"})
	if err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited > 5*BusyDeadline {
		t.Errorf("waited %s for a lock while the token was valid", waited)
	}
	want := &execStatus{Token: "token-1", ExpirationTimestamp: "2026-11-23T10:10:00Z"} // its expiry, within 30 s
	if diff := cmp.Diff(want, got.Status); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestMarginOverrideIsCapped(t *testing.T) {
	e := &Entry{IssuedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
	if got := Margin(e, 3*time.Hour); got != 5*time.Minute {
		t.Errorf("Margin(10m, override 3h) = %s, want half the lifetime", got)
	}
	h := newHarness(t)
	for i := range 10 {
		in := Input{Caller: fmt.Sprintf("kubectl-%d", i), Margin: 3 * time.Hour}
		if _, err := h.do(t, in); err != nil {
			t.Fatal(err)
		}
		h.clock.Add(10 * time.Second)
	}
	if n := h.minter.minted.Load(); n != 1 {
		t.Errorf("ten calls with --refresh-margin 3h made %d bindings, want 1", n)
	}
}

func TestValidAhead(t *testing.T) {
	nan := 0.0
	nan = nan / nan
	for a, ok := range map[float64]bool{0: true, 0.5: true, 0.8: true, 1: true, 0.05: false, 0.49: false, 1.5: false, -1: false, nan: false} {
		if err := ValidAhead(a); (err == nil) != ok {
			t.Errorf("ValidAhead(%g) = %v", a, err)
		}
	}
}

// failingRevoker cannot delete anything.
type failingRevoker struct{ fakeMinter }

func (m *failingRevoker) Revoke(ctx context.Context, id string) error {
	return errors.New("the service is down")
}

func TestNoThirdLiveBinding(t *testing.T) {
	h := newHarness(t)
	m := &failingRevoker{fakeMinter{clock: h.clock, life: 10 * time.Minute}}
	h.r.Minter = m
	// b2 is cached and due; b1, which it replaced, is still held until 10:09.
	e := &Entry{BindingID: "b2", Token: "token-2", IssuedAt: t0, ExpiresAt: t0.Add(10 * time.Minute),
		Superseded: []Superseded{{BindingID: "b1", After: t0.Add(9 * time.Minute), Expires: t0.Add(10 * time.Minute)}}}
	if err := h.r.Cache.Store(h.key, e); err != nil {
		t.Fatal(err)
	}
	h.clock.Add(8*time.Minute + 50*time.Second)
	got, err := h.do(t, Input{Caller: "kubectl-1", Margin: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.Token != "token-2" || m.minted.Load() != 0 {
		t.Errorf("got %s with %d bindings made; want the still-valid token-2 and no third binding", got.Status.Token, m.minted.Load())
	}
	if !strings.Contains(h.stderr.String(), "cannot delete b1") {
		t.Errorf("stderr %q does not say why", h.stderr.String())
	}
}

func TestEnsureMakesOneBindingForManyRuns(t *testing.T) {
	h := newHarness(t)
	h.minter.delay = 50 * time.Millisecond
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := h.r.Ensure(context.Background(), Input{Key: h.key, Clock: h.clock}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := h.minter.minted.Load(); n != 1 {
		t.Errorf("20 parallel runs made %d bindings, want 1", n)
	}
}

func TestEntryRemovedByHandIsNoLoss(t *testing.T) {
	h := newHarness(t)
	h.call(t, "kubectl-1")
	if err := os.Remove(h.r.Cache.path(h.key)); err != nil { // a cold start, by hand
		t.Fatal(err)
	}
	h.clock.Add(time.Second)
	if got := h.call(t, "kubectl-2").Status.Token; got != "token-2" {
		t.Errorf("after the entry was removed by hand got %q, want a new binding at once", got)
	}
}
