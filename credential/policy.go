package credential

import "time"

// Margin is how long before a token's expiry the plugin stops handing it out. A token
// handed out must outlive the request that carries it and any clock skew between this
// machine and the cluster: the larger of a minute and a tenth of the lifetime, but never
// more than a third of it, or a short binding (the emulator's --binding-ttl) would be
// stale the moment it was made.
func Margin(e *Entry, override time.Duration) time.Duration {
	if override > 0 {
		return override
	}
	life := e.ExpiresAt.Sub(e.IssuedAt)
	m := max(time.Minute, life/10)
	return min(m, life/3)
}

// handOutUntil is the expirationTimestamp given to client-go: after it, client-go runs
// the plugin again, which then makes a new binding.
func handOutUntil(e *Entry, override time.Duration) time.Time {
	return e.ExpiresAt.Add(-Margin(e, override))
}

// fresh reports whether e may still be handed out at now.
func fresh(e *Entry, now time.Time, override time.Duration) bool {
	return e != nil && now.Before(handOutUntil(e, override))
}

// dueAhead reports whether e has used the ahead share of its lifetime, so a hit should
// start a background refresh.
func dueAhead(e *Entry, now time.Time, ahead float64) bool {
	if ahead == 0 {
		ahead = DefaultAhead
	}
	if ahead >= 1 {
		return false
	}
	life := e.ExpiresAt.Sub(e.IssuedAt)
	return !now.Before(e.IssuedAt.Add(time.Duration(ahead * float64(life))))
}
