package credential

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"
)

// Input is one run of the plugin.
type Input struct {
	Key Key
	// Margin overrides the refresh margin (see Margin); zero keeps the default.
	Margin time.Duration
	// ExecInfo is what kubectl passed in KUBERNETES_EXEC_INFO.
	ExecInfo ExecInfo
	// Caller identifies the calling process (see Caller); empty turns off the
	// detection of refused tokens.
	Caller string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (in Input) now() time.Time {
	if in.Now != nil {
		return in.Now()
	}
	return time.Now()
}

// Hit is the cache-hit path, the one every kubectl call pays for: it prints the cached
// token and reports true when the entry is fresh, meant for the same cluster, and not
// already handed to this caller (who would be asking again because the server refused
// it). Otherwise it prints nothing and reports false, and the caller goes on to Refresh.
func (c Cache) Hit(in Input, w io.Writer) (bool, error) {
	e := c.Load(in.Key)
	if !fresh(e, in.now(), in.Margin) || !sameCluster(e, in.ExecInfo) {
		return false, nil
	}
	path := c.path(in.Key)
	if handedBefore(path, e.BindingID, in.Caller) {
		return false, nil
	}
	recordHandout(path, e.BindingID, in.Caller)
	return true, writeExecCredential(w, in.ExecInfo.APIVersion, e.Token, handOutUntil(e, in.Margin))
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
	// Stderr gets warnings; kubectl shows them to the user.
	Stderr io.Writer
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
			fmt.Fprintf(r.Stderr, "kubectl-kyma: the cluster refused binding %s too, made %s ago to replace a refused one; check the kubeconfig's server\n", old.BindingID, now.Sub(old.IssuedAt).Round(time.Second))
		}
		recordHandout(path, old.BindingID, in.Caller)
		return writeExecCredential(w, in.ExecInfo.APIVersion, old.Token, handOutUntil(old, in.Margin))
	}

	e, err := r.Minter.Mint(ctx)
	if err != nil {
		return fmt.Errorf("make a binding for environment %s: %w", in.Key.Environment, err)
	}
	e.Environment, e.ReplacedRefused = in.Key.Environment, refused
	if err := r.Cache.Store(in.Key, e); err != nil {
		return err
	}
	if !sameCluster(e, in.ExecInfo) {
		return wrongCluster(in, e)
	}
	pruneMarkers(path, e.BindingID)
	recordHandout(path, e.BindingID, in.Caller)
	if err := writeExecCredential(w, in.ExecInfo.APIVersion, e.Token, handOutUntil(e, in.Margin)); err != nil {
		return err
	}
	// The old binding is due (every token handed out for it has passed its
	// expirationTimestamp) or refused: delete it so bindings never pile up towards the
	// service's limit. A failure here costs nothing but a binding that expires by itself.
	if old != nil {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = r.Minter.Revoke(ctx, old.BindingID)
	}
	return nil
}

func wrongCluster(in Input, e *Entry) error {
	return fmt.Errorf("the bindings of environment %s are for the cluster at %s, but kubectl asked for a token for %s (or another CA): check the kubeconfig's cluster", in.Key.Environment, e.Server, in.ExecInfo.Server)
}

func dirOf(path string) string { return filepath.Dir(path) }
