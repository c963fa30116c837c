package mint

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding/bindingtest"
	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
)

var now = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// kubeconfigWithToken is a binding's kubeconfig for https://k.example holding token.
func kubeconfigWithToken(token string) string {
	return strings.Replace(bindingtest.Kubeconfig("https://k.example"), "token: tok", "token: "+token, 1)
}

// jwt is an unsigned token whose exp claim is exp.
func jwt(exp time.Time) string {
	payload := base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, `{"exp":%d}`, exp.Unix()))
	return "eyJhbGciOiJub25lIn0." + payload + ".sig"
}

// The expiry comes from the service, else the token's exp claim, else the lifetime
// asked for, else the service's default of 600 s.
func TestEntryOf(t *testing.T) {
	for _, tc := range []struct {
		name       string
		b          binding.Binding
		expiration time.Duration
		want       time.Time
		wantNote   string
	}{
		{"the service's expiry", binding.Binding{ExpiresAt: now.Add(time.Hour), ClockNote: "skewed", Kubeconfig: kubeconfigWithToken("tok")},
			0, now.Add(time.Hour), "skewed"},
		{"the token's exp claim", binding.Binding{Kubeconfig: kubeconfigWithToken(jwt(now.Add(20 * time.Minute)))},
			20 * time.Minute, now.Add(20 * time.Minute), ""},
		{"the lifetime asked for", binding.Binding{Kubeconfig: kubeconfigWithToken("opaque")},
			time.Hour, now.Add(time.Hour), ""},
		{"the service's default", binding.Binding{Kubeconfig: kubeconfigWithToken("opaque")},
			0, now.Add(binding.DefaultExpiration), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.b.ID, tc.b.EnvironmentID = "b-1", "env-1"
			e, err := EntryOf(&tc.b, now, tc.expiration)
			if err != nil {
				t.Fatal(err)
			}
			if !e.ExpiresAt.Equal(tc.want) || e.ClockNote != tc.wantNote {
				t.Errorf("expires %v (note %q), want %v (note %q)", e.ExpiresAt, e.ClockNote, tc.want, tc.wantNote)
			}
			if e.BindingID != "b-1" || e.Environment != "env-1" || e.Server != "https://k.example" || !e.IssuedAt.Equal(now) {
				t.Errorf("entry %+v", e)
			}
		})
	}
	if _, err := EntryOf(&binding.Binding{ID: "b-2", Kubeconfig: "not: [yaml"}, now, 0); err == nil || !strings.HasPrefix(err.Error(), "binding b-2: ") {
		t.Errorf("a broken kubeconfig: %v", err)
	}
}

// minter is a Minter of env-1 through svc that lists what it records and explains.
func minter(svc binding.Service, recorded *[]string) *Minter {
	return &Minter{
		Bindings: func() (binding.Service, error) { return svc, nil }, Env: "env-1", Clock: clock.NewFake(now),
		Record:  func(id string) { *recorded = append(*recorded, id) },
		Explain: func(_ context.Context, _ binding.Service, err error) error { return fmt.Errorf("explained: %w", err) },
	}
}

func TestMint(t *testing.T) {
	svc := bindingtest.New(now)
	var recorded []string
	m := minter(svc, &recorded)
	e, err := m.Mint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if e.BindingID != "new-1" || e.Token != "tok" || !e.ExpiresAt.Equal(now.Add(10*time.Minute)) {
		t.Errorf("entry %+v", e)
	}
	if diff := cmp.Diff([]string{"new-1"}, recorded); diff != "" {
		t.Errorf("recorded (-want +got):\n%s", diff)
	}
	if err := m.Revoke(context.Background(), "new-1"); err != nil || len(svc.LiveIDs()) != 0 {
		t.Errorf("revoke: %v, live %v", err, svc.LiveIDs())
	}
	if err := m.Revoke(context.Background(), "new-1"); err != nil {
		t.Errorf("revoking a binding already gone: %v", err)
	}
}

// A refused bind is explained; one the service made and failed to answer for is
// recorded, then deleted again (or left to gc when that fails too): a lost binding.
func TestMintFailures(t *testing.T) {
	refused := fmt.Errorf("limit: %w", binding.ErrLimitReached)
	made := &binding.MadeError{ID: "half", Err: errors.New("the answer was cut")}
	for _, tc := range []struct {
		name         string
		createErr    error
		deleteErr    error
		want         string
		wantRecorded []string
		lost         bool
		undeleted    time.Time
	}{
		{"refused", refused, nil, "explained: limit: " + binding.ErrLimitReached.Error(), nil, false, time.Time{}},
		{"made, deleted again", made, nil, "the answer was cut; binding half was deleted again", []string{"half"}, true, time.Time{}},
		{"made, not deleted", made, errors.New("503"), "the answer was cut; deleting binding half failed too (503): 'kubectl kyma gc' deletes it later",
			[]string{"half"}, true, now.Add(binding.DefaultExpiration + time.Minute)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := bindingtest.New(now, "half")
			svc.CreateErr, svc.DeleteErr = tc.createErr, tc.deleteErr
			var recorded []string
			_, err := minter(svc, &recorded).Mint(context.Background())
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			var lost *credential.LostBinding
			if errors.As(err, &lost) != tc.lost || (lost != nil && !lost.Undeleted.Equal(tc.undeleted)) {
				t.Errorf("lost binding %+v, want lost %v, undeleted %v", lost, tc.lost, tc.undeleted)
			}
			if diff := cmp.Diff(tc.wantRecorded, recorded); diff != "" {
				t.Errorf("recorded (-want +got):\n%s", diff)
			}
		})
	}
}
