//go:build !windows

package credential

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// callWithin runs f and fails the test when it has not returned within a few seconds:
// a blocking open of a FIFO never returns.
func callWithin(t *testing.T, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("the call hangs")
		return nil
	}
}

// A --token-file that is a FIFO, a device or larger than any ID token is refused in
// one sentence, without hanging or reading it whole.
func TestOIDCTokenFileMustBeASmallRegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge")
	if err := os.WriteFile(huge, bytes.Repeat([]byte("a"), maxTokenFile+1), 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{fifo: "not a regular file", "/dev/zero": "not a regular file", huge: "larger than 64 KiB"} {
		in := OIDCInput{OIDC: OIDC{Source: OIDCFile, TokenFile: path}, ExecInfo: ExecInfo{APIVersion: apiV1, Server: "https://api.example"}}
		var out bytes.Buffer
		err := callWithin(t, func() error { _, err := (OIDCCache{Dir: t.TempDir()}).Hit(in, &out); return err })
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("--token-file %s: error = %v, want %q", path, err, want)
		}
		if out.Len() != 0 {
			t.Errorf("--token-file %s: printed %q", path, out.String())
		}
	}
}

// A FIFO or an oversized file at a cache entry's place is no entry: the call fetches
// a token (and replaces the entry) instead of hanging or reading it whole.
func TestOIDCEntryThatIsAFIFOOrTooLargeIsAMiss(t *testing.T) {
	for _, plant := range []func(string) error{
		func(p string) error { return syscall.Mkfifo(p, 0o600) },
		func(p string) error { return os.WriteFile(p, bytes.Repeat([]byte(" "), maxTokenFile+1), 0o600) },
	} {
		now := time.Now()
		c := OIDCCache{Dir: t.TempDir()}
		in := githubInput(&now)
		bound, err := in.bindToCluster()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(c.path(bound)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(c.Dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := plant(c.path(bound)); err != nil {
			t.Fatal(err)
		}
		var calls atomic.Int32
		var out bytes.Buffer
		if err := callWithin(t, func() error { return c.Do(context.Background(), in, countingFetcher(t, &now, &calls), &out) }); err != nil {
			t.Fatal(err)
		}
		if tok, _ := printed(t, &out); tok == "" || calls.Load() != 1 {
			t.Errorf("token %q after %d fetches", tok, calls.Load())
		}
	}
}
