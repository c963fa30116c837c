// Package limit explains a refused bind at the limit of live bindings (binding.MaxLive)
// with what the user needs to act on it: the environment's live bindings, which of them
// this machine made (the ledger), and what to do.
package limit

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/age"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/ledger"
)

// Error is a refused bind at the limit, explained. It unwraps to the service's error,
// so errors.Is(err, binding.ErrLimitReached) still holds.
type Error struct {
	err error
	msg string
}

func (e *Error) Error() string { return e.msg }

// Unwrap returns the service's error.
func (e *Error) Unwrap() error { return e.err }

// Input is a failed Create of a binding and what explains it.
type Input struct {
	// Err is the failed Create's error.
	Err error
	// Service lists the environment's live bindings.
	Service binding.Service
	EnvID   string
	// EnvName names the environment in the message and in the gc command it suggests.
	EnvName string
	// Made is this machine's record of the bindings it made of the environment.
	Made map[string]ledger.Entry
	Now  time.Time
}

// Explain turns in.Err, when it is binding.ErrLimitReached, into an *Error that lists
// the environment's live bindings (id, created, expires), marks those this machine
// made, and points at `kubectl kyma gc`. Any other error comes back as it was.
func Explain(ctx context.Context, in Input) error {
	err, env, made, now := in.Err, in.EnvName, in.Made, in.Now
	if !errors.Is(err, binding.ErrLimitReached) {
		return err
	}
	var b strings.Builder
	b.WriteString(err.Error())
	// The command's own context may be near its end; the listing is worth a few seconds.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	live, lerr := in.Service.List(ctx, in.EnvID)
	ours := 0
	switch {
	case lerr != nil:
		fmt.Fprintf(&b, "\nthe live bindings cannot be listed (%v)", lerr)
		if len(made) > 0 {
			fmt.Fprintf(&b, "; this machine made these, which may be live:")
			for _, id := range slices.Sorted(maps.Keys(made)) {
				fmt.Fprintf(&b, "\n  %s (%s, %s)", id, ledger.Describe(made[id].Kind), age.Of(now, made[id].At)+" ago")
			}
			ours = len(made)
		}
	default:
		fmt.Fprintf(&b, "\n%s has %d live bindings (the limit is %d):\n", env, len(live), binding.MaxLive)
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  ID\tCREATED\tEXPIRES\tMADE BY THIS MACHINE")
		for _, l := range live {
			by := "no"
			if m, ok := made[l.ID]; ok {
				by = "yes (" + ledger.Describe(m.Kind) + ")"
				ours++
			}
			created := "<unknown>"
			if !l.CreatedAt.IsZero() {
				created = age.Of(now, l.CreatedAt) + " ago"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", l.ID, created, age.Expires(now, l.ExpiresAt), by)
		}
		_ = tw.Flush()
		s := b.String()
		b.Reset()
		b.WriteString(strings.TrimSuffix(s, "\n"))
	}
	if ours > 0 {
		fmt.Fprintf(&b, "\ndelete the ones this machine made and no longer uses with 'kubectl kyma gc %s', or wait until one expires", env)
	} else {
		b.WriteString("\nthis machine made none of them: wait until one expires, or ask who made them to delete them ('kubectl kyma unbind')")
	}
	return &Error{err: err, msg: b.String()}
}
