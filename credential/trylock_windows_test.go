package credential

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestWindowsLocksExcludeEachOther: the hit's lock (tryLock), the foreground refresh's
// (gofrs/flock) and the waiting one (waitLock) are one lock on Windows too.
func TestWindowsLocksExcludeEachOther(t *testing.T) {
	c := Cache{Dir: t.TempDir()}
	k := Key{Profile: "dev", Environment: "env-1"}
	unlock, err := c.lock(context.Background(), k, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := tryLock(c.Dir, c.path(k)+".lock"); ok {
		f.Close()
		t.Fatal("tryLock took the lock the foreground refresh holds")
	}
	unlock()
	f, ok := tryLock(c.Dir, c.path(k)+".lock")
	if !ok {
		t.Fatal("tryLock could not take the released lock")
	}
	defer f.Close()
	if _, err := c.lock(context.Background(), k, 300*time.Millisecond); err == nil {
		t.Fatal("the foreground refresh took the lock tryLock holds")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if w := waitLock(ctx, c.Dir, c.path(k)+".lock"); w != nil {
		w.Close()
		t.Fatal("waitLock took the lock tryLock holds")
	}
}

// TestBackgroundLockComesWhenTheHitExits: the background refresh waits for the lock
// the hit that started it holds, and gets it once the hit lets go.
func TestBackgroundLockComesWhenTheHitExits(t *testing.T) {
	c := Cache{Dir: t.TempDir()}
	k := Key{Profile: "dev", Environment: "env-1"}
	if err := os.MkdirAll(filepath.Dir(c.path(k)), 0o700); err != nil {
		t.Fatal(err)
	}
	hit, ok := tryLock(c.Dir, c.path(k)+".lock")
	if !ok {
		t.Fatal("tryLock on a free lock failed")
	}
	got := make(chan *os.File, 1)
	go func() { got <- c.BackgroundLock(context.Background(), k) }()
	select {
	case f := <-got:
		f.Close()
		t.Fatal("the background refresh got the lock while the hit held it")
	case <-time.After(300 * time.Millisecond):
	}
	hit.Close()
	select {
	case f := <-got:
		if f == nil {
			t.Fatal("the background refresh gave up on a released lock")
		}
		f.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("the background refresh did not get the released lock")
	}
}

// TestWindowsCallerHasAStartTime: the caller identity is PID plus creation time, so a
// recycled PID is a new caller.
func TestWindowsCallerHasAStartTime(t *testing.T) {
	start := startTime(os.Getpid())
	if _, err := strconv.ParseInt(start, 10, 64); err != nil {
		t.Fatalf("startTime of this process = %q, want a number", start)
	}
	if again := startTime(os.Getpid()); again != start {
		t.Errorf("startTime changed from %s to %s", start, again)
	}
	if got := startTime(-1); got != "" {
		t.Errorf("startTime of no process = %q, want empty", got)
	}
}
