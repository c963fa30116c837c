package credential

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
)

// oidcIssuer is GitHub's token service and the cluster of the OIDC property test. The
// true time is the fake clock (this machine's) less skew; the issuer stamps its
// tokens on the true time, and the cluster accepts a token until its exp, on the true
// time too.
type oidcIssuer struct {
	t       *testing.T
	clk     *clock.Fake
	skew    time.Duration // this machine's clock minus the true time
	life    time.Duration
	shape   string        // which time claims the tokens carry
	latency time.Duration // how long an answer takes, on the fake clock

	mu      sync.Mutex
	fetches int
	exp     map[string]time.Time // token -> true expiry
}

func (s *oidcIssuer) trueNow() time.Time { return s.clk.Now().Add(-s.skew) }

func (s *oidcIssuer) fetch(ctx context.Context, u, tok, aud string) (string, error) {
	s.clk.Add(s.latency)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fetches++
	iat := s.trueNow().Truncate(time.Second) // a NumericDate: whole seconds
	exp := iat.Add(s.life)
	claims := map[string]any{"aud": aud, "exp": exp.Unix(), "n": s.fetches}
	switch s.shape {
	case "iat":
		claims["iat"] = iat.Unix()
	case "iat+backdated-nbf": // GitHub's shape: nbf some minutes before iat
		claims["iat"], claims["nbf"] = iat.Unix(), iat.Add(-10*time.Minute).Unix()
	case "nbf":
		claims["nbf"] = iat.Unix()
	case "exp-only":
	case "old": // a service answering a token it issued ten hours ago
		claims["iat"] = iat.Add(-10 * time.Hour).Unix()
	case "old-nbf": // the same, with nbf and no iat
		claims["nbf"] = iat.Add(-10 * time.Hour).Unix()
	}
	token := testJWT(s.t, claims)
	s.exp[token] = exp
	return token, nil
}

// TestPropertyOIDCSkew runs generated scenarios on a fake clock: this machine's clock
// from two hours behind the issuer's and the cluster's to two hours ahead, tokens of
// lifetimes from seconds to beyond the cap, with the time claims GitHub, GitLab and
// Kubernetes put in them or fewer, called by herds of kubectl processes at random
// times. After every call it checks the OIDC invariant of the package doc:
//   - no call fails (the service is honest, so a token just fetched is never refused);
//   - every expirationTimestamp handed out is after the call's local time and, for a
//     token with iat or nbf, not after the token's true expiry in this clock's terms
//     (true exp plus skew), so the cluster accepts it until then;
//   - a token the service issued long ago (iat, or nbf without iat, 10 h before) is handed out no later
//     than its exp read on this clock, or a minute from the call when that is sooner;
//   - a herd fetches at most one token, and all of it is handed the same one.
func TestPropertyOIDCSkew(t *testing.T) {
	lives := []time.Duration{10 * time.Second, 90 * time.Second, 5 * time.Minute, 10 * time.Minute, time.Hour, 3 * time.Hour}
	shapes := []string{"iat", "iat+backdated-nbf", "nbf", "exp-only", "old", "old-nbf"}
	n := 60
	if testing.Short() {
		n = 24
	}
	rng := rand.New(rand.NewPCG(16, 2026))
	for i := range n {
		skew := time.Duration(rng.IntN(4*3600+1)-2*3600) * time.Second
		switch i % 6 { // the edges and just past a token's life, every few cases
		case 0:
			skew = 0
		case 1:
			skew = 2 * time.Hour
		case 2:
			skew = -2 * time.Hour
		}
		life := lives[rng.IntN(len(lives))]
		shape := shapes[rng.IntN(len(shapes))]
		latency := time.Duration(rng.IntN(1500)) * time.Millisecond
		seed := rng.Uint64()
		t.Run(fmt.Sprintf("%d/skew=%s/life=%s/%s/latency=%s", i, skew, life, shape, latency), func(t *testing.T) {
			t.Parallel()
			simulateOIDC(t, skew, life, shape, latency, seed)
		})
	}
}

