//go:build !windows

package credential

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestMain lets this test binary double as a process that writes entries until it is
// killed (see TestKillDuringWrite).
func TestMain(m *testing.M) {
	if dir := os.Getenv("CREDENTIAL_TEST_WRITER"); dir != "" {
		c := Cache{Dir: dir}
		for i := 0; ; i++ {
			e := &Entry{BindingID: fmt.Sprintf("b%d", i), Token: fmt.Sprintf("token-%d-%0500d", i, i), IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)}
			if err := c.Store(Key{Profile: "p", Environment: "e"}, e); err != nil {
				os.Exit(3)
			}
		}
	}
	os.Exit(m.Run())
}

// TestKillDuringWrite kills a writer with SIGKILL at random moments: the entry it
// leaves is always a whole one, old or new.
func TestKillDuringWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "kubectl-kyma")
	c := Cache{Dir: dir}
	k := Key{Profile: "p", Environment: "e"}
	if err := c.Store(k, &Entry{BindingID: "first", Token: "t", IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for round := range 20 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "CREDENTIAL_TEST_WRITER="+dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(5+rand.IntN(40)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		e := c.Load(k)
		if e == nil {
			data, _ := os.ReadFile(c.path(k))
			t.Fatalf("round %d: after kill -9 the entry does not load: %q", round, data)
		}
	}
}
