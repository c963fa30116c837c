package credential

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
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
	// Clock tells the time; nil is the system clock.
	Clock clock.Clock
	// Spawn starts a detached background refresh while lock, the entry's lock file,
	// is held: the new process inherits it (Unix) or waits for it (Windows; see
	// BackgroundLock). Nil turns background refresh off.
	Spawn func(lock *os.File) error
	// Stderr gets notes for the user; kubectl shows them. Nil discards them.
	Stderr io.Writer
}

func (in Input) now() time.Time { return clock.Or(in.Clock).Now() }

func (in Input) note(format string, args ...any) {
	if in.Stderr != nil {
		fmt.Fprintf(in.Stderr, "kubectl-kyma: "+format+"\n", args...)
	}
}

// Hit is the cache-hit path, the one every kubectl call pays for: it prints the cached
// token and reports true when the entry is fresh, meant for the same cluster, and not
// handed to this caller with an expiry that has not passed (the caller would be asking
// again because the server refused it). Otherwise it prints nothing and reports false,
// and the caller goes on to Miss or a Refresher. Past the refresh-ahead point it also
// starts one background refresh.
func (c Cache) Hit(in Input, w io.Writer) (bool, error) {
	e := c.Load(in.Key)
	now := in.now()
	if !fresh(e, now, in.Margin) || !sameCluster(e, in.ExecInfo) {
		return false, nil
	}
	if handedBefore(c.path(in.Key), e.BindingID, in.Caller, now) {
		return false, nil
	}
	if err := c.handOut(in, e, now, w); err != nil {
		return true, err
	}
	if in.Spawn != nil && dueAhead(e, now, in.Margin, in.Ahead) {
		c.refreshAhead(in, e)
	}
	return true, nil
}

// handOut prints e's token with its expirationTimestamp and notes the hand-out.
func (c Cache) handOut(in Input, e *Entry, now time.Time, w io.Writer) error {
	return c.handOutUntil(in, e, handOutExpiry(e, now, in), w)
}

func (c Cache) handOutUntil(in Input, e *Entry, until time.Time, w io.Writer) error {
	recordHandout(c.path(in.Key), e.BindingID, in.Caller, until)
	return writeExecCredential(w, in.ExecInfo.APIVersion, e.Token, until)
}

