//go:build !windows

package credential

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestOIDCFullDiskStillHandsOutTokens: a token fetched and not stored is handed out;
// every call after fetches its own, says why, and leaves no entry, no temporary file
// and no held lock behind.
func TestOIDCFullDiskStillHandsOutTokens(t *testing.T) {
	now := oidcT0
	var calls atomic.Int32
	dir := t.TempDir()
	c := OIDCCache{Dir: dir, write: fullDisk}
	in := githubInput(&now)
	var stderr bytes.Buffer
	in.Stderr = &stderr
	fetch := countingFetcher(t, &now, &calls)
	seen := map[string]bool{}
	for i := range 3 {
		var out bytes.Buffer
		if ok, err := c.Hit(in, &out); ok || err != nil {
			t.Fatalf("call %d: Hit = %v, %v; want a miss, as nothing could be stored", i, ok, err)
		}
		if err := c.Do(context.Background(), in, fetch, &out); err != nil {
			t.Fatalf("call %d on a full disk: %v", i, err)
		}
		tok, until := printed(t, &out)
		if !until.After(now) || seen[tok] {
			t.Fatalf("call %d: token handed out until %s (now %s), seen before: %v", i, until, now, seen[tok])
		}
		seen[tok] = true
		now = now.Add(time.Second)
	}
	if got := calls.Load(); got != 3 {
		t.Errorf("%d fetches for three calls on a full disk, want one each", got)
	}
	if n := strings.Count(stderr.String(), "is full"); n != 3 {
		t.Errorf("stderr %q: want each call to say the disk is full", stderr.String())
	}
	if strings.Contains(stderr.String(), "request-token") || strings.Contains(stderr.String(), "eyJ") {
		t.Errorf("the warning shows a secret: %q", stderr.String())
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, "oidc", "*"))
	for _, f := range leftovers {
		if !strings.HasSuffix(f, ".lock") {
			t.Errorf("left %s behind", f)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	lock := waitLock(ctx, dir, c.path(in)+".lock")
	if lock == nil {
		t.Fatal("the entry's lock is still held after the calls returned")
	}
	lock.Close()
}

// TestOIDCFullDiskHerdFetchesOneEach: with nothing stored, a herd takes the lock in
// turn and each fetches once; none fails.
func TestOIDCFullDiskHerdFetchesOneEach(t *testing.T) {
	now := oidcT0
	var calls atomic.Int32
	c := OIDCCache{Dir: t.TempDir(), write: fullDisk}
	in := githubInput(&now)
	fetch := countingFetcher(t, &now, &calls)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = c.Do(context.Background(), in, fetch, &bytes.Buffer{}) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
	if got := calls.Load(); got != int32(len(errs)) {
		t.Errorf("%d fetches for %d calls, want one each", got, len(errs))
	}
}

// TestOIDCUnusableCacheFolderStillHandsOutTokens: a cache folder that cannot be made
// (here a file stands in its way) costs a fetch per call, not the token.
func TestOIDCUnusableCacheFolderStillHandsOutTokens(t *testing.T) {
	now := oidcT0
	var calls atomic.Int32
	blocker := filepath.Join(t.TempDir(), "cache")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	c := OIDCCache{Dir: blocker}
	in := githubInput(&now)
	var stderr bytes.Buffer
	in.Stderr = &stderr
	for i := range 2 {
		var out bytes.Buffer
		if err := c.Do(context.Background(), in, countingFetcher(t, &now, &calls), &out); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if tok, _ := printed(t, &out); tok == "" {
			t.Fatalf("call %d: no token", i)
		}
	}
	if got := calls.Load(); got != 2 {
		t.Errorf("%d fetches, want 2", got)
	}
	if n := strings.Count(stderr.String(), "cannot be cached"); n != 2 {
		t.Errorf("stderr %q: want each call to say once that the cache does not work", stderr.String())
	}
}
