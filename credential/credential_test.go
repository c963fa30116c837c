package credential

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
)

// fakeMinter makes numbered bindings that live for life, as a service would.
type fakeMinter struct {
	clock    *clock.Fake
	life     time.Duration
	delay    time.Duration // how long a bind takes, in real time
	minted   atomic.Int32
	attempts atomic.Int32
	revoked  []string
	mu       sync.Mutex
	err      error
}

func (m *fakeMinter) Mint(ctx context.Context) (*Entry, error) {
	m.attempts.Add(1)
	if m.err != nil {
		return nil, m.err
	}
	time.Sleep(m.delay)
	n := m.minted.Add(1)
	now := m.clock.Now()
	return &Entry{BindingID: fmt.Sprintf("b%d", n), Token: fmt.Sprintf("token-%d", n), IssuedAt: now, ExpiresAt: now.Add(m.life), Server: "https://127.0.0.1:6443"}, nil
}

func (m *fakeMinter) Revoke(ctx context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.revoked = append(m.revoked, id)
	return nil
}

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

type harness struct {
	// refused are the tokens the cluster answers with 401.
	refused map[string]bool
	probes  int
	stderr  bytes.Buffer
	clock   *clock.Fake
	minter  *fakeMinter
	r       *Refresher
	key     Key
	ahead   float64
	spawn   func(*os.File) error
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	clk := clock.NewFake(t0)
	m := &fakeMinter{clock: clk, life: 10 * time.Minute}
	h := &harness{
		refused: map[string]bool{},
		clock:   clk,
		minter:  m,
		r:       &Refresher{Cache: Cache{Dir: filepath.Join(t.TempDir(), "kubectl-kyma")}, Minter: m},
		key:     Key{Profile: "dev", Environment: "env-1"},
	}
	h.r.Probe = func(ctx context.Context, server string, ca []byte, token string) (bool, error) {
		h.probes++
		return !h.refused[token], nil
	}
	return h
}

// call runs the plugin as the process caller would, and decodes what kubectl reads.
func (h *harness) call(t *testing.T, caller string) execCredential {
	t.Helper()
	var out bytes.Buffer
	in := Input{Key: h.key, ExecInfo: ExecInfo{APIVersion: apiV1}, Caller: caller, Clock: h.clock, Stderr: &h.stderr, Ahead: h.ahead, Spawn: h.spawn}
	if err := h.r.Do(context.Background(), in, &out); err != nil {
		t.Fatalf("credential: %v", err)
	}
	var got execCredential
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("output is not an ExecCredential: %v\n%s", err, out.String())
	}
	return got
}

