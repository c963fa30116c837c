package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestLoadOverExpiries: 200 concurrent credential calls, each from its own parent
// process as kubectl would make them, on an empty cache and then after each of three
// expiries of 30-second bindings: no call fails and each round makes one binding.
func TestLoadOverExpiries(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, "--binding-ttl", "30s")
	u := newUser(t)
	u.login(emu)
	envID := u.provision("e2e-load")
	kyma := filepath.Join(binDir, "kubectl-kyma")

	const callers = 200
	for round := range 4 {
		if round > 0 {
			time.Sleep(21 * time.Second) // past the 10 s margin of the last binding
		} else if _, err := exec.Command("rm", "-rf", filepath.Join(u.home, ".cache", "kubectl-kyma", "credentials")).CombinedOutput(); err != nil {
			t.Fatal(err)
		}
		before := emu.stats(t).BindingsCreated
		var wg sync.WaitGroup
		errs := make([]error, callers)
		took := make([]time.Duration, callers)
		start := time.Now()
		for i := range callers {
			wg.Go(func() {
				t0 := time.Now()
				// sh stays the plugin's parent, as kubectl is: one caller per process.
				out, errOut, err := u.run(nil, "sh", "-c", fmt.Sprintf("%s credential --profile default --environment %s; exit $?", kyma, envID))
				took[i] = time.Since(t0)
				if err != nil || len(out) == 0 {
					errs[i] = fmt.Errorf("%v: %s", err, errOut)
				}
			})
		}
		wg.Wait()
		wall := time.Since(start)
		failed := 0
		for _, err := range errs {
			if err != nil {
				failed++
				if failed == 1 {
					t.Errorf("round %d: %v", round, err)
				}
			}
		}
		made := emu.stats(t).BindingsCreated - before
		if failed > 0 || made != 1 {
			t.Errorf("round %d: %d of %d calls failed, %d bindings made; want 0 and 1", round, failed, callers, made)
		}
		slices.Sort(took)
		t.Logf("round %d: %d calls in %s, %d failed, %d binding(s) made; per call p50 %s p99 %s max %s",
			round, callers, wall.Round(time.Millisecond), failed, made,
			took[callers/2].Round(time.Millisecond), took[callers*99/100].Round(time.Millisecond), took[callers-1].Round(time.Millisecond))
	}
}
