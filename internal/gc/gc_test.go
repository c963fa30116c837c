package gc

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/ledger"
)

var now = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// made builds a ledger of bindings of one kind, made at one time.
func made(kind string, at time.Time, ids ...string) map[string]ledger.Entry {
	m := map[string]ledger.Entry{}
	for _, id := range ids {
		m[id] = ledger.Entry{ID: id, Kind: kind, At: at}
	}
	return m
}

func merge(ms ...map[string]ledger.Entry) map[string]ledger.Entry {
	out := map[string]ledger.Entry{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func TestPlan(t *testing.T) {
	cached := &credential.Entry{BindingID: "current", IssuedAt: now.Add(-5 * time.Minute),
		Superseded: []credential.Superseded{{BindingID: "superseded"}}}
	for _, tc := range []struct {
		name  string
		facts Facts
		want  Plan
	}{{
		name: "superseded first, then what was made here by id; the cached binding and others' stay",
		facts: Facts{
			Made: merge(made(ledger.Credential, now.Add(-time.Hour), "current", "superseded", "by-credential"),
				made(ledger.Bind, now.Add(-time.Hour), "by-bind", "gone"),
				made(ledger.Run, now.Add(-time.Hour), "by-run")),
			Cached: cached,
			Listed: true, Live: []string{"current", "superseded", "by-credential", "by-bind", "by-run", "someone-elses"},
		},
		want: Plan{
			Delete: []Victim{
				{"superseded", "superseded in the credential cache"},
				{"by-bind", "made here by kubectl kyma bind"},
				{"by-credential", "made here by the credential helper"},
				{"by-run", "made here by kubectl kyma run"},
			},
			Keep: map[string]bool{"current": true},
		},
	}, {
		name: "a running kubectl kyma run keeps its binding",
		facts: Facts{
			Made:   made(ledger.Run, now.Add(-time.Hour), "run-1", "run-2"),
			Listed: true, Live: []string{"run-1", "run-2"},
			InUse: map[string]bool{"run-2": true},
		},
		want: Plan{
			Delete: []Victim{{"run-1", "made here by kubectl kyma run"}},
			InUse:  []string{"run-2"},
			Keep:   map[string]bool{"run-2": true},
		},
	}, {
		name: "a refresh in flight keeps the credential helper's bindings made since the cached one",
		facts: Facts{
			Made: merge(made(ledger.Credential, now.Add(-time.Hour), "older"),
				made(ledger.Credential, now, "minting"),
				made(ledger.Kubeconfig, now, "by-kubeconfig")),
			Cached:          &credential.Entry{BindingID: "current", IssuedAt: now.Add(-time.Minute)},
			RefreshInFlight: true,
			Listed:          true, Live: []string{"current", "older", "minting", "by-kubeconfig"},
		},
		want: Plan{
			Delete: []Victim{
				{"by-kubeconfig", "made here by kubectl kyma kubeconfig"},
				{"older", "made here by the credential helper"},
			},
			Keep: map[string]bool{"current": true, "minting": true},
		},
	}, {
		name: "a refresh in flight without a cached entry keeps every binding of the credential helper",
		facts: Facts{
			Made:            made(ledger.Credential, now.Add(-time.Hour), "a", "b"),
			RefreshInFlight: true,
			Listed:          true, Live: []string{"a", "b"},
		},
		want: Plan{Keep: map[string]bool{"a": true, "b": true}},
	}, {
		name: "without a list, every binding made here but the cached one",
		facts: Facts{
			Made:   made(ledger.Credential, now.Add(-time.Hour), "current", "old", "long-gone"),
			Cached: &credential.Entry{BindingID: "current"},
		},
		want: Plan{
			Delete: []Victim{
				{"long-gone", "made here by the credential helper"},
				{"old", "made here by the credential helper"},
			},
			Keep: map[string]bool{"current": true},
		},
	}, {
		name:  "nothing made here, nothing cached",
		facts: Facts{Listed: true, Live: []string{"someone-elses"}},
		want:  Plan{Keep: map[string]bool{}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.facts.Plan()
			if diff := cmp.Diff(tc.want, got, cmpopts.IgnoreUnexported(Plan{}), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRetain(t *testing.T) {
	facts := Facts{
		Made:   made(ledger.Credential, now.Add(-time.Hour), "current"),
		Cached: &credential.Entry{BindingID: "current"},
		Listed: true, Live: []string{"current", "live", "failed"},
	}
	gone := map[string]bool{"deleted": true, "current": true}
	for _, tc := range []struct {
		facts Facts
		entry ledger.Entry
		want  bool
	}{
		{facts, ledger.Entry{ID: "current", At: now.Add(-time.Hour)}, true}, // kept, whatever the service says
		{facts, ledger.Entry{ID: "deleted", At: now}, false},
		{facts, ledger.Entry{ID: "live", At: now.Add(-time.Hour)}, true},
		{facts, ledger.Entry{ID: "failed", At: now.Add(-time.Hour)}, true}, // live: its delete failed
		{facts, ledger.Entry{ID: "not-listed", At: now.Add(-time.Hour)}, false},
		{facts, ledger.Entry{ID: "just-made", At: now.Add(-30 * time.Second)}, true}, // the list may lag
		{Facts{}, ledger.Entry{ID: "unlisted", At: now.Add(-time.Hour)}, true},       // cannot list: may be live
		{Facts{}, ledger.Entry{ID: "deleted", At: now.Add(-time.Hour)}, false},
	} {
		if got := tc.facts.Plan().Retain(gone, now)(tc.entry); got != tc.want {
			t.Errorf("listed=%v: Retain(%+v) = %v, want %v", tc.facts.Listed, tc.entry, got, tc.want)
		}
	}
}

func TestLeft(t *testing.T) {
	p := Facts{Listed: true, Live: []string{"a", "b", "c"}}.Plan()
	if got := p.left(map[string]bool{"b": true, "x": true}); got != 2 {
		t.Errorf("left = %d, want 2", got)
	}
}
