//go:build !windows

package credential

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// runInline makes Spawn run the background refresh at once, on its own copy of the
// lock's descriptor, as the detached process would.
func (h *harness) runInline(t *testing.T) *int {
	spawned := new(int)
	h.spawn = func(lock *os.File) error {
		*spawned++
		fd, err := syscall.Dup(int(lock.Fd()))
		if err != nil {
			t.Fatal(err)
		}
		in := Input{Key: h.key, Clock: h.clock, Ahead: h.ahead}
		_ = h.r.Background(context.Background(), in, os.NewFile(uintptr(fd), "lock"))
		return nil
	}
	return spawned
}

func TestRefreshAheadNeverBlocksAndKeepsTwoLive(t *testing.T) {
	h := newHarness(t)
	spawned := h.runInline(t)
	h.call(t, "kubectl-1")

	h.clock.Add(8 * time.Minute) // 80 % of the 10-minute lifetime
	if got := h.call(t, "kubectl-2").Status.Token; got != "token-1" {
		t.Fatalf("at 80 %% a call got %s, want the cached token-1 at once", got)
	}
	if *spawned != 1 || h.minter.minted.Load() != 2 {
		t.Fatalf("spawned %d background refreshes that made %d bindings, want 1 and 2 in all", *spawned, h.minter.minted.Load())
	}
	if got := h.call(t, "kubectl-3").Status.Token; got != "token-2" {
		t.Errorf("after the background refresh a call got %s, want token-2", got)
	}
	if len(h.minter.revoked) != 0 {
		t.Errorf("revoked %v while kubectl may still hold token-1 (handed out until 10:09)", h.minter.revoked)
	}

	// 80 % of token-2's life: token-1 is deleted before token-3 is made.
	h.clock.Add(8 * time.Minute)
	h.call(t, "kubectl-4")
	if diff := cmp.Diff([]string{"b1"}, h.minter.revoked); diff != "" {
		t.Errorf("revoked (-want +got):\n%s", diff)
	}
	e := h.r.Cache.Load(h.key)
	want := []Superseded{{BindingID: "b2", After: t0.Add(8*time.Minute + 9*time.Minute), Expires: t0.Add(18 * time.Minute)}}
	if diff := cmp.Diff(want, e.Superseded); diff != "" {
		t.Errorf("superseded (-want +got):\n%s", diff)
	}
}

func TestRefreshAheadStartsOnce(t *testing.T) {
	h := newHarness(t)
	spawned := 0
	var held []*os.File
	h.spawn = func(lock *os.File) error { // a refresh still in flight: it keeps the lock
		spawned++
		fd, _ := syscall.Dup(int(lock.Fd()))
		held = append(held, os.NewFile(uintptr(fd), "lock"))
		return nil
	}
	h.call(t, "kubectl-1")
	h.clock.Add(8 * time.Minute)
	for i := range 5 {
		h.call(t, "kubectl-x"+string(rune('a'+i)))
	}
	if spawned != 1 {
		t.Errorf("5 calls while a refresh is in flight started %d, want 1", spawned)
	}
	for _, f := range held {
		f.Close()
	}
}

func TestBackgroundFailureIsReportedAndBacksOff(t *testing.T) {
	h := newHarness(t)
	spawned := h.runInline(t)
	h.call(t, "kubectl-1")
	before, _ := os.ReadFile(h.r.Cache.path(h.key))

	h.minter.err = errorString("the service is down")
	h.clock.Add(8 * time.Minute)
	if got := h.call(t, "kubectl-2").Status.Token; got != "token-1" {
		t.Fatalf("got %s, want the cached token", got)
	}
	after, _ := os.ReadFile(h.r.Cache.path(h.key))
	if string(before) != string(after) {
		t.Error("a failed background refresh changed the cache entry")
	}
	h.clock.Add(10 * time.Second)
	h.call(t, "kubectl-3")
	if *spawned != 1 {
		t.Errorf("a call 10 s after the failure started another refresh")
	}
	h.clock.Add(30 * time.Second)
	h.minter.err = nil
	h.call(t, "kubectl-4")
	if *spawned != 2 || !strings.Contains(h.stderr.String(), "the background refresh failed 40s ago (make a binding for environment env-1: the service is down)") {
		t.Errorf("spawned %d; stderr %q", *spawned, h.stderr.String())
	}
	if got := h.call(t, "kubectl-5").Status.Token; got != "token-2" {
		t.Errorf("after a successful retry got %s", got)
	}
}
