package credential

import (
	"fmt"
	"math"
	"time"
)

// MinAhead is the smallest refresh-ahead share accepted. Below one half, a background
// refresh could start before the token handed out for the binding it replaced is due,
// so a third binding would be live (see the invariant in the package doc).
const MinAhead = 0.5

// ValidAhead checks a --refresh-ahead value: zero (the default), or a share from
// MinAhead to one (one turns the background refresh off).
func ValidAhead(a float64) error {
	if a == 0 || (a >= MinAhead && a <= 1) { // NaN fails every comparison
		return nil
	}
	if math.IsNaN(a) {
		return fmt.Errorf("--refresh-ahead is a share of the lifetime from %g to 1, not NaN", MinAhead)
	}
	return fmt.Errorf("--refresh-ahead is a share of the lifetime from %g to 1 (below that, bindings pile up towards the limit of 10); got %g", MinAhead, a)
}

// lifetime is how long e's token lives, as the entry says.
func lifetime(e *Entry) time.Duration { return e.ExpiresAt.Sub(e.IssuedAt) }

// Margin is how long before a token's expiry the plugin stops handing it out. A token
// handed out must outlive the request that carries it and any clock skew between this
// machine and the cluster: the larger of a minute and a tenth of the lifetime, but never
// more than a third of it, or a short binding (the emulator's --binding-ttl) would be
// stale the moment it was made. An override (--refresh-margin) is capped at half the
// lifetime: a larger one would make every binding due the moment it was made.
func Margin(e *Entry, override time.Duration) time.Duration {
	life := lifetime(e)
	if override > 0 {
		return min(override, life/2)
	}
	m := max(time.Minute, life/10)
	return min(m, life/3)
}

// handOutUntil is the due point: after it the plugin makes a new binding, and it is the
// latest expirationTimestamp ever given to client-go for e (see handOutExpiry).
func handOutUntil(e *Entry, override time.Duration) time.Time {
	return e.ExpiresAt.Add(-Margin(e, override))
}

// fresh reports whether e may still be handed out at now. An entry made "after" now
// (the clock stepped back since) is stale: its age says nothing, and the token may
// have expired at the cluster.
func fresh(e *Entry, now time.Time, override time.Duration) bool {
	return e != nil && !now.Before(e.IssuedAt) && now.Before(handOutUntil(e, override))
}

// recent reports whether t is less than d before now. A t after now (the clock stepped
// back) is not recent: an age below zero must not hold back what a real age would let
// happen (a retry after a failure, a new binding after a refusal).
func recent(t, now time.Time, d time.Duration) bool {
	age := now.Sub(t)
	return age >= 0 && age < d
}

// aheadAt is when a hit starts a background refresh: the ahead share of the time from
// the binding's issue to its due point, so it always comes before the due point, even
// for short bindings whose margin is a third of their life. Refresh-ahead off (a share
// of one or more) puts it at the due point.
func aheadAt(e *Entry, override time.Duration, ahead float64) time.Time {
	if ahead == 0 {
		ahead = DefaultAhead
	}
	due := handOutUntil(e, override)
	if !(ahead < 1) { // NaN included; ValidAhead refuses it earlier
		return due
	}
	return e.IssuedAt.Add(time.Duration(ahead * float64(due.Sub(e.IssuedAt))))
}

// dueAhead reports whether e has reached its refresh-ahead point, so a hit should start
// a background refresh.
func dueAhead(e *Entry, now time.Time, override time.Duration, ahead float64) bool {
	if !(ahead == 0 || ahead < 1) {
		return false
	}
	return !now.Before(aheadAt(e, override, ahead))
}

// handOutExpiry is the expirationTimestamp given with a fresh token. Before the
// refresh-ahead point it is that point, not the due point: client-go runs the plugin
// again only when the expiry it was given has passed, so a long-lived client (k9s, a
// controller, `logs -f`) comes back while the token is still good, is answered at once
// and starts the background refresh; at its due point the next binding is ready.
func handOutExpiry(e *Entry, now time.Time, in Input) time.Time {
	if at := aheadAt(e, in.Margin, in.Ahead); now.Before(at) {
		return bounded(e, now, at)
	}
	return bounded(e, now, handOutUntil(e, in.Margin))
}

// bounded keeps an expirationTimestamp after now (a past one makes client-go run the
// plugin before every request) and never after the binding's expiry. The timestamp is
// written in whole seconds, so it is rounded down, but not to now or before.
func bounded(e *Entry, now, t time.Time) time.Time {
	if t.After(e.ExpiresAt) {
		t = e.ExpiresAt
	}
	if r := t.Truncate(time.Second); r.After(now) {
		return r
	}
	return now.Add(time.Second).Truncate(time.Second)
}
