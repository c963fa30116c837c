package credential

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/privfile"
)

// lostBackoff is how long after a binding was made and lost (deleted again because it
// could not be stored or handed out) no other is made.
const lostBackoff = 30 * time.Second

// The mint stamp is the modification time of an empty file beside the entry,
// <entry>.minted, set to the time of each bind before the bind is sent. It is how the
// back-off survives a full disk: the failure record (a new file's content) cannot be
// written there, but an empty file can still be created and its times changed, as
// neither needs a free data block. Other places were weighed: the made-bindings ledger
// is on the same disk and needs room for a line; a note in the environment reaches only
// the processes this one starts, not the next kubectl call; a file in another folder
// (a runtime or temp folder) may not exist, may be wiped, and splits the state of one
// entry over two places.
func stampPath(entryPath string) string {
	return strings.TrimSuffix(entryPath, ".json") + ".minted"
}

// lastMint is when a binding was last made for k (or a bind was sent); zero when none
// is recorded.
func (c Cache) lastMint(k Key) time.Time {
	fi, err := os.Lstat(stampPath(c.path(k))) // a link is not a stamp of ours
	if err != nil || !fi.Mode().IsRegular() || fi.ModTime().Unix() <= 0 {
		return time.Time{}
	}
	return fi.ModTime()
}

// stampMint records that a bind is about to be sent; restore undoes it for a bind that
// made no binding. Without the record no bind is sent: the back-off would be blind.
func (c Cache) stampMint(k Key, now time.Time) (restore func(), err error) {
	path := stampPath(c.path(k))
	prev := c.lastMint(k)
	f, err := privfile.OpenFile(c.Dir, path, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, diskFull(c.Dir, err)
	}
	f.Close() // a regular file of ours in a private folder: Chtimes changes that file
	if err := os.Chtimes(path, now, now); err != nil {
		return nil, diskFull(c.Dir, err)
	}
	return func() {
		if prev.IsZero() {
			prev = time.Unix(0, 0)
		}
		_ = os.Chtimes(path, prev, prev)
	}, nil
}

// keptMint clears the stamp once the binding is stored: it is then the entry's, and
// nothing was lost. Without this, an entry removed by hand (or by a benchmark's cold
// start) would look like a binding just made and lost.
func (c Cache) keptMint(k Key) {
	_ = os.Chtimes(stampPath(c.path(k)), time.Unix(0, 0), time.Unix(0, 0))
}

// undeletedPath is an empty file whose modification time is when the last binding made
// here and neither used nor deleted stops counting towards the limit: like the stamp,
// it can be written on a full disk.
func undeletedPath(entryPath string) string {
	return strings.TrimSuffix(entryPath, ".json") + ".undeleted"
}

// noteUndeleted records a binding that could be neither used nor deleted.
func (c Cache) noteUndeleted(k Key, until time.Time) {
	path := undeletedPath(c.path(k))
	if fi, err := os.Lstat(path); err == nil && fi.Mode().IsRegular() && fi.ModTime().After(until) {
		return
	}
	f, err := privfile.OpenFile(c.Dir, path, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	f.Close()
	_ = os.Chtimes(path, until, until)
}

// recentLoss reports, as an error for the user, a binding made less than lostBackoff
// ago that did not become the cached entry (it was deleted again). The cause is the
// recorded failure, or, when none could be recorded, why recording fails now: on a
// full disk the error says so.
func (c Cache) recentLoss(k Key, cached *Entry, now time.Time) error {
	if fi, err := os.Lstat(undeletedPath(c.path(k))); err == nil && fi.Mode().IsRegular() && now.Before(fi.ModTime()) {
		// Conservative: it is counted as this machine's whole share of the limit.
		return fmt.Errorf("a binding of environment %s made here could be neither used nor deleted, and may live until %s: no other is made until then ('kubectl kyma gc' deletes it)",
			k.Environment, fi.ModTime().Local().Format(time.TimeOnly))
	}
	stamp := c.lastMint(k)
	if cached == nil {
		cached = c.loadAny(k) // stored, but refused by Load (others may read it, say)
	}
	if stamp.IsZero() || (cached != nil && !stamp.After(cached.IssuedAt)) {
		return nil
	}
	age := now.Sub(stamp)
	if age >= lostBackoff || age < -time.Minute { // a clock set back does not block for long
		return nil
	}
	cause := "it could not be kept"
	if last := c.lastFailure(k); last != nil && !last.Time.Before(stamp.Truncate(time.Second)) {
		cause = last.Error
	} else if err := c.recordFailure(k, stamp, errors.New(cause)); err != nil {
		cause = err.Error()
	}
	return fmt.Errorf("a binding of environment %s was made %s ago and deleted again (%s); the next is made no sooner than in %s",
		k.Environment, age.Round(time.Second), cause, (lostBackoff - age).Round(time.Second))
}

// diskFull turns "no space left on device" into a sentence that names the folder.
func diskFull(dir string, err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("the disk holding %s is full: %w", dir, err)
	}
	return err
}

// loadAny reads the entry's file without Load's check of its mode, for when it was
// last written; a link is still not followed.
func (c Cache) loadAny(k Key) *Entry {
	f, err := privfile.OpenFile(c.Dir, c.path(k), os.O_RDONLY, 0)
	if err != nil {
		return nil
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil
	}
	e, err := decodeEntry(data)
	if err != nil || e.IssuedAt.IsZero() {
		return nil
	}
	return &e
}