// Miss is the launcher's answer when Hit had none: it waits for the entry's lock, which a
// process making a binding holds, and reads the cache again under it, so that when many
// kubectl processes miss at once one makes the binding and the others are answered
// here. It returns the lock, held, when the miss is this process's to resolve; nil
// when it was not had in time. A cached token
// that is still valid waits for the lock only BusyDeadline: then it is handed out for
// at most busyHandout, and the client comes back for the new one.
func (c Cache) Miss(ctx context.Context, in Input, w io.Writer) (served bool, lock *os.File, err error) {
	old, now := c.Load(in.Key), in.now()
	good := c.stillGood(in, old, now)
	timeout := DefaultLockTimeout
	if good {
		timeout = BusyDeadline
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if lock = waitLock(wctx, c.Dir, c.path(in.Key)+".lock"); lock == nil { // nil too when a folder is not private
		if good {
			return true, nil, c.handOutBusy(in, old, w)
		}
		return false, nil, nil
	}
	if ok, err := c.Hit(in, w); ok {
		lock.Close()
		return true, nil, err
	}
	return false, lock, nil
}

// stillGood reports whether e's token may be handed out while a refresh is in flight:
// it has not expired, it is for the cluster kubectl calls, and this caller is not
// asking again before the expiry it was given (a suspected refusal, which the slow path
// checks with the cluster).
func (c Cache) stillGood(in Input, e *Entry, now time.Time) bool {
	return e != nil && now.Before(e.ExpiresAt) && sameCluster(e, in.ExecInfo) &&
		!handedBefore(c.path(in.Key), e.BindingID, in.Caller, now)
}

// handOutBusy hands out a still-valid token while another process refreshes it.
func (c Cache) handOutBusy(in Input, e *Entry, w io.Writer) error {
	now := in.now()
	return c.handOutUntil(in, e, bounded(e, now, now.Add(busyHandout)), w)
}

// sameCluster reports whether e was made for the cluster kubectl is calling, as kubectl
// checks it, when kubectl says (provideClusterInfo: true); see clusterMismatch.
func sameCluster(e *Entry, info ExecInfo) bool {
	return clusterMismatch(e, info) == ""
}

// clusterMismatch says why kubectl's cluster is not e's, or is not checked as e's
// kubeconfig checks it, and is empty when it is. A token goes only to the same server,
// over TLS verified exactly as the binding's kubeconfig verifies it: never with
// insecure-skip-tls-verify, and only with the same certificate-authority-data, byte for
// byte both ways: none when the binding has one would trust any certificate the
// system's roots sign for that address, and one when the binding has none (it relies on
// the system's roots) would trust a CA of the kubeconfig author's choosing. Never with
// another tls-server-name either. A proxy-url is accepted because the CA is pinned
// equal both ways: kubectl tunnels TLS through the proxy and checks the certificate
// end to end against the binding's own trust, so the proxy sees no token. e may be nil
// (no binding yet): then only kubectl's own set-up is checked.
func clusterMismatch(e *Entry, info ExecInfo) string {
	if info.NoCluster {
		return "kubectl does not say which cluster it calls: set provideClusterInfo: true in the kubeconfig's exec entry, or re-run 'kubectl kyma kubeconfig'"
	}
	if info.Server == "" {
		return "" // run by hand: KUBERNETES_EXEC_INFO unset
	}
	if info.InsecureSkipTLSVerify {
		return "its kubeconfig cluster sets insecure-skip-tls-verify, and kubectl-kyma hands a cluster token only to a connection whose certificate is checked: remove insecure-skip-tls-verify"
	}
	if e == nil || e.Server == "" {
		return ""
	}
	switch {
	case e.Server != info.Server:
		return "the bindings of environment " + e.Environment + " are for the cluster at " + e.Server + ": check the kubeconfig's cluster"
	case len(e.CAData) > 0 && len(info.CAData) == 0:
		return "its kubeconfig cluster has no certificate-authority-data, and the binding's has: kubectl would accept any certificate the system trusts; use the CA of 'kubectl kyma kubeconfig'"
	case len(e.CAData) == 0 && len(info.CAData) > 0:
		return "its kubeconfig cluster trusts its own certificate-authority-data, and the binding's kubeconfig trusts the system's roots: remove certificate-authority-data or use the kubeconfig of 'kubectl kyma kubeconfig'"
	case !bytes.Equal(e.CAData, info.CAData):
		return "its kubeconfig cluster trusts another CA than the binding's kubeconfig: check the kubeconfig's certificate-authority-data"
	case e.TLSServerName != info.TLSServerName:
		return "its kubeconfig cluster checks the certificate for tls-server-name " + quoteOrNone(info.TLSServerName) + ", the binding's kubeconfig for " + quoteOrNone(e.TLSServerName) + ": check the kubeconfig's cluster"
	}
	return ""
}

func quoteOrNone(s string) string {
	if s == "" {
		return "none"
	}
	return `"` + s + `"`
}

// Minter makes bindings for one environment; the full CLI implements it over the
// Provisioning Service or KEB.
type Minter interface {
	// Mint makes a new binding and returns it as an entry. An error that wraps ErrLost
	// says a binding was made but could not be used (and was deleted, or recorded for
	// `kubectl kyma gc`): it counts against the back-off like a binding made.
	Mint(ctx context.Context) (*Entry, error)
	// Revoke deletes a binding that was refused or superseded. A binding that is
	// already gone is no error.
	Revoke(ctx context.Context, bindingID string) error
}

// ErrLost is wrapped by a Minter's error when the service made a binding that cannot
// be handed out (its answer was unreadable, say).
var ErrLost = errors.New("binding made but not usable")

// Prober asks the cluster at server (trusting caData, or the system roots when empty)
// whether it accepts token: true when it does, false when it answers 401 Unauthorized,
// an error when it cannot tell.
type Prober func(ctx context.Context, server string, caData []byte, token string) (bool, error)

// Refresher is the slow path: it runs when Hit did not, takes the entry's lock and
// makes at most one binding however many kubectl processes ask at once.
type Refresher struct {
	Cache  Cache
	Minter Minter
	// Probe confirms a suspected refusal with the cluster before the binding is
	// replaced; nil never confirms one, so the token is handed out again.
	Probe Prober
	// LockTimeout bounds the wait for another process's refresh; zero means
	// DefaultLockTimeout.
	LockTimeout time.Duration
}

// refusalCooldown: a binding that itself replaced a refused one, and is refused within
// this time, is not replaced again: the cluster refuses every new binding (a kubeconfig
// pointing at the wrong server, say), and a binding per kubectl call would not help.
const refusalCooldown = 30 * time.Second

// probeTimeout bounds the question to the cluster whether it still accepts a token.
const probeTimeout = 5 * time.Second

// backgroundDeadline bounds a whole background refresh: the deletions, the bind, and
// storing the entry.
const backgroundDeadline = 90 * time.Second

// Do prints a valid token for in.Key, making a new binding when the cached one is
// missing, due or refused.
func (r *Refresher) Do(ctx context.Context, in Input, w io.Writer) error {
	if ok, err := r.Cache.Hit(in, w); ok || err != nil {
		return err
	}
	old := r.Cache.Load(in.Key)
	good := r.Cache.stillGood(in, old, in.now())
	timeout := r.LockTimeout
	if good {
		timeout = BusyDeadline
	}
	unlock, err := r.Cache.lock(ctx, in.Key, timeout)
	if err != nil {
		if good && errors.Is(err, errBusy) {
			return r.Cache.handOutBusy(in, old, w)
		}
		return err
	}
	defer unlock()
	return r.locked(ctx, in, w)
}

// Ensure returns a fresh entry for in.Key, making a binding under the entry's lock only
// when the cache has none: what `kubectl kyma kubeconfig` needs to learn the cluster.
// Many runs at once make at most one binding.
func (r *Refresher) Ensure(ctx context.Context, in Input) (*Entry, error) {
	if e := r.Cache.Load(in.Key); fresh(e, in.now(), in.Margin) && sameCluster(e, in.ExecInfo) {
		return e, nil
	}
	unlock, err := r.Cache.lock(ctx, in.Key, r.LockTimeout)
	if err != nil {
		return nil, err
	}
	defer unlock()
	old := r.Cache.Load(in.Key)
	now := in.now()
	if fresh(old, now, in.Margin) && sameCluster(old, in.ExecInfo) {
		return old, nil
	}
	if err := r.Cache.recentLoss(in.Key, old, now); err != nil {
		return nil, err
	}
	e, gone, err := r.replace(ctx, in, old, false)
	if err != nil {
		_ = r.Cache.recordFailure(in.Key, now, err)
		return nil, err
	}
	r.revokeGone(ctx, in.Key, e, gone)
	return e, nil
}

// DoHolding is Do for a process that was handed the entry's lock, already taken (the
// launcher takes it on a miss, so that one full CLI starts however many kubectl processes
// miss at once). Closing lock releases it; nil means the parent process holds it for
// this one until it ends (on Windows, where a lock cannot be handed over).
func (r *Refresher) DoHolding(ctx context.Context, in Input, w io.Writer, lock *os.File) error {
	if lock != nil {
		defer lock.Close()
	}
	return r.locked(ctx, in, w)
}

// locked is the refresh under the entry's lock: it gathers what decideRefresh needs,
// asks it for the next step, and takes it. Another process may have refreshed the
// entry while this one waited for the lock, so the entry is read again here.
func (r *Refresher) locked(ctx context.Context, in Input, w io.Writer) error {
	path := r.Cache.path(in.Key)
	f := refreshFacts{old: r.Cache.Load(in.Key), now: in.now(), margin: in.Margin}
	f.wrongCluster = !sameCluster(f.old, in.ExecInfo)
	if f.old != nil && !f.wrongCluster {
		f.handedBefore = handedBefore(path, f.old.BindingID, in.Caller, f.now)
	}
	f.lastFailure = r.Cache.lastFailure(in.Key)
	for {
		d := decideRefresh(f)
		switch d.step {
		case stepWrongCluster:
			return wrongCluster(in, f.old)
		case stepProbe:
			f.probed, f.refused = true, r.confirmRefused(ctx, in, f.old)
		case stepHandOut:
			if d.note != "" {
				in.note("%s", d.note)
			}
			return r.Cache.handOut(in, f.old, f.now, w)
		case stepHandOutStale:
			return r.handOutStale(in, f.old, w, d.cause)
		case stepFail:
			return d.cause
		case stepCheckLoss:
			f.lossChecked, f.loss = true, r.Cache.recentLoss(in.Key, f.old, f.now)
		case stepReplace:
			return r.replaceAndHandOut(ctx, in, f.old, f.now, d, w)
		default:
			return fmt.Errorf("refresh of environment %s: no step decided (%s)", in.Key.Environment, d.why)
		}
	}
}

// replaceAndHandOut makes a new binding, as decided (d), and hands it out; when that
// fails, the failure is recorded and the cached token handed out stale if d allows it.
func (r *Refresher) replaceAndHandOut(ctx context.Context, in Input, old *Entry, now time.Time, d refreshDecision, w io.Writer) error {
	e, gone, err := r.replace(ctx, in, old, d.refused)
	if err != nil {
		if rerr := r.Cache.recordFailure(in.Key, now, err); rerr != nil && !errors.Is(err, syscall.ENOSPC) {
			err = fmt.Errorf("%w (and the failure cannot be recorded: %v)", err, rerr)
		}
		if d.staleOnFailure {
			return r.handOutStale(in, old, w, err)
		}
		return err
	}
	if err := r.Cache.handOut(in, e, now, w); err != nil {
		return err
	}
	r.revokeGone(ctx, in.Key, e, gone)
	return nil
}

// confirmRefused asks the cluster whether it refuses old's token, which this caller
// asks for again before the expiry it was given. client-go does that after any 401
// (not only after a revocation), and a shell loop calling the plugin has one parent
// process, so only the cluster's own 401 counts: a token it accepts is handed out
// again. The cluster is the one kubectl named, else the binding's own.
func (r *Refresher) confirmRefused(ctx context.Context, in Input, old *Entry) bool {
	if r.Probe == nil {
		return false
	}
	server, ca := in.ExecInfo.Server, in.ExecInfo.CAData
	if server == "" {
		server, ca = old.Server, old.CAData
	}
	if server == "" {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	ok, err := r.Probe(ctx, server, ca, old.Token)
	return err == nil && !ok
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
	now := in.now()
	in.note("cannot make a new binding (%v); using the cached one, valid until %s", cause, e.ExpiresAt.Local().Format(time.TimeOnly))
	return r.Cache.handOutUntil(in, e, bounded(e, now, now.Add(failureBackoff)), w)
}

// Background is the detached refresh a Hit started: it holds the entry's lock through
// lock, and replaces the entry unless another process already did. Its error is kept
// beside the entry for the next kubectl call to report; the cached entry stays. It
// gives up after backgroundDeadline.
func (r *Refresher) Background(ctx context.Context, in Input, lock *os.File) error {
	defer lock.Close() // releases the lock
	r.Cache.writePID(in.Key)
	ctx, cancel := context.WithTimeout(ctx, backgroundDeadline)
	defer cancel()
	old := r.Cache.Load(in.Key)
	now := in.now()
	if old == nil || !dueAhead(old, now, in.Margin, in.Ahead) {
		return nil // refreshed in the meantime, or removed
	}
	if err := r.Cache.recentLoss(in.Key, old, now); err != nil {
		return err
	}
	e, gone, err := r.replace(ctx, in, old, false)
	if err != nil {
		_ = r.Cache.recordFailure(in.Key, in.now(), err)
		return err
	}
	r.revokeGone(ctx, in.Key, e, gone)
	return nil
}

// replace makes a new binding for in.Key and stores it, keeping the invariant of the
// package doc: before the bind, superseded bindings that nobody holds are deleted, and
// if two live bindings would still be left beside the new one, none is made. A binding
// made and not stored (a full disk, the wrong cluster) is deleted before replace
// returns. The bindings to delete once the caller has its token are returned.
func (r *Refresher) replace(ctx context.Context, in Input, old *Entry, refused bool) (*Entry, []string, error) {
	now := in.now()
	keep, err := r.makeRoom(ctx, in, old, refused, now)
	if err != nil {
		return nil, nil, err
	}
	restore, err := r.Cache.stampMint(in.Key, now)
	if err != nil {
		return nil, nil, fmt.Errorf("make no binding for environment %s: cannot note it first: %w", in.Key.Environment, err)
	}
	e, err := r.Minter.Mint(ctx)
	if err != nil {
		var lost *LostBinding
		if errors.As(err, &lost) && !lost.Undeleted.IsZero() {
			r.Cache.noteUndeleted(in.Key, lost.Undeleted)
		}
		if !errors.Is(err, ErrLost) {
			restore() // no binding was made: no reason to wait before the next try
		}
		return nil, nil, fmt.Errorf("make a binding for environment %s: %w", in.Key.Environment, err)
	}
	if !sameCluster(e, in.ExecInfo) {
		r.discard(ctx, in.Key, e)
		return nil, nil, fmt.Errorf("%w (binding %s, made for it, was deleted)", wrongCluster(in, e), e.BindingID)
	}
	var gone []string
	if old != nil {
		// A token handed out for old is used until the latest expirationTimestamp given
		// with it; a refused one by nobody.
		until := handOutUntil(old, in.Margin)
		if last := lastHandout(r.Cache.path(in.Key), old.BindingID); last.After(until) {
			until = last
		}
		if refused || !now.Before(until) {
			gone = append(gone, old.BindingID)
			keep = append(keep, Superseded{BindingID: old.BindingID, After: now, Expires: old.ExpiresAt})
		} else {
			keep = append(keep, Superseded{BindingID: old.BindingID, After: until, Expires: old.ExpiresAt})
		}
	}
	e.Environment, e.ReplacedRefused, e.Superseded = in.Key.Environment, refused, keep
	if err := r.Cache.Store(in.Key, e); err != nil {
		r.discard(ctx, in.Key, e)
		return nil, nil, err
	}
	r.Cache.keptMint(in.Key)
	r.Cache.clearFailure(in.Key)
	pruneMarkers(r.Cache.path(in.Key), e.BindingID)
	return e, gone, nil
}

// makeRoom deletes the superseded bindings of old that nobody holds any more and
// returns those to keep listed. When old's binding and the kept ones would still be two
// live bindings beside the new one, the kept ones are deleted early (a client that still
// holds one gets a 401 and runs the plugin again, which hands it the new token); if
// that fails, no binding is made.
func (r *Refresher) makeRoom(ctx context.Context, in Input, old *Entry, refused bool, now time.Time) ([]Superseded, error) {
	if old == nil {
		return nil, nil
	}
	var keep, due []Superseded
	for _, s := range old.Superseded {
		if now.Before(s.After) && s.live(now) {
			keep = append(keep, s)
		} else {
			due = append(due, s) // an expired one no longer counts, but is deleted all the same
		}
	}
	keep = append(keep, r.revokeEach(ctx, now, due)...)
	live := len(keep)
	if !refused && now.Before(old.ExpiresAt.Add(expirySlack)) {
		live++
	}
	if live < 2 {
		return keep, nil
	}
	keep = r.revokeEach(ctx, now, keep)
	if live = len(keep); !refused && now.Before(old.ExpiresAt.Add(expirySlack)) {
		live++
	}
	if live >= 2 {
		ids := make([]string, len(keep))
		for i, s := range keep {
			ids[i] = s.BindingID
		}
		return nil, fmt.Errorf("this machine holds %d live bindings of environment %s and cannot delete %s: no more are made until they expire (%w)", live, in.Key.Environment, strings.Join(ids, ", "), ErrBudget)
	}
	return keep, nil
}

// ErrBudget is wrapped by the error of a refresh that made no binding because this
// machine already holds two live ones of the environment.
var ErrBudget = errors.New("binding budget")

// revokeEach deletes bindings and returns those it could not delete (when they have
// not expired: an expired one no longer counts).
func (r *Refresher) revokeEach(ctx context.Context, now time.Time, list []Superseded) []Superseded {
	if len(list) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeBudget)
	defer cancel()
	var failed []Superseded
	for _, s := range list {
		if err := r.Minter.Revoke(ctx, s.BindingID); err != nil && s.live(now) {
			failed = append(failed, s)
		}
	}
	return failed
}

// revokeBudget bounds the deletion of bindings in one run, so a slow service never
// holds a kubectl call for long.
const revokeBudget = 10 * time.Second

// discard deletes a binding made in this run that cannot be handed out. If that fails
// too, the record the Minter wrote when the service answered (the ledger `kubectl kyma
// gc` reads) still names it, and no other binding is made while it may live.
func (r *Refresher) discard(ctx context.Context, k Key, e *Entry) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeBudget)
	defer cancel()
	if r.Minter.Revoke(ctx, e.BindingID) != nil {
		r.Cache.noteUndeleted(k, e.ExpiresAt.Add(expirySlack))
	}
}

