package credential

import (
	"errors"
	"testing"
	"time"
)

// A clock stepped back makes ages negative: the cached entry and the last failure are
// then treated as stale, never as very recent.
func TestClockSteppedBack(t *testing.T) {
	h := newHarness(t)
	h.call(t, "kubectl-1")
	h.clock.Add(-5 * time.Minute)
	if got := h.call(t, "kubectl-2").Status.Token; got != "token-2" {
		t.Errorf("with the clock 5 minutes back a call got %s, want a new binding, token-2", got)
	}

	// A failure recorded "in the future" is not repeated as if it had just happened.
	h.r.Cache.recordFailure(h.key, h.clock.Now().Add(time.Minute), errors.New("the service is down"))
	if err := h.r.Cache.Remove(h.key); err != nil {
		t.Fatal(err)
	}
	if got := h.call(t, "kubectl-3").Status.Token; got != "token-3" {
		t.Errorf("after a failure dated a minute ahead a miss got %s, want a new binding, token-3", got)
	}
	if !recent(t0, t0.Add(time.Second), time.Minute) || recent(t0, t0.Add(-time.Second), time.Minute) {
		t.Error("recent: a second ago is recent, a second ahead is not")
	}
}
