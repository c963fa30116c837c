package follow

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-kyma/kubectl-kyma/internal/broker"
	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/provisioning"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// look is one scripted answer of a Check.
type look struct {
	state string
	done  bool
	err   error
}

// script answers with looks in turn, the last one again and again.
func script(looks ...look) Check {
	i := 0
	return func(context.Context) (string, bool, error) {
		l := looks[min(i, len(looks)-1)]
		i++
		return l.state, l.done, l.err
	}
}

func TestDo(t *testing.T) {
	s := time.Second
	limited := &provisioning.APIError{StatusCode: http.StatusTooManyRequests}
	limitedUntil := &provisioning.APIError{StatusCode: http.StatusTooManyRequests, RetryAfter: 98 * s}
	failed := errors.New(`provisioning of "t1" ended in CREATION_FAILED`)
	for _, tc := range []struct {
		name      string
		looks     []look
		wantWaits []time.Duration
		wantOut   string
		wantErr   string
		wantLines []string
	}{
		{name: "backs off, and a new state brings the checks back to 2 s",
			looks:     []look{{state: "CREATING"}, {state: "CREATING"}, {state: "CREATING"}, {state: "UPDATING"}, {state: "OK", done: true}},
			wantWaits: []time.Duration{2 * s, 4 * s, 8 * s, 2 * s},
			wantOut:   "environment/t1 is ready after 16s\n",
			wantLines: []string{"t1: CREATING (0s; next check in 2s)", "t1: UPDATING (14s; next check in 2s)", "t1: OK (16s)"}},
		{name: "the checks back off to 30 s at most",
			looks:     []look{{state: "CREATING"}, {state: "CREATING"}, {state: "CREATING"}, {state: "CREATING"}, {state: "CREATING"}, {state: "CREATING"}, {state: "OK", done: true}},
			wantWaits: []time.Duration{2 * s, 4 * s, 8 * s, 16 * s, 30 * s, 30 * s},
			wantOut:   "environment/t1 is ready after 1m30s\n"},
		{name: "a 429 is waited out, as long as the service asks",
			looks:     []look{{state: "CREATING"}, {err: limited}, {err: limitedUntil}, {state: "OK", done: true}},
			wantWaits: []time.Duration{2 * s, 4 * s, 98 * s},
			wantOut:   "environment/t1 is ready after 1m44s\n",
			wantLines: []string{"t1: CREATING (0s; next check in 2s)", "t1: CREATING, rate-limited (2s; next check in 4s)", "t1: OK (1m44s)"}},
		{name: "a broker 429 is waited out too",
			looks:     []look{{err: &broker.APIError{StatusCode: http.StatusTooManyRequests}}, {state: "succeeded", done: true}},
			wantWaits: []time.Duration{2 * s},
			wantOut:   "environment/t1 is ready after 2s\n",
			wantLines: []string{"t1: rate-limited (0s; next check in 2s)", "t1: succeeded (2s)"}},
		{name: "a failure ends the wait with its error",
			looks:     []look{{state: "CREATING"}, {state: "CREATION_FAILED", err: failed}},
			wantWaits: []time.Duration{2 * s},
			wantErr:   failed.Error(),
			wantLines: []string{"t1: CREATING (0s; next check in 2s)", "t1: CREATION_FAILED (2s)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewFake(t0)
			var out, errOut bytes.Buffer
			f := &Follower{Clock: clk, Out: &out, ErrOut: &errOut}
			err := f.Do(context.Background(), Input{Name: "t1", Outcome: "is ready", Follow: "follow it with 'kubectl kyma get t1'",
				Timeout: time.Minute, Check: script(tc.looks...)})
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr) {
				t.Fatalf("error = %v, want %q", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.wantWaits, clk.Waits()); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			if out.String() != tc.wantOut {
				t.Errorf("stdout = %q, want %q", out.String(), tc.wantOut)
			}
			if tc.wantLines != nil {
				if diff := cmp.Diff(tc.wantLines, strings.Split(strings.TrimSuffix(errOut.String(), "\n"), "\n")); diff != "" {
					t.Errorf("progress lines (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// The wait gives up, never the operation: at the timeout, or when the user stops it.
func TestDoGivesUp(t *testing.T) {
	follow := "follow it with 'kubectl kyma get t1'"
	f := &Follower{Clock: clock.NewFake(t0), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}
	// The timeout is on the context, in real time: the fake clock only spaces the checks.
	err := f.Do(context.Background(), Input{Name: "t1", Follow: follow, Timeout: 20 * time.Millisecond, Check: script(look{state: "CREATING"})})
	if want := `"t1" is still CREATING after 20ms; the operation goes on: ` + follow; err == nil || err.Error() != want {
		t.Errorf("timeout: error = %v, want %q", err, want)
	}

	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err = f.Do(ctx, Input{Name: "t1", Follow: follow, Timeout: time.Hour, Check: func(context.Context) (string, bool, error) {
		calls++
		if calls == 2 {
			cancel()
		}
		return "CREATING", false, nil
	}})
	if want := "stopped waiting; the operation goes on: " + follow; err == nil || err.Error() != want {
		t.Errorf("cancelled: error = %v, want %q", err, want)
	}
}
