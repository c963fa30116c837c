// Package credstatus gathers what `kubectl kyma status` shows: each cached credential
// of a profile, its refresh state, and the environment's live bindings at the service.
package credstatus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/age"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/broker"
	"github.com/kubectl-kyma/kubectl-kyma/internal/ledger"
	"github.com/kubectl-kyma/kubectl-kyma/internal/printers"
)

// Row is one row of `kubectl kyma status`, and its -o json form.
type Row struct {
	Profile         string    `json:"profile"`
	Environment     string    `json:"environment"`
	EnvironmentName string    `json:"environmentName,omitempty"`
	BindingID       string    `json:"bindingId"`
	IssuedAt        time.Time `json:"issuedAt,omitzero"`
	ExpiresAt       time.Time `json:"expiresAt"`
	// TimeLeft is until the binding expires, in whole seconds; negative once expired.
	TimeLeft   int64 `json:"timeLeftSeconds"`
	Superseded int   `json:"supersededBindings"`

	// ClockNote says why the expiry is not what the service said (a skewed Date
	// header ignored, a lifetime out of bounds).
	ClockNote string `json:"clockNote,omitempty"`

	RefreshInFlight bool          `json:"refreshInFlight"`
	RefreshPID      int           `json:"refreshPid,omitempty"`
	LastError       *RefreshError `json:"lastRefreshError,omitempty"`

	// Live bindings of the environment at the service: not with --cached-only.
	LiveBindings *int   `json:"liveBindings,omitempty"`
	BindingLimit int    `json:"bindingLimit,omitempty"`
	MadeHere     *int   `json:"liveBindingsMadeHere,omitempty"`
	LiveError    string `json:"liveBindingsError,omitempty"`
}

// RefreshError is the last background refresh's failure.
type RefreshError struct {
	Time  time.Time `json:"time"`
	Error string    `json:"error"`
}

// Cached is a row for each credential the cache holds for the profile, by environment.
func Cached(cache credential.Cache, profile string, now time.Time) []Row {
	entries := cache.Entries(profile)
	slices.SortFunc(entries, func(a, b *credential.Entry) int { return strings.Compare(a.Environment, b.Environment) })
	rows := make([]Row, 0, len(entries))
	for _, e := range entries {
		s := Row{
			Profile:     profile,
			Environment: e.Environment,
			BindingID:   e.BindingID,
			IssuedAt:    e.IssuedAt,
			ExpiresAt:   e.ExpiresAt,
			TimeLeft:    int64(e.ExpiresAt.Sub(now) / time.Second),
			Superseded:  len(e.Superseded),
			ClockNote:   e.ClockNote,
		}
		r := cache.RefreshState(credential.Key{Profile: profile, Environment: e.Environment})
		s.RefreshInFlight, s.RefreshPID = r.InFlight, r.PID
		if r.LastError != "" {
			s.LastError = &RefreshError{Time: r.LastErrorTime, Error: r.LastError}
		}
		rows = append(rows, s)
	}
	return rows
}

// Live is what AddLive needs: the profile, its cache folder (the ledger of bindings
// made here), the environments' names by id, and the binding service or why there is none.
type Live struct {
	Profile     string
	CacheDir    string
	Names       map[string]string
	Bindings    binding.Service
	BindingsErr error
}

// AddLive fills in each row's live bindings at the service; a failure is the row's
// LiveError, not the command's.
func AddLive(ctx context.Context, rows []Row, in Live) {
	for i := range rows {
		r := &rows[i]
		r.EnvironmentName = in.Names[r.Environment]
		if in.BindingsErr != nil {
			r.LiveError = in.BindingsErr.Error()
			continue
		}
		live, err := in.Bindings.List(ctx, r.Environment)
		switch {
		case errors.Is(err, broker.ErrListNotSupported):
			r.LiveError = "a broker profile cannot list bindings"
		case err != nil:
			r.LiveError = err.Error()
		default:
			n, ours := len(live), 0
			made := ledger.Open(in.CacheDir, in.Profile, r.Environment).Read()
			for _, b := range live {
				if _, ok := made[b.ID]; ok {
					ours++
				}
			}
			r.LiveBindings, r.MadeHere, r.BindingLimit = &n, &ours, binding.MaxLive
		}
	}
}

// Listing shows the rows as `kubectl kyma status` prints them; times are in now's zone: the local one, as time.Now gives it.
func Listing(rows []Row, now time.Time, cachedOnly bool) (printers.Listing, error) {
	l := printers.Listing{
		Kind: "CachedCredential",
		Columns: []metav1.TableColumnDefinition{
			printers.Column("PROFILE", false), printers.Column("ENVIRONMENT", false), printers.Column("BINDING", false),
			printers.Column("EXPIRES", false), printers.Column("TIME LEFT", false), printers.Column("REFRESH", false),
			printers.Column("LAST ERROR", false),
		},
	}
	if !cachedOnly {
		l.Columns = append(l.Columns, printers.Column("LIVE BINDINGS", false))
	}
	l.Columns = append(l.Columns, printers.Column("SUPERSEDED", true), printers.Column("ISSUED", true))
	for _, r := range rows {
		raw, err := json.Marshal(r)
		if err != nil {
			return l, err
		}
		l.Items = append(l.Items, raw)
		l.Names = append(l.Names, r.Profile+"/"+r.Environment)
		env := r.Environment
		if r.EnvironmentName != "" {
			env = r.EnvironmentName
		}
		refresh := "-"
		if r.RefreshInFlight {
			refresh = "in flight"
			if r.RefreshPID != 0 {
				refresh = fmt.Sprintf("in flight (pid %d)", r.RefreshPID)
			}
		}
		lastErr := "-"
		if r.LastError != nil {
			lastErr = fmt.Sprintf("%s ago: %s", age.Of(now, r.LastError.Time), r.LastError.Error)
		}
		if r.ClockNote != "" {
			lastErr = "clock: " + r.ClockNote
			if r.LastError != nil {
				lastErr = fmt.Sprintf("%s ago: %s; clock: %s", age.Of(now, r.LastError.Time), r.LastError.Error, r.ClockNote)
			}
		}
		row := []any{r.Profile, env, r.BindingID, r.ExpiresAt.In(now.Location()).Format(time.DateTime), timeLeft(r.ExpiresAt.Sub(now)), refresh, lastErr}
		if !cachedOnly {
			live := r.LiveError
			if r.LiveBindings != nil {
				live = fmt.Sprintf("%d/%d (%d made here)", *r.LiveBindings, r.BindingLimit, *r.MadeHere)
			}
			row = append(row, live)
		}
		row = append(row, r.Superseded, age.Of(now, r.IssuedAt)+" ago")
		l.Rows = append(l.Rows, row)
	}
	return l, nil
}

// timeLeft is a duration until expiry, as kubectl prints ages, or "expired".
func timeLeft(d time.Duration) string {
	if d <= 0 {
		return "expired"
	}
	return duration.HumanDuration(d)
}
