package filelock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLockExcludes: goroutines that each read, bump and write a counter under the lock
// never lose an update. Each Lock opens its own file, so they exclude each other as
// separate processes do (flock and LockFileEx bind a lock to the open file).
func TestLockExcludes(t *testing.T) {
	dir := t.TempDir()
	lock, counter := filepath.Join(dir, "c.lock"), filepath.Join(dir, "c")
	if err := os.WriteFile(counter, []byte("0"), 0o600); err != nil {
		t.Fatal(err)
	}
	const workers, rounds = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				unlock, err := Lock(context.Background(), lock, 10*time.Second)
				if err != nil {
					errs <- err
					return
				}
				data, _ := os.ReadFile(counter)
				n, _ := strconv.Atoi(string(data))
				runtime.Gosched()
				if err := os.WriteFile(counter, []byte(strconv.Itoa(n+1)), 0o600); err != nil {
					errs <- err
				}
				unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(counter)
	if got := string(data); got != strconv.Itoa(workers*rounds) {
		t.Errorf("counter = %s after %d locked increments", got, workers*rounds)
	}
}

func TestLockTimesOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := Lock(context.Background(), path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Lock(context.Background(), path, 50*time.Millisecond)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("second Lock while held: %v, want ErrTimeout", err)
	}
	if want := "another process has held the lock " + path + " for over 50ms"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	unlock()
	unlock2, err := Lock(context.Background(), path, 50*time.Millisecond)
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	unlock2()
}

// TestLockWaitsForRelease: a waiter gets the lock once the holder lets go.
func TestLockWaitsForRelease(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := Lock(context.Background(), path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(50*time.Millisecond, unlock)
	unlock2, err := Lock(context.Background(), path, 10*time.Second)
	if err != nil {
		t.Fatalf("Lock while the holder lets go: %v", err)
	}
	unlock2()
}

func TestLockCanceled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := Lock(context.Background(), path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Lock(ctx, path, time.Second)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
		t.Errorf("Lock with a canceled context: %v, want context.Canceled", err)
	}
}

func TestLockCreatesPrivateFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows modes do not describe ACLs")
	}
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := Lock(context.Background(), path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("lock file mode %04o, want no access for group and others", fi.Mode().Perm())
	}
}

func TestLockRefusesLink(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no O_NOFOLLOW; privfile.Touch refuses links there before the lock")
	}
	dir := t.TempDir()
	target, link := filepath.Join(dir, "target"), filepath.Join(dir, "x.lock")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(context.Background(), link, time.Second); err == nil || errors.Is(err, ErrTimeout) {
		t.Errorf("Lock through a link: %v, want an open error", err)
	}
	if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the link's target was created: %v", err)
	}
}

func TestTryLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, ok, err := TryLock(path)
	if err != nil || !ok {
		t.Fatalf("TryLock of a free lock: ok=%v, %v", ok, err)
	}
	if _, ok, err := TryLock(path); err != nil || ok {
		t.Errorf("TryLock of a held lock: ok=%v, %v; want false, nil", ok, err)
	}
	if _, ok, err := TryLockExisting(path); err != nil || ok {
		t.Errorf("TryLockExisting of a held lock: ok=%v, %v; want false, nil", ok, err)
	}
	unlock()
	unlock2, ok, err := TryLockExisting(path)
	if err != nil || !ok {
		t.Fatalf("TryLockExisting of a released lock: ok=%v, %v", ok, err)
	}
	unlock2()
}

func TestTryLockExistingCreatesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.lock")
	if _, ok, err := TryLockExisting(path); err == nil || ok || !strings.Contains(err.Error(), path) {
		t.Errorf("TryLockExisting of a missing file: ok=%v, %v; want an error naming it", ok, err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("TryLockExisting created %s: %v", path, err)
	}
}
