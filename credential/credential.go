package credential

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/privfile"
)

// DefaultAhead is the share of a binding's lifetime after which a cache hit also
// starts a background refresh, so no kubectl call waits for a bind.
const DefaultAhead = 0.8

// Input is one run of the plugin.
type Input struct {
	Key Key
	// Margin overrides the refresh margin (see Margin); zero keeps the default.
	Margin time.Duration
	// Ahead is the share of the lifetime after which a hit starts a background refresh:
	// zero means DefaultAhead, one or more turns it off.
	Ahead float64
	// ExecInfo is what kubectl passed in KUBERNETES_EXEC_INFO.
	ExecInfo ExecInfo
	// Caller identifies the calling process (see Caller); empty turns off the
	// detection of refused tokens.
	Caller string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Spawn starts a detached background refresh while lock, the entry's lock file,
	// is held: the new process inherits it (Unix) or waits for it (Windows; see
	// BackgroundLock). Nil turns background refresh off.
	Spawn func(lock *os.File) error
	// Stderr gets notes for the user; kubectl shows them. Nil discards them.
	Stderr io.Writer
}

func (in Input) now() time.Time {
	if in.Now != nil {
		return in.Now()
	}
	return time.Now()
}

func (in Input) note(format string, args ...any) {
	if in.Stderr != nil {
		fmt.Fprintf(in.Stderr, "kubectl-kyma: "+format+"\n", args...)
	}
}

// Hit is the cache-hit path, the one every kubectl call pays for: it prints the cached
// token and reports true when the entry is fresh, meant for the same cluster, and not
// already handed to this caller (who would be asking again because the server refused
// it). Otherwise it prints nothing and reports false, and the caller goes on to a
// Refresher. Past the Ahead share of the lifetime it also starts one background
// refresh.
func (c Cache) Hit(in Input, w io.Writer) (bool, error) {
	e := c.Load(in.Key)
	now := in.now()
	if !fresh(e, now, in.Margin) || !sameCluster(e, in.ExecInfo) {
		return false, nil
	}
	path := c.path(in.Key)
	if handedBefore(path, e.BindingID, in.Caller) {
		return false, nil
	}
	recordHandout(path, e.BindingID, in.Caller)
	if err := writeExecCredential(w, in.ExecInfo.APIVersion, e.Token, handOutUntil(e, in.Margin)); err != nil {
		return true, err
	}
	if in.Spawn != nil && dueAhead(e, now, in.Ahead) {
		c.refreshAhead(in, e)
	}
	return true, nil
}

// WaitLock waits for the entry's lock, which a process making a binding holds, and
// returns the lock file, locked; nil when it cannot be had within DefaultLockTimeout. The caller reads the cache again under it: when many kubectl
// processes miss at once, one makes the binding and the others are answered then.
func (c Cache) WaitLock(ctx context.Context, k Key) *os.File {
	if err := privfile.MkdirAll(filepath.Dir(c.path(k))); err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultLockTimeout)
	defer cancel()
	return waitLock(ctx, c.path(k)+".lock")
}

// sameCluster reports whether e was made for the cluster kubectl is calling, when
// kubectl says (provideClusterInfo: true): a token is never handed to another cluster,
// nor to one that presents another CA.
func sameCluster(e *Entry, info ExecInfo) bool {
	if info.Server == "" || e.Server == "" {
		return true
	}
	return e.Server == info.Server && (len(info.CAData) == 0 || len(e.CAData) == 0 || bytes.Equal(e.CAData, info.CAData))
}

// Minter makes bindings for one environment; the full CLI implements it over the
// Provisioning Service or KEB.
type Minter interface {
	// Mint makes a new binding and returns it as an entry.
	Mint(ctx context.Context) (*Entry, error)
	// Revoke deletes a binding that was refused or superseded.
	Revoke(ctx context.Context, bindingID string) error
}

// Refresher is the slow path: it runs when Hit did not, takes the entry's lock and
// makes at most one binding however many kubectl processes ask at once.
type Refresher struct {
	Cache  Cache
	Minter Minter
	// LockTimeout bounds the wait for another process's refresh; zero means
	// DefaultLockTimeout.
	LockTimeout time.Duration
}

// refusalCooldown: a binding that itself replaced a refused one, and is refused within
// this time, is not replaced again: the cluster refuses every new binding (a kubeconfig
// pointing at the wrong server, say), and a binding per kubectl call would not help.
const refusalCooldown = 30 * time.Second

// Do prints a valid token for in.Key, making a new binding when the cached one is
// missing, due or refused.
func (r *Refresher) Do(ctx context.Context, in Input, w io.Writer) error {
	if ok, err := r.Cache.Hit(in, w); ok || err != nil {
		return err
	}
	unlock, err := r.Cache.lock(ctx, in.Key, r.LockTimeout)
	if err != nil {
		return err
	}
	defer unlock()
	return r.locked(ctx, in, w)
}

// DoHolding is Do for a process that was handed the entry's lock, already taken (the
// front takes it on a miss, so that one full CLI starts however many kubectl processes
// miss at once). Closing lock releases it; nil means the parent process holds it for
// this one until it ends (on Windows, where a lock cannot be handed over).
func (r *Refresher) DoHolding(ctx context.Context, in Input, w io.Writer, lock *os.File) error {
	if lock != nil {
		defer lock.Close()
	}
	return r.locked(ctx, in, w)
}

