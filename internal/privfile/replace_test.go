package privfile

import (
	"bytes"
	"io"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestReplaceWhileOthersRead: a file is replaced again and again while readers, like
// kubectl calls, open it, read it and close it; every write succeeds and every read
// sees one whole version. On Windows a reader's handle blocks the rename for a moment,
// which WriteAtomic waits out.
func TestReplaceWhileOthersRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret", "entry.json")
	version := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i%26)}, 4096) }
	if err := WriteAtomic(filepath.Dir(filepath.Dir(path)), path, version(0)); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var reads atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for !stop.Load() {
				f, err := Open(path)
				if err != nil {
					t.Errorf("open while it is replaced: %v", err)
					return
				}
				data, err := io.ReadAll(f)
				f.Close()
				if err != nil || len(data) != 4096 || bytes.Count(data, data[:1]) != 4096 {
					t.Errorf("read %d bytes (%v), want one whole version of 4096", len(data), err)
					return
				}
				reads.Add(1)
				time.Sleep(5 * time.Millisecond) // a few hundred reads a second: more than any kubectl herd
			}
		})
	}
	for i := 1; i <= 100; i++ {
		if err := WriteAtomic(filepath.Dir(filepath.Dir(path)), path, version(i)); err != nil {
			t.Errorf("replace %d while others read: %v", i, err)
			break
		}
	}
	stop.Store(true)
	wg.Wait()
	if reads.Load() == 0 {
		t.Error("no read ran while the file was replaced")
	}
}