func simulateOIDC(t *testing.T, skew, life time.Duration, shape string, latency time.Duration, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	trueStart := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	clk := clock.NewFake(trueStart.Add(skew))
	iss := &oidcIssuer{t: t, clk: clk, skew: skew, life: life, shape: shape, latency: latency, exp: map[string]time.Time{}}
	c := OIDCCache{Dir: t.TempDir()}
	in := githubInput(nil)
	in.Clock = clk
	// Without iat or nbf, or with an old iat, only this machine's clock tells the life.
	old := shape == "old" || shape == "old-nbf"
	strict := shape != "exp-only" && !old

	for step := range 40 {
		herd := 1
		if rng.IntN(3) == 0 {
			herd = 2 + rng.IntN(7)
		}
		before := iss.fetches
		tokens := make([]string, herd)
		expiries := make([]time.Time, herd)
		nows := make([]time.Time, herd)
		errs := make([]error, herd)
		var wg sync.WaitGroup
		for k := range herd {
			wg.Go(func() {
				// The launcher, then kyma-cli with the lock it handed over.
				var out bytes.Buffer
				nows[k] = clk.Now()
				ok, err := c.Hit(in, &out)
				if !ok && err == nil {
					var lock *os.File
					if ok, lock, err = c.Miss(context.Background(), in, &out); !ok && err == nil {
						if lock != nil {
							err = c.DoHolding(context.Background(), in, iss.fetch, lock, &out)
						} else {
							err = c.Do(context.Background(), in, iss.fetch, &out)
						}
					}
				}
				if errs[k] = err; err == nil {
					tokens[k], expiries[k] = printed(t, &out)
				}
			})
		}
		wg.Wait()
		at := clk.Now().Sub(trueStart.Add(skew))
		if f := iss.fetches - before; f > 1 {
			t.Fatalf("step %d at %s: a herd of %d fetched %d tokens", step, at, herd, f)
		}
		for k := range herd {
			if errs[k] != nil {
				t.Fatalf("step %d at %s: a call was refused: %v", step, at, errs[k])
			}
			if tokens[k] != tokens[0] {
				t.Fatalf("step %d at %s: the herd was handed different tokens", step, at)
			}
			if !expiries[k].After(nows[k]) {
				t.Fatalf("step %d at %s: expirationTimestamp %s not after the call's time %s", step, at, expiries[k], nows[k])
			}
			trueExp, ok := iss.exp[tokens[k]]
			if !ok {
				t.Fatalf("step %d: handed out a token the issuer never issued", step)
			}
			if strict && expiries[k].Add(-skew).After(trueExp) {
				t.Fatalf("step %d at %s: handed out until %s (true time), after the token expires at %s", step, at, expiries[k].Add(-skew), trueExp)
			}
			if old && expiries[k].After(maxTime(trueExp, nows[k].Add(latency+unknownOIDCLife))) {
				t.Fatalf("step %d at %s: an old token handed out until %s, after both its exp %s on this clock and a minute from the call", step, at, expiries[k], trueExp)
			}
			if strict && !iss.trueNow().Before(trueExp) {
				t.Fatalf("step %d at %s: handed out a token that expired at %s (true time)", step, at, trueExp)
			}
		}
		// The next call: soon, or past the expiry handed out, or much later.
		switch rng.IntN(3) {
		case 0:
			clk.Add(time.Duration(rng.IntN(10)) * time.Second)
		case 1:
			clk.Set(expiries[0].Add(time.Duration(rng.IntN(3000)) * time.Millisecond))
		default:
			clk.Add(time.Duration(rng.Int64N(int64(2 * life))))
		}
	}
	if iss.fetches == 0 {
		t.Fatal("nothing was fetched")
	}
}