func TestCacheHitMakesNoBinding(t *testing.T) {
	h := newHarness(t)
	first := h.call(t, "kubectl-1")
	second := h.call(t, "kubectl-2")
	if n := h.minter.minted.Load(); n != 1 {
		t.Errorf("two kubectl processes made %d bindings, want 1", n)
	}
	// The refresh-ahead point (80 % of the 9 minutes until due), not the due point: a
	// long-lived client comes back while the token is good.
	want := &execStatus{Token: "token-1", ExpirationTimestamp: "2026-11-23T10:07:12Z"}
	if diff := cmp.Diff(want, first.Status); diff != "" {
		t.Errorf("first call (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, second.Status); diff != "" {
		t.Errorf("second call (-want +got):\n%s", diff)
	}
	if second.Kind != "ExecCredential" || second.APIVersion != apiV1 {
		t.Errorf("got kind %q apiVersion %q", second.Kind, second.APIVersion)
	}
}

func TestRefreshBeforeExpiry(t *testing.T) {
	h := newHarness(t)
	h.call(t, "kubectl-1")
	// 8m59s: still before expiry less the one-minute margin.
	h.clock.Add(8*time.Minute + 59*time.Second)
	if got := h.call(t, "kubectl-2").Status.Token; got != "token-1" {
		t.Errorf("at 8m59s got %s, want the cached token-1", got)
	}
	h.clock.Add(time.Second)
	got := h.call(t, "kubectl-3").Status
	if got.Token != "token-2" {
		t.Errorf("at 9m got %s, want a new token-2", got.Token)
	}
	if got.ExpirationTimestamp != "2026-11-23T10:16:12Z" {
		t.Errorf("expirationTimestamp = %s, want 10:16:12 (the new binding's refresh-ahead point)", got.ExpirationTimestamp)
	}
	if diff := cmp.Diff([]string{"b1"}, h.minter.revoked); diff != "" {
		t.Errorf("superseded bindings revoked (-want +got):\n%s", diff)
	}
}

func TestRefusedTokenIsReplaced(t *testing.T) {
	h := newHarness(t)
	h.call(t, "kubectl-1")
	h.clock.Add(5 * time.Second)
	h.refused["token-1"] = true // revoked by someone: the cluster answers 401
	// client-go runs the plugin again in the same process only after a 401.
	if got := h.call(t, "kubectl-1").Status.Token; got != "token-2" {
		t.Fatalf("the same kubectl asked again and got %s, want a new binding", got)
	}
	if diff := cmp.Diff([]string{"b1"}, h.minter.revoked); diff != "" {
		t.Errorf("refused binding revoked (-want +got):\n%s", diff)
	}
	// The next kubectl process gets the new token from the cache.
	if got := h.call(t, "kubectl-2").Status.Token; got != "token-2" {
		t.Errorf("next kubectl got %s, want token-2", got)
	}
	if n := h.minter.minted.Load(); n != 2 {
		t.Errorf("made %d bindings, want 2", n)
	}
}

func TestRefusedReplacementIsNotReplacedInALoop(t *testing.T) {
	h := newHarness(t)
	h.refused["token-1"], h.refused["token-2"] = true, true // the wrong server, say
	h.call(t, "kubectl-1")
	h.call(t, "kubectl-1") // refused: token-2 replaces token-1
	h.call(t, "kubectl-2")
	h.clock.Add(5 * time.Second)
	if got := h.call(t, "kubectl-2").Status.Token; got != "token-2" {
		t.Errorf("a replacement refused 5s after it was made was replaced by %s", got)
	}
	if !strings.Contains(h.stderr.String(), "refused binding b2 too") {
		t.Errorf("no warning on stderr: %q", h.stderr.String())
	}
	h.clock.Add(time.Minute)
	if got := h.call(t, "kubectl-2").Status.Token; got != "token-3" {
		t.Errorf("after the cool-down a refused binding is replaced; got %s", got)
	}
}

func TestConcurrentCallersMakeOneBinding(t *testing.T) {
	h := newHarness(t)
	h.minter.delay = 100 * time.Millisecond
	var wg sync.WaitGroup
	tokens := make([]string, 20)
	for i := range tokens {
		wg.Go(func() { tokens[i] = h.call(t, fmt.Sprintf("kubectl-%d", i)).Status.Token })
	}
	wg.Wait()
	if n := h.minter.minted.Load(); n != 1 {
		t.Errorf("20 concurrent callers made %d bindings, want 1", n)
	}
	for i, tok := range tokens {
		if tok != "token-1" {
			t.Errorf("caller %d got %q", i, tok)
		}
	}
}

func TestCorruptEntryIsAMiss(t *testing.T) {
	h := newHarness(t)
	path := h.r.Cache.path(h.key)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, junk := range []string{"", "{", `{"token":"x"}`, "\x00\x01garbage"} {
		if err := os.WriteFile(path, []byte(junk), 0o600); err != nil {
			t.Fatal(err)
		}
		if h.r.Cache.Load(h.key) != nil {
			t.Errorf("entry %q loaded as valid", junk)
		}
	}
	if got := h.call(t, "kubectl-1").Status.Token; got != "token-1" {
		t.Errorf("after a corrupt entry got %q, want a new binding", got)
	}
}

func TestFailedMintKeepsTheEntry(t *testing.T) {
	h := newHarness(t)
	h.call(t, "kubectl-1")
	before, _ := os.ReadFile(h.r.Cache.path(h.key))
	h.clock.Add(11 * time.Minute) // past the expiry: no valid token to fall back on
	h.minter.err = errors.New("service unavailable")
	var out bytes.Buffer
	err := h.r.Do(context.Background(), Input{Key: h.key, ExecInfo: ExecInfo{APIVersion: apiV1}, Caller: "kubectl-2", Clock: h.clock}, &out)
	if err == nil || !strings.Contains(err.Error(), "service unavailable") {
		t.Errorf("error = %v, want the service's", err)
	}
	if out.Len() != 0 {
		t.Errorf("printed %q on failure", out.String())
	}
	after, _ := os.ReadFile(h.r.Cache.path(h.key))
	if !bytes.Equal(before, after) {
		t.Error("a failed refresh changed the cache entry")
	}
}

func TestFilesArePrivate(t *testing.T) {
	needFileModes(t)
	h := newHarness(t)
	h.call(t, "kubectl-1")
	path := h.r.Cache.path(h.key)
	for p, want := range map[string]os.FileMode{
		path:                         0o600,
		path + ".lock":               0o600,
		filepath.Dir(path):           0o700,
		filepath.Join(h.r.Cache.Dir): 0o700,
	} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s has mode %04o, want %04o", p, got, want)
		}
	}
}

