// Package follow follows a long operation of the Provisioning Service or the Kyma
// Environment Broker (a provisioning, an update, a deprovisioning) until it ends,
// showing its state: the use case behind the commands' --wait.
//
// It polls as a good citizen: the Provisioning Service rate-limits its callers (429,
// error code 11006) and an environment takes tens of minutes, so the checks start 2 s
// apart and back off to one every 30 s; a change of state brings the next check back
// to 2 s, and a 429 is waited out (as long as the service asks, when it says) instead
// of ending the wait.
package follow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/broker"
	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/provisioning"
)

// The first wait between checks, and the longest.
const (
	pollFirst = 2 * time.Second
	pollMax   = 30 * time.Second
)

// nextPoll is the wait after one of last: twice as long, at most pollMax.
func nextPoll(last time.Duration) time.Duration { return min(2*last, pollMax) }

// Check is one look at an operation: the state to show, whether the wait is over (the
// operation succeeded), and an error that ends the wait (the operation failed, or the
// service cannot be asked).
type Check func(ctx context.Context) (state string, done bool, err error)

// Follower shows an operation's progress on ErrOut and its outcome on Out.
type Follower struct {
	// Clock tells the time and waits between checks; nil is the system clock.
	Clock  clock.Clock
	Out    io.Writer
	ErrOut io.Writer
	// TTY says ErrOut is a terminal: the progress is one line updated in place,
	// otherwise a line per change.
	TTY bool
}

// Input is one operation to follow.
type Input struct {
	// Name is the environment's, as "environment/NAME" shows it.
	Name string
	// Outcome completes "environment/NAME ..." on success ("is ready").
	Outcome string
	// Follow says how to follow the operation once the wait gave up ("follow it with
	// 'kubectl kyma get NAME'").
	Follow  string
	Timeout time.Duration
	Check   Check
}

// Do checks until the operation is over, showing its state and when the next check
// comes. Ctrl-C (ctx cancelled) stops the waiting, never the operation; so does the
// timeout, and the error then says how to follow the operation.
func (f *Follower) Do(ctx context.Context, in Input) error {
	clk := clock.Or(f.Clock)
	ctx, cancel := context.WithTimeout(ctx, in.Timeout)
	defer cancel()
	start := clk.Now()
	delay := pollFirst
	state, shown := "", ""
	for {
		wait := delay
		s, done, err := in.Check(ctx)
		if ctx.Err() == nil {
			status := s
			if after, limited := rateLimited(err); limited {
				err, status = nil, "rate-limited"
				if state != "" {
					status = state + ", rate-limited"
				}
				if d := after.Round(time.Second); d > wait {
					wait = d
				}
			} else {
				if state != "" && s != state {
					delay, wait = pollFirst, pollFirst
				}
				state = s
			}
			elapsed := clk.Now().Sub(start).Round(time.Second)
			line := fmt.Sprintf("%s: %s (%s", in.Name, status, elapsed)
			if err == nil && !done {
				line += fmt.Sprintf("; next check in %s", wait)
			}
			line += ")"
			switch {
			case f.TTY:
				fmt.Fprintf(f.ErrOut, "\r\033[K%s", line)
			case status != shown || err != nil || done:
				fmt.Fprintln(f.ErrOut, line)
			}
			shown = status
			if err != nil || done {
				if f.TTY {
					fmt.Fprintln(f.ErrOut)
				}
				if done {
					fmt.Fprintf(f.Out, "environment/%s %s after %s\n", in.Name, in.Outcome, elapsed)
				}
				return err
			}
		}
		select {
		case <-ctx.Done():
			if f.TTY {
				fmt.Fprintln(f.ErrOut)
			}
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				if state == "" {
					state = "in progress"
				}
				return fmt.Errorf("%q is still %s after %s; the operation goes on: %s", in.Name, state, in.Timeout, in.Follow)
			}
			return fmt.Errorf("stopped waiting; the operation goes on: %s", in.Follow)
		case <-clk.After(wait):
		}
		delay = nextPoll(delay)
	}
}

// rateLimited reports whether err is a 429 of either API, and how long the service said
// to wait (zero when it did not say).
func rateLimited(err error) (time.Duration, bool) {
	var pe *provisioning.APIError
	if errors.As(err, &pe) && pe.StatusCode == http.StatusTooManyRequests {
		return pe.RetryAfter, true
	}
	var be *broker.APIError
	if errors.As(err, &be) && be.StatusCode == http.StatusTooManyRequests {
		return 0, true
	}
	return 0, false
}
