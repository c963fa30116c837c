package credential

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDecideRefresh(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	// entry is a 10 m binding issued ago before now: due (margin 1 m) 9 m after issue.
	entry := func(ago time.Duration, replacedRefused bool) *Entry {
		issued := now.Add(-ago)
		return &Entry{BindingID: "b1", Token: "t1", IssuedAt: issued, ExpiresAt: issued.Add(10 * time.Minute), ReplacedRefused: replacedRefused}
	}
	fresh, due, expired := entry(time.Minute, false), entry(9*time.Minute+30*time.Second, false), entry(11*time.Minute, false)
	failed := func(ago time.Duration) *failure { return &failure{Time: now.Add(-ago), Error: "the service said no"} }
	lost := errors.New("a binding was made 5s ago and deleted again")

	for _, tc := range []struct {
		name string
		f    refreshFacts
		want refreshDecision // why is compared by prefix; cause by message
	}{
		{"another cluster, however fresh", refreshFacts{old: fresh, wrongCluster: true},
			refreshDecision{step: stepWrongCluster}},
		{"no entry: look for a lost binding first", refreshFacts{},
			refreshDecision{step: stepCheckLoss}},
		{"no entry, none lost: bind", refreshFacts{lossChecked: true},
			refreshDecision{step: stepReplace, why: "no entry"}},
		{"fresh", refreshFacts{old: fresh},
			refreshDecision{step: stepHandOut, why: "fresh, and not refused"}},
		{"fresh, asked again early: ask the cluster", refreshFacts{old: fresh, handedBefore: true},
			refreshDecision{step: stepProbe}},
		{"fresh, asked again early, the cluster accepts it", refreshFacts{old: fresh, handedBefore: true, probed: true},
			refreshDecision{step: stepHandOut, why: "fresh, and not refused"}},
		{"a refusal counts only when suspected", refreshFacts{old: fresh, probed: true, refused: true},
			refreshDecision{step: stepHandOut, why: "fresh, and not refused"}},
		{"refused: look for a lost binding", refreshFacts{old: fresh, handedBefore: true, probed: true, refused: true},
			refreshDecision{step: stepCheckLoss}},
		{"refused: replace it, and hand out nothing stale", refreshFacts{old: fresh, handedBefore: true, probed: true, refused: true, lossChecked: true},
			refreshDecision{step: stepReplace, why: "the cluster refused", refused: true}},
		{"refused again within the cooldown: hand it out, and say so",
			refreshFacts{old: entry(10*time.Second, true), handedBefore: true, probed: true, refused: true},
			refreshDecision{step: stepHandOut, why: "refused, but it replaced", note: "the cluster refused binding b1 too, made 10s ago to replace a refused one; check the kubeconfig's server"}},
		{"refused again after the cooldown: replace it",
			refreshFacts{old: entry(time.Minute, true), handedBefore: true, probed: true, refused: true, lossChecked: true},
			refreshDecision{step: stepReplace, refused: true}},
		{"refused, and a failure a moment ago: repeat it", refreshFacts{old: fresh, handedBefore: true, probed: true, refused: true, lastFailure: failed(2 * time.Second)},
			refreshDecision{step: stepFail, cause: errors.New("the service said no")}},
		{"due: bind, keeping the token should it fail", refreshFacts{old: due, lossChecked: true},
			refreshDecision{step: stepReplace, why: "the token is due", staleOnFailure: true}},
		{"due, a failure 10 s ago: the token still works", refreshFacts{old: due, lastFailure: failed(10 * time.Second)},
			refreshDecision{step: stepHandOutStale, why: "a refresh failed", cause: errors.New("the service said no")}},
		{"due, a failure 40 s ago: try again", refreshFacts{old: due, lastFailure: failed(40 * time.Second)},
			refreshDecision{step: stepCheckLoss}},
		{"expired, a failure 3 s ago: repeat it", refreshFacts{old: expired, lastFailure: failed(3 * time.Second)},
			refreshDecision{step: stepFail, why: "a refresh failed", cause: errors.New("the service said no")}},
		{"expired, a failure 10 s ago: try again", refreshFacts{old: expired, lastFailure: failed(10 * time.Second)},
			refreshDecision{step: stepCheckLoss}},
		{"a failure ahead of now (the clock stepped back) says nothing", refreshFacts{old: expired, lastFailure: failed(-time.Minute), lossChecked: true},
			refreshDecision{step: stepReplace, why: "the token is due"}},
		{"due, a binding lost a moment ago: hand out the one that works", refreshFacts{old: due, lossChecked: true, loss: lost},
			refreshDecision{step: stepHandOutStale, why: "a binding was lost", cause: lost}},
		{"expired, a binding lost a moment ago: fail", refreshFacts{old: expired, lossChecked: true, loss: lost},
			refreshDecision{step: stepFail, why: "a binding was lost", cause: lost}},
		{"issued ahead of now (the clock stepped back): not fresh, still valid",
			refreshFacts{old: entry(-time.Minute, false), lossChecked: true},
			refreshDecision{step: stepReplace, staleOnFailure: true}},
		{"a margin of half the life makes a young entry due", refreshFacts{old: entry(6*time.Minute, false), margin: 5 * time.Minute, lossChecked: true},
			refreshDecision{step: stepReplace, staleOnFailure: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.f.now = now
			got := decideRefresh(tc.f)
			if got.step != tc.want.step || got.refused != tc.want.refused || got.staleOnFailure != tc.want.staleOnFailure ||
				got.note != tc.want.note || !strings.HasPrefix(got.why, tc.want.why) || got.why == "" {
				t.Errorf("decideRefresh = %+v\nwant %+v", got, tc.want)
			}
			if (got.cause == nil) != (tc.want.cause == nil) || (got.cause != nil && got.cause.Error() != tc.want.cause.Error()) {
				t.Errorf("cause = %v, want %v", got.cause, tc.want.cause)
			}
		})
	}
}

