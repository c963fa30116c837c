//go:build !windows

package credential

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
)

// simService is the binding service of the property test: it counts the live bindings
// on the true clock (the fake clock), and answers as a service whose clock, or whose
// Date header, may be off, through the same expiry rules the real clients use.
type simService struct {
	clock     *clock.Fake
	life      time.Duration // what the service grants
	requested time.Duration
	clockOff  time.Duration // the service's clock minus ours
	dateSkew  time.Duration // the Date header minus the service's clock
	answer    string        // ok, failing, lost, revoke-fails
	trouble   func(now time.Time) bool

	n        int
	log      func(string, ...any)
	believed time.Duration        // the lifetime the helper is told, after the expiry rules
	live     map[string]time.Time // binding id -> true expiry
	byTok    map[string]string
	binds    int
	maxLiv   int
}

func (s *simService) liveCount(now time.Time) int {
	n := 0
	for _, exp := range s.live {
		if now.Before(exp) {
			n++
		}
	}
	return n
}

func (s *simService) Mint(ctx context.Context) (*Entry, error) {
	now := s.clock.Now()
	if s.answer == "failing" && s.trouble(now) {
		return nil, errors.New("503 the service is down")
	}
	s.n++
	s.binds++
	id, tok := fmt.Sprintf("b%d", s.n), fmt.Sprintf("token-%d", s.n)
	if s.answer == "lost" && s.trouble(now) {
		return nil, fmt.Errorf("unreadable answer; binding %s deleted again: %w", id, ErrLost)
	}
	s.live[id], s.byTok[tok] = now.Add(s.life), id
	if s.log != nil {
		s.log("%s: bind %s, %d live", now.Sub(t0), id, s.liveCount(now))
	}
	s.maxLiv = max(s.maxLiv, s.liveCount(now))
	serverNow := now.Add(s.clockOff)
	exp, _ := binding.LocalExpiry(serverNow.Add(s.life), serverNow.Add(s.dateSkew).Format(http.TimeFormat), now, s.requested)
	s.believed = exp.Sub(now)
	return &Entry{BindingID: id, Token: tok, IssuedAt: now, ExpiresAt: exp, Server: "https://127.0.0.1:6443"}, nil
}

func (s *simService) Revoke(ctx context.Context, id string) error {
	if s.answer == "revoke-fails" && s.trouble(s.clock.Now()) {
		return errors.New("503 the service is down")
	}
	delete(s.live, id)
	return nil
}

// accepts is the cluster: a token of a binding that is live and not expired.
func (s *simService) accepts(tok string) bool {
	exp, ok := s.live[s.byTok[tok]]
	return ok && s.clock.Now().Before(exp)
}

type scenario struct {
	skew          string
	margin        time.Duration
	ahead         float64
	life          time.Duration
	caller        string
	disk, service string
}

// TestPropertyBindingBudget runs an hour of kubectl calls, every ten seconds on a fake
// clock, for scenarios drawn from every combination of clock skew, margin, refresh-ahead
// share, lifetime, caller pattern, disk state and service answer, and checks the
// invariant of the package doc after every call: at most two live bindings, binds no
// closer than the refresh interval (or the 30 s back-off for lost ones), and no
// expirationTimestamp in the past or after the token stops working.
func TestPropertyBindingBudget(t *testing.T) {
	skews := []string{"none", "date+1h", "date-1h", "clock+1h", "clock-1h", "date+4m", "clock-3m"}
	margins := []time.Duration{0, time.Minute, 15 * time.Minute, 3 * time.Hour}
	aheads := []float64{0, 0.5, 0.8, 1}
	lives := []time.Duration{30 * time.Second, 10 * time.Minute, 2 * time.Hour}
	callers := []string{"kubectl", "long-lived", "shell-loop"}
	disks := []string{"ok", "full"}
	services := []string{"ok", "failing", "lost", "revoke-fails"}
	n := 80
	if testing.Short() {
		n = 20
	}
	rng := rand.New(rand.NewPCG(13, 2026))
	pick := func(k int) int { return rng.IntN(k) }
	for i := range n {
		sc := scenario{skews[pick(len(skews))], margins[pick(len(margins))], aheads[pick(len(aheads))],
			lives[pick(len(lives))], callers[pick(len(callers))], disks[pick(len(disks))], services[pick(len(services))]}
		if sc.life < 10*time.Minute {
			sc.skew = "none" // a short lifetime is believed only when the clocks agree
		}
		t.Run(fmt.Sprintf("%d/%s/margin=%s/ahead=%g/life=%s/%s/disk-%s/%s", i, sc.skew, sc.margin, sc.ahead, sc.life, sc.caller, sc.disk, sc.service), func(t *testing.T) {
			t.Parallel()
			simulate(t, sc)
		})
	}
}

