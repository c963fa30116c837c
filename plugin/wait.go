package plugin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/broker"
	"github.com/kubectl-kyma/kubectl-kyma/internal/provisioning"
)

// --wait polls as a good citizen: the Provisioning Service rate-limits its callers
// (429, error code 11006) and an environment takes tens of minutes, so the checks
// start 2 s apart and back off to one every 30 s; a change of state brings the next
// check back to 2 s, and a 429 is waited out (as long as the service asks, when it
// says) instead of ending the wait.
const (
	pollFirst = 2 * time.Second
	pollMax   = 30 * time.Second
)

// nextPoll is the wait after one of last: twice as long, at most pollMax.
func nextPoll(last time.Duration) time.Duration { return min(2*last, pollMax) }

// check is one look at an operation: the state to show, whether the wait is over (the
// operation succeeded), and an error that ends the wait (the operation failed, or the
// service cannot be asked).
type check func(ctx context.Context) (state string, done bool, err error)

// rateLimited reports whether err is a 429 of either API, and when the service said to
// come back (zero when it did not say).
func rateLimited(err error) (time.Time, bool) {
	var pe *provisioning.APIError
	if errors.As(err, &pe) && pe.StatusCode == http.StatusTooManyRequests {
		return pe.RetryAt, true
	}
	var be *broker.APIError
	if errors.As(err, &be) && be.StatusCode == http.StatusTooManyRequests {
		return time.Time{}, true
	}
	return time.Time{}, false
}

// waitFor checks until the operation is over, showing its state and when the next
// check comes: on a terminal one line that updates in place, otherwise a line per
// change. outcome completes "environment/NAME ..." on success; follow says how to
// follow the operation once the wait gave up ("follow it with ..."). Ctrl-C (ctx
// cancelled) stops the waiting, never the operation.
func waitFor(ctx context.Context, f *Factory, name, outcome, follow string, timeout time.Duration, look check) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := f.Clock.Now()
	tty := isTerminal(f.IOStreams.ErrOut)
	delay := pollFirst
	state, shown := "", ""
	for {
		wait := delay
		s, done, err := look(ctx)
		if ctx.Err() == nil {
			status := s
			if retryAt, limited := rateLimited(err); limited {
				err, status = nil, "rate-limited"
				if state != "" {
					status = state + ", rate-limited"
				}
				if d := retryAt.Sub(f.Clock.Now()); d > wait {
					wait = d.Round(time.Second)
				}
			} else {
				if state != "" && s != state {
					delay, wait = pollFirst, pollFirst
				}
				state = s
			}
			elapsed := f.Clock.Now().Sub(start).Round(time.Second)
			line := fmt.Sprintf("%s: %s (%s", name, status, elapsed)
			if err == nil && !done {
				line += fmt.Sprintf("; next check in %s", wait)
			}
			line += ")"
			switch {
			case tty:
				fmt.Fprintf(f.IOStreams.ErrOut, "\r\033[K%s", line)
			case status != shown || err != nil || done:
				fmt.Fprintln(f.IOStreams.ErrOut, line)
			}
			shown = status
			if err != nil || done {
				if tty {
					fmt.Fprintln(f.IOStreams.ErrOut)
				}
				if done {
					fmt.Fprintf(f.IOStreams.Out, "environment/%s %s after %s\n", name, outcome, elapsed)
				}
				return err
			}
		}
		select {
		case <-ctx.Done():
			if tty {
				fmt.Fprintln(f.IOStreams.ErrOut)
			}
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%q is still %s after %s; the operation goes on: %s", name, orDefault(state, "in progress"), timeout, follow)
			}
			return fmt.Errorf("stopped waiting; the operation goes on: %s", follow)
		case <-f.Clock.After(wait):
		}
		delay = nextPoll(delay)
	}
}

// environmentCheck follows an environment through the Provisioning Service until
// ok(environment) or a *_FAILED state, which is an error naming the state and the
// service's message. before is the environment as it was before the request (nil for
// a new one): a state is believed only once the service shows that the request took
// effect, by a pending state seen or a later modifiedDate, so a lagging answer that
// still shows the state from before the request (an earlier failure, say) does not
// end the wait. goneIsDone makes a 404 the end of the wait (a deletion).
func environmentCheck(f *Factory, id, verb string, before *provisioning.Environment, pending []string, ok func(*provisioning.Environment) bool, goneIsDone bool) check {
	sawPending := before == nil
	return func(ctx context.Context) (string, bool, error) {
		c, err := f.Provisioning()
		if err != nil {
			return "", false, err
		}
		e, err := c.GetEnvironment(ctx, id)
		if err != nil {
			if goneIsDone && errors.Is(err, binding.ErrNotFound) {
				return "GONE", true, nil
			}
			return "", false, err
		}
		for _, p := range pending {
			if e.State == p {
				sawPending = true
			}
		}
		switch {
		case !sawPending && !e.ModifiedDate.After(before.ModifiedDate.Time):
			return e.State, false, nil
		case e.Failed():
			return e.State, false, stateError(verb, e)
		case ok(e):
			return e.State, true, nil
		}
		return e.State, false, nil
	}
}

// stateError names the failed state and gives the service's message.
func stateError(verb string, e *provisioning.Environment) error {
	if e.StateMessage == "" {
		return fmt.Errorf("%s of %q ended in %s", verb, e.DisplayName(), e.State)
	}
	return fmt.Errorf("%s of %q ended in %s: %s", verb, e.DisplayName(), e.State, e.StateMessage)
}