// expirySlack is how much later than the expiry this machine believes a binding may
// still live at the service: the Date skew package binding still trusts.
const expirySlack = 5 * time.Minute

// live reports whether a superseded binding that could not be deleted may still count
// towards the service's limit.
func (s Superseded) live(now time.Time) bool {
	if s.Expires.IsZero() {
		return now.Before(s.After)
	}
	return now.Before(s.Expires.Add(expirySlack))
}

// LostBinding is a Minter's error for a binding made and not usable (ErrLost).
// Undeleted is, when its deletion failed too, how long it may live.
type LostBinding struct {
	Err       error
	Undeleted time.Time
}

func (e *LostBinding) Error() string        { return e.Err.Error() }
func (e *LostBinding) Unwrap() error        { return e.Err }
func (e *LostBinding) Is(target error) bool { return target == ErrLost }

// revokeGone deletes bindings nobody holds, after the caller got its token, and drops
// them from the stored entry once they are gone; those that fail stay listed there for
// the next refresh.
func (r *Refresher) revokeGone(ctx context.Context, k Key, e *Entry, ids []string) {
	if len(ids) == 0 {
		return
	}
	var list []Superseded
	for _, s := range e.Superseded {
		if slices.Contains(ids, s.BindingID) {
			list = append(list, s)
		}
	}
	failed := r.revokeEach(ctx, time.Time{}, list)
	if len(failed) == len(list) {
		return
	}
	e.Superseded = slices.DeleteFunc(e.Superseded, func(s Superseded) bool {
		return slices.Contains(ids, s.BindingID) && !slices.ContainsFunc(failed, func(f Superseded) bool { return f.BindingID == s.BindingID })
	})
	_ = r.Cache.Store(k, e)
}

// wrongCluster is the error for a kubectl whose cluster is not e's (see
// clusterMismatch).
func wrongCluster(in Input, e *Entry) error {
	server := in.ExecInfo.Server
	if server == "" {
		server = "an unnamed cluster"
	}
	return fmt.Errorf("no token for environment %s to %s: %s", in.Key.Environment, server, clusterMismatch(e, in.ExecInfo))
}