func TestV1beta1WhenAsked(t *testing.T) {
	info, err := ParseExecInfo(`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":false,"cluster":{"server":"https://127.0.0.1:6443"}}}`)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	var out bytes.Buffer
	if err := h.r.Do(context.Background(), Input{Key: h.key, ExecInfo: info, Clock: h.clock}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"apiVersion":"client.authentication.k8s.io/v1beta1"`) {
		t.Errorf("answered %s", out.String())
	}
}

func TestParseExecInfo(t *testing.T) {
	for _, tc := range []struct {
		name, env string
		want      ExecInfo
		err       string
	}{
		{"unset", "", ExecInfo{APIVersion: apiV1}, ""},
		{"v1 with cluster", `{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"cluster":{"server":"https://a:6443"},"interactive":false}}`, ExecInfo{APIVersion: apiV1, Server: "https://a:6443"}, ""},
		{"kubectl without cluster", `{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":false}}`, ExecInfo{APIVersion: apiV1, NoCluster: true}, ""},
		{"alpha", `{"apiVersion":"client.authentication.k8s.io/v1alpha1"}`, ExecInfo{}, "this plugin speaks"},
		{"junk", `not json`, ExecInfo{}, "is not an ExecCredential"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseExecInfo(tc.env)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestMargin(t *testing.T) {
	for _, tc := range []struct {
		life, override, want time.Duration
	}{
		{10 * time.Minute, 0, time.Minute},
		{2 * time.Hour, 0, 12 * time.Minute},
		{30 * time.Second, 0, 10 * time.Second}, // a third of a short test lifetime
		{10 * time.Minute, 2 * time.Minute, 2 * time.Minute},
	} {
		e := &Entry{IssuedAt: t0, ExpiresAt: t0.Add(tc.life)}
		if got := Margin(e, tc.override); got != tc.want {
			t.Errorf("Margin(life %s, override %s) = %s, want %s", tc.life, tc.override, got, tc.want)
		}
	}
}

func TestTokenForAnotherClusterIsRefused(t *testing.T) {
	h := newHarness(t)
	h.call(t, "kubectl-1")
	var out bytes.Buffer
	in := Input{Key: h.key, ExecInfo: ExecInfo{APIVersion: apiV1, Server: "https://other:6443"}, Caller: "kubectl-2", Clock: h.clock}
	err := h.r.Do(context.Background(), in, &out)
	if err == nil || !strings.Contains(err.Error(), "are for the cluster at https://127.0.0.1:6443") {
		t.Errorf("error = %v, want a wrong-cluster error", err)
	}
	if out.Len() != 0 {
		t.Errorf("handed out %s to another cluster", out.String())
	}
}

func TestFailedRefreshHandsOutTheStillValidToken(t *testing.T) {
	h := newHarness(t)
	h.call(t, "kubectl-1")
	h.clock.Add(9*time.Minute + 10*time.Second) // past the margin, 50 s before expiry
	h.minter.err = errorString("the service is down")
	got := h.call(t, "kubectl-2").Status
	want := &execStatus{Token: "token-1", ExpirationTimestamp: "2026-11-23T10:09:40Z"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !strings.Contains(h.stderr.String(), "cannot make a new binding") {
		t.Errorf("stderr %q does not say the refresh failed", h.stderr.String())
	}
	// Within the back-off the service is not asked again.
	h.minter.err = nil
	h.clock.Add(10 * time.Second)
	if got := h.call(t, "kubectl-3").Status.Token; got != "token-1" || h.minter.minted.Load() != 1 {
		t.Errorf("10 s after the failure got %s with %d bindings made", got, h.minter.minted.Load())
	}
	h.clock.Add(time.Minute) // past the expiry: nothing valid is left
	h.minter.err = errorString("the service is down")
	var out bytes.Buffer
	err := h.r.Do(context.Background(), Input{Key: h.key, ExecInfo: ExecInfo{APIVersion: apiV1}, Caller: "kubectl-4", Clock: h.clock}, &out)
	if err == nil || out.Len() != 0 {
		t.Errorf("with nothing valid left: err %v, printed %q", err, out.String())
	}
}

func TestEntryOthersCanReadIsReplaced(t *testing.T) {
	needFileModes(t)
	h := newHarness(t)
	h.call(t, "kubectl-1")
	path := h.r.Cache.path(h.key)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := h.call(t, "kubectl-2").Status.Token; got != "token-2" {
		t.Errorf("a world-readable entry was handed out (%s); want a new binding", got)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("the replaced entry has mode %04o", fi.Mode().Perm())
	}
}

func TestFailureWithNothingValidIsRepeatedBriefly(t *testing.T) {
	h := newHarness(t)
	h.minter.err = errorString("the service is down")
	in := Input{Key: h.key, ExecInfo: ExecInfo{APIVersion: apiV1}, Caller: "kubectl-1", Clock: h.clock}
	var out bytes.Buffer
	for range 3 { // client-go runs the plugin again for each request of one kubectl
		if err := h.r.Do(context.Background(), in, &out); err == nil || !strings.Contains(err.Error(), "the service is down") {
			t.Fatalf("err = %v", err)
		}
	}
	if calls := h.minter.attempts.Load(); calls != 1 {
		t.Errorf("three calls within a second asked the service %d times, want 1", calls)
	}
	h.clock.Add(6 * time.Second)
	h.minter.err = nil
	if got := h.call(t, "kubectl-2").Status.Token; got != "token-1" {
		t.Errorf("after the fail-fast window got %q", got)
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }
