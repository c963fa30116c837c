package credential

import (
	"crypto/rand"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// BenchmarkCacheHit is the in-process cost of the cache-hit path that every kubectl call
// pays: read and decode the entry, check it, look for and write the hand-out marker,
// encode and print the ExecCredential. `make bench` sets it beside the whole-process
// times (bench/), which are dominated by process start-up instead.
//
// The entry is shaped like a real one: a service-account JWT of about a kilobyte and a
// cluster CA, the server and CA also passed in KUBERNETES_EXEC_INFO (the exec stanza has
// provideClusterInfo: true).
func BenchmarkCacheHit(b *testing.B) {
	now := time.Now()
	ca := make([]byte, 1150)
	if _, err := rand.Read(ca); err != nil {
		b.Fatal(err)
	}
	tok := make([]byte, 900)
	if _, err := rand.Read(tok); err != nil {
		b.Fatal(err)
	}
	c := Cache{Dir: filepath.Join(b.TempDir(), "kubectl-kyma")}
	key := Key{Profile: "bench", Environment: "2f7c4c8e-4a4b-4e5e-9f0e-6b1d2f3a4b5c"}
	e := &Entry{
		Environment: key.Environment,
		BindingID:   "6a1e5a52-0d7a-4a53-8d6b-2c0f3b9e7d11",
		Token:       "eyJhbGciOiJSUzI1NiIsImtpZCI6ImJlbmNoIn0." + base64.RawURLEncoding.EncodeToString(tok) + ".c2lnbmF0dXJl",
		IssuedAt:    now,
		ExpiresAt:   now.Add(2 * time.Hour),
		Server:      "https://127.0.0.1:6443",
		CAData:      ca,
	}
	if err := c.Store(key, e); err != nil {
		b.Fatal(err)
	}
	info := ExecInfo{APIVersion: apiV1, Server: e.Server, CAData: ca}

	// Each kubectl process is a new caller: its marker does not exist yet, and the hit
	// creates it. The marker is removed again outside the timer, so the marker folder
	// stays as small as in real use.
	b.Run("new-caller", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			in := Input{Key: key, ExecInfo: info, Caller: "4242-" + strconv.Itoa(i)}
			ok, err := c.Hit(in, io.Discard)
			if !ok || err != nil {
				b.Fatalf("Hit = %v, %v; want a hit", ok, err)
			}
			b.StopTimer()
			if err := os.Remove(marker(c.path(key), e.BindingID, in.Caller)); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
	// Without a caller (no parent to tell apart) there is no marker work: what remains
	// is reading, decoding and encoding.
	b.Run("no-caller", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ok, err := c.Hit(Input{Key: key, ExecInfo: info}, io.Discard)
			if !ok || err != nil {
				b.Fatalf("Hit = %v, %v; want a hit", ok, err)
			}
		}
	})
}