// locked is the refresh under the entry's lock.
func (r *Refresher) locked(ctx context.Context, in Input, w io.Writer) error {
	// Another process may have refreshed the entry while this one waited for the lock.
	path := r.Cache.path(in.Key)
	old := r.Cache.Load(in.Key)
	now := in.now()
	refused := old != nil && handedBefore(path, old.BindingID, in.Caller)
	if old != nil && !sameCluster(old, in.ExecInfo) {
		return wrongCluster(in, old)
	}
	looping := refused && old.ReplacedRefused && now.Sub(old.IssuedAt) < refusalCooldown
	if fresh(old, now, in.Margin) && (!refused || looping) {
		if refused {
			in.note("the cluster refused binding %s too, made %s ago to replace a refused one; check the kubeconfig's server", old.BindingID, now.Sub(old.IssuedAt).Round(time.Second))
		}
		recordHandout(path, old.BindingID, in.Caller)
		return writeExecCredential(w, in.ExecInfo.APIVersion, old.Token, handOutUntil(old, in.Margin))
	}

	// The service failed a moment ago: while the cached token still works, hand it out
	// rather than make every kubectl call wait for another failure; with nothing valid
	// left, repeat the failure for a few seconds, as client-go runs the plugin again for
	// every request of a failing kubectl.
	if last := r.Cache.lastFailure(in.Key); last != nil {
		switch age := now.Sub(last.Time); {
		case age < failureBackoff && stillValid(old, now, refused):
			return r.handOutStale(in, old, w, errors.New(last.Error))
		case age < failFast && !stillValid(old, now, refused):
			return errors.New(last.Error)
		}
	}
	e, gone, err := r.replace(ctx, in, old, refused)
	if err != nil {
		r.Cache.recordFailure(in.Key, now, err)
		if stillValid(old, now, refused) {
			return r.handOutStale(in, old, w, err)
		}
		return err
	}
	if !sameCluster(e, in.ExecInfo) {
		return wrongCluster(in, e)
	}
	recordHandout(path, e.BindingID, in.Caller)
	if err := writeExecCredential(w, in.ExecInfo.APIVersion, e.Token, handOutUntil(e, in.Margin)); err != nil {
		return err
	}
	r.revoke(ctx, gone)
	return nil
}

// failFast is how long a failure with no valid token left is repeated without asking
// the service again.
const failFast = 5 * time.Second

// stillValid reports whether the server should still accept e's token: it is past the
// refresh margin but not its expiry, and the server has not refused it.
func stillValid(e *Entry, now time.Time, refused bool) bool {
	return e != nil && !refused && now.Before(e.ExpiresAt)
}

// handOutStale gives kubectl a token whose refresh failed, says so, and asks kubectl
// to come back soon (or at the token's expiry, if sooner) for another attempt.
func (r *Refresher) handOutStale(in Input, e *Entry, w io.Writer, cause error) error {
	until := in.now().Add(failureBackoff)
	if e.ExpiresAt.Before(until) {
		until = e.ExpiresAt
	}
	in.note("cannot make a new binding (%v); using the cached one, valid until %s", cause, e.ExpiresAt.Local().Format(time.TimeOnly))
	recordHandout(r.Cache.path(in.Key), e.BindingID, in.Caller)
	return writeExecCredential(w, in.ExecInfo.APIVersion, e.Token, until)
}

// Background is the detached refresh a Hit started: it holds the entry's lock through
// lock, and replaces the entry unless another process already did. Its error is kept
// beside the entry for the next kubectl call to report; the cached entry stays.
func (r *Refresher) Background(ctx context.Context, in Input, lock *os.File) error {
	defer lock.Close() // releases the lock
	writePID(lock)
	old := r.Cache.Load(in.Key)
	if old == nil || !dueAhead(old, in.now(), in.Ahead) {
		return nil // refreshed in the meantime, or removed
	}
	_, gone, err := r.replace(ctx, in, old, false)
	if err != nil {
		r.Cache.recordFailure(in.Key, in.now(), err)
		return err
	}
	r.revoke(ctx, gone)
	return nil
}

// replace makes a new binding for in.Key and stores it. Superseded bindings that
// nobody can hold any more are deleted first, so this machine keeps at most two live
// bindings per environment; the ones to delete once the caller has its token are
// returned.
func (r *Refresher) replace(ctx context.Context, in Input, old *Entry, refused bool) (*Entry, []string, error) {
	now := in.now()
	var keep []Superseded
	if old != nil {
		var due []string
		for _, s := range old.Superseded {
			if now.Before(s.After) {
				keep = append(keep, s)
			} else {
				due = append(due, s.BindingID)
			}
		}
		r.revoke(ctx, due)
	}
	e, err := r.Minter.Mint(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("make a binding for environment %s: %w", in.Key.Environment, err)
	}
	var gone []string
	if old != nil {
		// A token handed out for old is used until the expirationTimestamp given with
		// it; a refused one by nobody.
		if until := handOutUntil(old, in.Margin); refused || !now.Before(until) {
			gone = append(gone, old.BindingID)
		} else {
			keep = append(keep, Superseded{BindingID: old.BindingID, After: until})
		}
	}
	e.Environment, e.ReplacedRefused, e.Superseded = in.Key.Environment, refused, keep
	if err := r.Cache.Store(in.Key, e); err != nil {
		return nil, nil, err
	}
	r.Cache.clearFailure(in.Key)
	pruneMarkers(r.Cache.path(in.Key), e.BindingID)
	return e, gone, nil
}

// revoke deletes bindings nobody holds. A failure costs nothing but a binding that
// expires by itself, so errors are dropped.
func (r *Refresher) revoke(ctx context.Context, ids []string) {
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, id := range ids {
		_ = r.Minter.Revoke(ctx, id)
	}
}

func wrongCluster(in Input, e *Entry) error {
	return fmt.Errorf("the bindings of environment %s are for the cluster at %s, but kubectl asked for a token for %s (or another CA): check the kubeconfig's cluster", in.Key.Environment, e.Server, in.ExecInfo.Server)
}
