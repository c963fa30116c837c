package plugin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
	"github.com/kubectl-kyma/kubectl-kyma/internal/ledger"
	"github.com/kubectl-kyma/kubectl-kyma/internal/printers"
)

// limitError is a refused bind at the limit of live bindings, with what the user needs
// to act on it. It unwraps to the service's error, so errors.Is(err,
// binding.ErrLimitReached) still holds.
type limitError struct {
	err error
	msg string
}

func (e *limitError) Error() string { return e.msg }
func (e *limitError) Unwrap() error { return e.err }

// limitNotes is what explains a refused bind at the limit of live bindings: the
// profile and cache that hold this machine's record of the bindings it made, and the
// clock for their ages.
type limitNotes struct {
	profile  func() (*config.Profile, error)
	cacheDir func() (string, error)
	clock    clock.Clock
}

// limitNotesOf takes the factory's profile, cache and clock, lazily.
func limitNotesOf(f *Factory) limitNotes {
	return limitNotes{profile: f.Profile, cacheDir: f.CacheDir, clock: f.Clock}
}

// explainLimit is limitNotesOf(f).explain, for the commands that still take the
// factory.
func explainLimit(ctx context.Context, f *Factory, svc binding.Service, env target, err error) error {
	return limitNotesOf(f).explain(ctx, svc, env, err)
}

// explain turns err, a failed Create of a binding of env, into an error that lists the
// environment's live bindings (id, created, expires), marks those this machine made,
// and points at `kubectl kyma gc`. Any other error comes back as it was. The commands
// that make bindings call it on their Create error paths.
func (n limitNotes) explain(ctx context.Context, svc binding.Service, env target, err error) error {
	if !errors.Is(err, binding.ErrLimitReached) {
		return err
	}
	var b strings.Builder
	b.WriteString(err.Error())
	made := map[string]ledger.Entry{}
	if p, perr := n.profile(); perr == nil {
		if dir, derr := n.cacheDir(); derr == nil {
			made = ledger.Open(dir, p.Name, env.ID).Read()
		}
	}
	// The command's own context may be near its end; the listing is worth a few seconds.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	live, lerr := svc.List(ctx, env.ID)
	now := n.clock.Now()
	ours := 0
	switch {
	case lerr != nil:
		fmt.Fprintf(&b, "\nthe live bindings cannot be listed (%v)", lerr)
		if len(made) > 0 {
			fmt.Fprintf(&b, "; this machine made these, which may be live:")
			for _, id := range sortedKeys(made) {
				fmt.Fprintf(&b, "\n  %s (%s, %s)", id, ledger.Describe(made[id].Kind), printers.Age(now, made[id].At)+" ago")
			}
			ours = len(made)
		}
	default:
		fmt.Fprintf(&b, "\n%s has %d live bindings (the limit is %d):\n", env.Name, len(live), binding.MaxLive)
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
				created = printers.Age(now, l.CreatedAt) + " ago"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", l.ID, created, expiresIn(now, l.ExpiresAt), by)
		}
		_ = tw.Flush()
		s := b.String()
		b.Reset()
		b.WriteString(strings.TrimSuffix(s, "\n"))
	}
	if ours > 0 {
		fmt.Fprintf(&b, "\ndelete the ones this machine made and no longer uses with 'kubectl kyma gc %s', or wait until one expires", env.Name)
	} else {
		b.WriteString("\nthis machine made none of them: wait until one expires, or ask who made them to delete them ('kubectl kyma unbind')")
	}
	return &limitError{err: err, msg: b.String()}
}