// TestOIDCLocalTokenIsNeverRefusedOnThisClock: a token read from a variable or a file
// is handed out whatever this machine's clock says of its exp; the expiry handed out
// is never in the past, and never beyond the token's lifetime from now.
func TestOIDCLocalTokenIsNeverRefusedOnThisClock(t *testing.T) {
	issued := oidcT0
	tok := testJWT(t, map[string]any{"aud": "https://api.example", "iat": issued.Unix(), "exp": issued.Add(time.Hour).Unix()})
	for _, skew := range []time.Duration{-2 * time.Hour, -30 * time.Minute, 0, 59 * time.Minute, 61 * time.Minute, 2 * time.Hour} {
		t.Run(skew.String(), func(t *testing.T) {
			now := issued.Add(skew)
			var stderr bytes.Buffer
			in := ReadOIDCEnv(OIDC{Source: OIDCGitLab}, func(k string) (string, bool) { return tok, k == DefaultGitLabTokenEnv })
			in.ExecInfo, in.Clock, in.Stderr = ExecInfo{APIVersion: apiV1, Server: "https://api.example"}, ptrClock{&now}, &stderr
			var out bytes.Buffer
			if ok, err := (OIDCCache{Dir: t.TempDir()}).Hit(in, &out); !ok || err != nil {
				t.Fatalf("Hit = %v, %v: a token refused on this machine's clock", ok, err)
			}
			_, until := printed(t, &out)
			if !until.After(now) || until.After(now.Add(time.Hour)) {
				t.Errorf("expirationTimestamp %s at %s: want after now and within the token's hour", until, now)
			}
			expired := !now.Before(issued.Add(time.Hour))
			if warned := strings.Contains(stderr.String(), "by this machine's clock"); warned != expired {
				t.Errorf("warning %q, want one only when this clock says the token expired", stderr.String())
			}
			if expired && until.After(now.Add(unknownOIDCLife)) {
				t.Errorf("a token expired on this clock handed out until %s, more than %s", until, unknownOIDCLife)
			}
		})
	}
}

func TestOIDCTokenLife(t *testing.T) {
	now := oidcT0
	in := OIDCInput{OIDC: OIDC{Source: OIDCFile, TokenFile: "/t"}, Clock: ptrClock{&now}}
	at := func(d time.Duration) time.Time { return now.Add(d) }
	for _, tc := range []struct {
		name    string
		c       jwtClaims
		want    time.Duration
		wantErr string
	}{
		{"exp less iat", jwtClaims{Iat: at(-2 * time.Hour), Exp: at(-2*time.Hour + 5*time.Minute)}, 5 * time.Minute, ""},
		{"iat in this clock's future", jwtClaims{Iat: at(3 * time.Hour), Exp: at(3*time.Hour + 90*time.Second)}, 90 * time.Second, ""},
		{"iat before a backdated nbf", jwtClaims{Nbf: at(-10 * time.Minute), Iat: at(0), Exp: at(5 * time.Minute)}, 5 * time.Minute, ""},
		{"nbf without iat", jwtClaims{Nbf: at(0), Exp: at(10 * time.Minute)}, 10 * time.Minute, ""},
		{"neither: this clock", jwtClaims{Exp: at(7 * time.Minute)}, 7 * time.Minute, ""},
		{"neither, past on this clock", jwtClaims{Exp: at(-time.Hour)}, unknownOIDCLife, ""},
		{"absurdly long: capped", jwtClaims{Iat: at(0), Exp: at(365 * 24 * time.Hour)}, maxOIDCLife, ""},
		{"exp at iat", jwtClaims{Iat: at(0), Exp: at(0)}, 0, "no later than it was issued"},
		{"exp before iat", jwtClaims{Iat: at(0), Exp: at(-time.Second)}, 0, "no later than it was issued"},
	} {
		got, err := in.tokenLife(tc.c)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: life %s, %v; want %s", tc.name, got, err, tc.want)
		}
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
