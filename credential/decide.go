package credential

import (
	"errors"
	"fmt"
	"time"
)

// step is what the refresh under the entry's lock does next (see decideRefresh).
type step int

const (
	// stepWrongCluster refuses: the entry, or kubectl's own set-up, is not for the
	// cluster kubectl calls, and no binding is made for a kubectl that would not get it.
	stepWrongCluster step = iota + 1
	// stepProbe asks the cluster whether it refuses the cached token, which this
	// caller asks for again before the expiry it was given; then decide again.
	stepProbe
	// stepHandOut hands out the cached token as it is.
	stepHandOut
	// stepHandOutStale hands out the cached token, still valid but due, for a short
	// while, with Cause as the note why no new one was made.
	stepHandOutStale
	// stepFail returns Cause and makes no binding.
	stepFail
	// stepCheckLoss looks for a binding made a moment ago and lost (Cache.recentLoss);
	// then decide again.
	stepCheckLoss
	// stepReplace makes a new binding; if that fails, the cached token is handed out
	// stale when StaleOnFailure, else the failure is returned.
	stepReplace
)

// refreshFacts are what the refresh under the lock decides on. The probe and the look
// for a lost binding cost a request and a write, so they are facts only once asked for
// (probed, lossChecked).
type refreshFacts struct {
	old    *Entry        // the cached entry, nil when there is none
	now    time.Time     // this machine's clock
	margin time.Duration // the --refresh-margin override
	// wrongCluster: old, or kubectl's set-up, is not for the cluster kubectl calls.
	wrongCluster bool
	// handedBefore: this caller was handed old's token with an expiry not yet passed.
	handedBefore bool
	// probed and refused: the cluster was asked about old's token, and answered 401.
	probed, refused bool
	// lastFailure is the last failed refresh, nil when none is recorded.
	lastFailure *failure
	// lossChecked and loss: the look for a lost binding was made, and what it found.
	lossChecked bool
	loss        error
}

// refreshDecision is the next step, and why.
type refreshDecision struct {
	step step
	why  string
	// cause is the error handed out with stepHandOutStale or returned by stepFail.
	cause error
	// note is said to the user with stepHandOut.
	note string
	// refused goes to replace: the cluster refused old's token.
	refused bool
	// staleOnFailure: with stepReplace, old's token may still be handed out should
	// the new binding fail.
	staleOnFailure bool
}

// decideRefresh is the refresh under the entry's lock, as a decision without effects:
// given what is known (f), it says what to do next. The order is the invariant's (see
// the package doc): a token for another cluster is never handed out nor a binding made
// for it; a fresh token that the cluster did not refuse is handed out, as is a refused
// one that replaced a refused one a moment ago (the cluster refuses every new one); a
// failure or a lost binding a moment ago makes no new bind but hands out the token that
// still works, or repeats the failure; only then is a new binding made.
func decideRefresh(f refreshFacts) refreshDecision {
	if f.wrongCluster {
		return refreshDecision{step: stepWrongCluster, why: "the entry or kubectl's set-up is not for the cluster kubectl calls"}
	}
	isFresh := fresh(f.old, f.now, f.margin)
	suspect := isFresh && f.handedBefore
	if suspect && !f.probed {
		return refreshDecision{step: stepProbe, why: "the caller asks again before the expiry it was given"}
	}
	refused := suspect && f.refused
	if isFresh && !refused {
		return refreshDecision{step: stepHandOut, why: "fresh, and not refused"}
	}
	if isFresh && f.old.ReplacedRefused && recent(f.old.IssuedAt, f.now, refusalCooldown) {
		return refreshDecision{step: stepHandOut, why: "refused, but it replaced a refused one within the cooldown",
			note: fmt.Sprintf("the cluster refused binding %s too, made %s ago to replace a refused one; check the kubeconfig's server", f.old.BindingID, f.now.Sub(f.old.IssuedAt).Round(time.Second))}
	}

	// The service failed a moment ago: while the cached token still works, hand it out
	// rather than make every kubectl call wait for another failure; with nothing valid
	// left, repeat the failure for a few seconds, as client-go runs the plugin again for
	// every request of a failing kubectl. A failure "ahead" of now: the clock stepped
	// back, and it says nothing.
	valid := stillValid(f.old, f.now, refused)
	if last := f.lastFailure; last != nil && !last.Time.After(f.now) {
		switch age := f.now.Sub(last.Time); {
		case age < failureBackoff && valid:
			return refreshDecision{step: stepHandOutStale, why: "a refresh failed a moment ago, and the token still works", cause: errors.New(last.Error)}
		case age < failFast && !valid:
			return refreshDecision{step: stepFail, why: "a refresh failed a moment ago, and no valid token is left", cause: errors.New(last.Error)}
		}
	}
	// A binding made a moment ago was lost (deleted again): wait before the next, even
	// when the failure could not be written down (a full disk).
	if !f.lossChecked {
		return refreshDecision{step: stepCheckLoss, why: "no failure holds the refresh back"}
	}
	if f.loss != nil {
		if valid {
			return refreshDecision{step: stepHandOutStale, why: "a binding was lost a moment ago, and the token still works", cause: f.loss}
		}
		return refreshDecision{step: stepFail, why: "a binding was lost a moment ago, and no valid token is left", cause: f.loss}
	}
	why := "no entry"
	switch {
	case refused:
		why = "the cluster refused the token"
	case f.old != nil:
		why = "the token is due"
	}
	return refreshDecision{step: stepReplace, why: why, refused: refused, staleOnFailure: valid}
}