func simulate(t *testing.T, sc scenario) {
	clk := clock.NewFake(t0)
	trouble := func(now time.Time) bool { d := now.Sub(t0); return d >= 20*time.Minute && d < 35*time.Minute }
	svc := &simService{log: t.Logf, clock: clk, life: sc.life, requested: binding.DefaultExpiration, answer: sc.service, trouble: trouble,
		live: map[string]time.Time{}, byTok: map[string]string{}}
	if sc.life > binding.DefaultExpiration {
		svc.requested = sc.life
	}
	switch sc.skew {
	case "date+1h":
		svc.dateSkew = time.Hour
	case "date-1h":
		svc.dateSkew = -time.Hour
	case "clock+1h":
		svc.clockOff = time.Hour
	case "clock-1h":
		svc.clockOff = -time.Hour
	case "date+4m":
		svc.dateSkew = 4 * time.Minute
	case "clock-3m":
		svc.clockOff = -3 * time.Minute
	}
	cache := Cache{Dir: filepath.Join(t.TempDir(), "kubectl-kyma")}
	r := &Refresher{Cache: cache, Minter: svc, Probe: func(ctx context.Context, server string, ca []byte, tok string) (bool, error) {
		return svc.accepts(tok), nil
	}}
	key := Key{Profile: "p", Environment: "env"}
	spawn := func(lock *os.File) error {
		fd, err := syscall.Dup(int(lock.Fd()))
		if err != nil {
			return err
		}
		_ = r.Background(context.Background(), Input{Key: key, Margin: sc.margin, Ahead: sc.ahead, Clock: clk}, os.NewFile(uintptr(fd), "lock"))
		return nil
	}
	// The refresh interval: from a binding's issue to its refresh-ahead point, at least
	// half its time until due, on the lifetime the helper believes.
	refreshInterval := func() time.Duration {
		probe := &Entry{IssuedAt: t0, ExpiresAt: t0.Add(svc.believed)}
		return aheadAt(probe, sc.margin, MinAhead).Sub(t0)
	}

	var held struct {
		tok string
		exp time.Time
	}
	lastBind, binds := time.Time{}, 0
	failedCalls := 0
	for step := 0; step < 360; step++ {
		now := clk.Now()
		if sc.disk == "full" && trouble(now) {
			r.Cache.write = fullDisk
		} else {
			r.Cache.write = quickWrite
		}
		caller := fmt.Sprintf("kubectl-%d", step)
		call := true
		switch sc.caller {
		case "long-lived":
			caller = "controller"
			// client-go runs the plugin again once the expiry it was given has passed,
			// or after a 401.
			call = held.tok == "" || now.After(held.exp) || !svc.accepts(held.tok)
		case "shell-loop":
			caller = "bash"
		}
		if call {
			var out bytes.Buffer
			in := Input{Key: key, Margin: sc.margin, Ahead: sc.ahead, ExecInfo: ExecInfo{APIVersion: apiV1}, Caller: caller, Clock: clk, Spawn: spawn}
			err := r.Do(context.Background(), in, &out)
			if err == nil {
				var ec execCredential
				if jerr := json.Unmarshal(out.Bytes(), &ec); jerr != nil {
					t.Fatalf("at %s: output %q", now.Sub(t0), out.String())
				}
				exp, perr := time.Parse(time.RFC3339, ec.Status.ExpirationTimestamp)
				if perr != nil {
					t.Fatal(perr)
				}
				if !exp.After(now) {
					t.Fatalf("at %s: handed out an expiry %s in the past", now.Sub(t0), exp.Sub(t0))
				}
				if trueExp := svc.live[svc.byTok[ec.Status.Token]]; exp.After(trueExp) {
					t.Fatalf("at %s: handed out %s until %s, after it stops working at %s", now.Sub(t0), ec.Status.Token, exp.Sub(t0), trueExp.Sub(t0))
				}
				if !svc.accepts(ec.Status.Token) {
					t.Fatalf("at %s: handed out %s, which the cluster refuses", now.Sub(t0), ec.Status.Token)
				}
				held.tok, held.exp = ec.Status.Token, exp
			} else {
				failedCalls++
			}
		}
		if svc.binds > binds {
			if svc.binds > binds+1 {
				t.Fatalf("at %s: one call made %d binds", now.Sub(t0), svc.binds-binds)
			}
			if !lastBind.IsZero() {
				if gap := now.Sub(lastBind); gap < min(refreshInterval(), lostBackoff) {
					t.Fatalf("at %s: a bind %s after the last one; the refresh interval is %s", now.Sub(t0), gap, refreshInterval())
				}
			}
			lastBind, binds = now, svc.binds
		}
		if live := svc.liveCount(now); live > 2 {
			t.Fatalf("at %s: %d live bindings", now.Sub(t0), live)
		}
		clk.Add(10 * time.Second)
	}
	if svc.maxLiv > 2 {
		t.Errorf("%d live bindings at once", svc.maxLiv)
	}
	// Without trouble, no kubectl call fails.
	if sc.disk == "ok" && sc.service == "ok" && failedCalls > 0 {
		t.Errorf("%d of the calls failed with nothing wrong", failedCalls)
	}
	// Binds over the hour: one per refresh interval, and one per back-off during the
	// quarter hour of trouble.
	interval := refreshInterval()
	limit := int(time.Hour/interval) + 2
	if sc.disk != "ok" || sc.service != "ok" {
		limit += int(15*time.Minute/lostBackoff) + 1
	}
	if svc.binds > limit {
		t.Errorf("%d binds in an hour, want at most %d (refresh interval %s)", svc.binds, limit, interval)
	}
}

// quickWrite replaces a file as privfile.WriteAtomic does, less the fsync: durability is
// not what this test is about, and hundreds of syncs would make it slow.
func quickWrite(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
