// Package age says how old something is and when it expires, in the words of
// kubectl's AGE column (k8s.io/apimachinery's HumanDuration): the tables of
// kubectl-kyma and the limit error's listing of bindings.
package age

import (
	"time"

	"k8s.io/apimachinery/pkg/util/duration"
)

// Of is how long before now t was, as kubectl prints ages; "<unknown>" for no time.
func Of(now, t time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t))
}

// Expires says when something that expires at t does, relative to now: "in 5m",
// "expired 2m ago", or "<unknown>" for no time.
func Expires(now, t time.Time) string {
	switch {
	case t.IsZero():
		return "<unknown>"
	case t.Before(now):
		return "expired " + Of(now, t) + " ago"
	}
	return "in " + duration.HumanDuration(t.Sub(now))
}