// TestDecideRefreshEnds: whatever the facts, the refresh asks the cluster at most once
// and looks for a lost binding at most once, then hands out, fails or binds; and it
// never hands out a token for another cluster, nor a refused one outside the cooldown.
func TestDecideRefreshEnds(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	var olds []*Entry
	for _, ago := range []time.Duration{-time.Minute, 0, 10 * time.Second, time.Minute, 9*time.Minute + 30*time.Second, 11 * time.Minute} {
		for _, rr := range []bool{false, true} {
			olds = append(olds, &Entry{BindingID: "b", Token: "t", IssuedAt: now.Add(-ago), ExpiresAt: now.Add(-ago + 10*time.Minute), ReplacedRefused: rr})
		}
	}
	olds = append(olds, nil)
	failures := []*failure{nil, {Time: now.Add(-2 * time.Second), Error: "x"}, {Time: now.Add(-10 * time.Second), Error: "x"}, {Time: now.Add(time.Minute), Error: "x"}}
	for _, old := range olds {
		for _, last := range failures {
			for bits := range 16 {
				wrong, handed, refuses, loses := bits&1 != 0, bits&2 != 0, bits&4 != 0, bits&8 != 0
				f := refreshFacts{old: old, now: now, wrongCluster: wrong, handedBefore: handed && old != nil, lastFailure: last}
				var d refreshDecision
				probes, checks := 0, 0
				for range 4 {
					d = decideRefresh(f)
					if d.step == stepProbe {
						probes++
						f.probed, f.refused = true, refuses
						continue
					}
					if d.step == stepCheckLoss {
						checks++
						f.lossChecked = true
						if loses {
							f.loss = errors.New("lost")
						}
						continue
					}
					break
				}
				switch {
				case probes > 1 || checks > 1 || d.step == stepProbe || d.step == stepCheckLoss:
					t.Fatalf("%+v: no end (probes %d, checks %d, last step %d)", f, probes, checks, d.step)
				case wrong && d.step != stepWrongCluster:
					t.Fatalf("%+v: another cluster, step %d", f, d.step)
				case d.step == stepHandOut && f.refused && f.handedBefore && !(old.ReplacedRefused && recent(old.IssuedAt, now, refusalCooldown)):
					t.Fatalf("%+v: a refused token handed out outside the cooldown", f)
				case (d.step == stepHandOut || d.step == stepHandOutStale) && (old == nil || !now.Before(old.ExpiresAt)):
					t.Fatalf("%+v: handed out no token or an expired one (step %d)", f, d.step)
				case d.step == stepReplace && d.staleOnFailure && (old == nil || d.refused):
					t.Fatalf("%+v: would hand out a stale token it has not or that was refused", f)
				}
			}
		}
	}
}
