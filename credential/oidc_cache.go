package credential

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/privfile"
)

// OIDCCache keeps the ID tokens fetched from GitHub's token service, one file per
// source, audience, cluster and job, in the cache folder's "oidc" folder (0600 files in
// 0700 folders, like every entry). The job (its token-service URL and request token)
// is part of the key: a self-hosted runner runs the jobs of several repositories as
// one user, and one job must never be handed another's identity.
//
// The file is named by a hash of the key, and the entry holds the key's parts that are
// no secret (source, audience, server, token-service URL), which a read compares
// exactly, so two keys whose names collide are a miss unless they differ only in the
// request token. That case would hand one job's token to another, and it cannot arise
// on GitHub: the token-service URL names the run and the job, so two jobs never share
// it. The hash (FNV-1a, 128 bits) is not collision-resistant, but nobody can aim a
// collision at a name without the request token hashed into it. It is not a
// cryptographic hash because those link crypto's FIPS packages, whose init work would
// run before every kubectl call (internal/launcher's deps test forbids crypto).
//
// A hit reads the entry, and prints the token while it is outside its margin; a miss
// takes the entry's lock, so that however many kubectl processes miss at once, one
// fetches and the others read what it stored (the binding cache's discipline).
//
// The cache only saves fetches: when its folder cannot be made or written (a full
// disk, a read-only or foreign folder), every call still gets a token, fetched for it
// alone (see Do).
type OIDCCache struct {
	Dir string

	// write replaces a file atomically; nil means privfile.WriteAtomic. Tests set it
	// to play a full disk.
	write func(path string, data []byte) error
	// lockWait is OIDCLockWait when zero; tests shorten it.
	lockWait time.Duration
}

// EnvRunnerTemp is the GitHub Actions runner's per-job temporary folder, which the
// runner empties at the start and end of every job.
const EnvRunnerTemp = "RUNNER_TEMP"

// OIDCDir is the folder for OIDCCache.Dir given the cache folder dir: on a GitHub
// Actions runner (RUNNER_TEMP set to an absolute path) $RUNNER_TEMP/kubectl-kyma, so
// that a job's ID token does not outlive the job on a self-hosted runner whose next
// job, of another repository perhaps, runs as the same user; else dir. The folder is
// checked as every cache folder is (privfile: ours, 0700, no link).
//
// $RUNNER_TEMP is used only where privfile would accept it as the folder's parent
// (ours, or root's, and not writable by others): in a `container:` job whose image
// runs as root it is a bind mount of the runner user's, which privfile refuses, and
// every call would fetch, with a warning. There the home cache serves (the job's HOME,
// /github/home, is a folder of the runner's temporary one, emptied with it).
//
// On Windows it is always dir, in the user's profile (%LOCALAPPDATA%), whose ACL keeps
// other users out: privfile sets no ACL of its own, and a self-hosted runner's
// $RUNNER_TEMP (C:\actions-runner\_work\_temp, say) inherits the drive's, under which
// every local user may read and write.
func OIDCDir(dir string, getenv func(string) (string, bool)) string {
	if runtime.GOOS == "windows" {
		return dir
	}
	if tmp, ok := getenv(EnvRunnerTemp); ok && tmp != "" && filepath.IsAbs(tmp) {
		own := filepath.Join(tmp, "kubectl-kyma")
		if privfile.CheckParent(own) == nil {
			return own
		}
	}
	return dir
}

// oidcEntry is one cached ID token, anchored on this machine's clock: the token's own
// lifetime (exp less iat) counted from when the fetch began, never its exp claim,
// which a skewed clock would misread (see "ID tokens and the clock" in the package
// doc).
type oidcEntry struct {
	// Source, Audience, Server and RequestURL are the key the entry is for, less the
	// request token (a secret): a read hands the token out only when they are the
	// caller's, exactly. RequestURL names the job (see OIDCCache), and no message shows
	// it.
	Source     string `json:"source"`
	Audience   string `json:"audience"`
	Server     string `json:"server"`
	RequestURL string `json:"requestURL"`
	// Token is the ID token. A secret.
	Token string `json:"token"`
	// FetchedAt is when the fetch began, and Until that plus the token's lifetime, both
	// on this machine's clock.
	FetchedAt time.Time `json:"fetchedAt"`
	Until     time.Time `json:"localUntil"`
}

func (e *oidcEntry) entry() *Entry {
	return &Entry{IssuedAt: e.FetchedAt, ExpiresAt: e.Until}
}

// OIDCFetcher asks GitHub's token service at requestURL for an ID token for audience
// (empty: the service's default), authenticated with requestToken. The full CLI
// implements it; this package makes no network call.
//
// An error with a method NotSent() bool that reports true (actionstoken.NotSentError)
// says no request was made: a refusal of this machine's (the URL, the environment),
// which is not remembered as a failed fetch.
type OIDCFetcher func(ctx context.Context, requestURL, requestToken, audience string) (string, error)

// sentNothing reports whether err says the fetch made no request (see OIDCFetcher).
func sentNothing(err error) bool {
	var ns interface{ NotSent() bool }
	return errors.As(err, &ns) && ns.NotSent()
}

// path is the entry's file; its lock is beside it.
func (c OIDCCache) path(in OIDCInput) string {
	h := fnv.New128a()
	for _, s := range []string{in.Source, in.Audience, in.ExecInfo.Server, in.RequestURL, in.RequestToken} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return filepath.Join(c.Dir, "oidc", in.Source+"-"+hex.EncodeToString(h.Sum(nil))+".json")
}

// newEntry is the entry of token for in, fetched from start, living life.
func newEntry(in OIDCInput, token string, start time.Time, life time.Duration) *oidcEntry {
	return &oidcEntry{Source: in.Source, Audience: in.Audience, Server: in.ExecInfo.Server, RequestURL: in.RequestURL,
		Token: token, FetchedAt: start, Until: start.Add(life)}
}

// isFor reports whether e is in's entry: its key's parts other than the request token.
func (e *oidcEntry) isFor(in OIDCInput) bool {
	return e.Source == in.Source && e.Audience == in.Audience && e.Server == in.ExecInfo.Server && e.RequestURL == in.RequestURL
}

func (c OIDCCache) load(in OIDCInput) *oidcEntry {
	data, err := privfile.ReadFileMax(c.Dir, c.path(in), maxTokenFile)
	if err != nil {
		return nil
	}
	e, err := decodeOIDCEntry(data)
	if err != nil || e.Token == "" || e.Until.IsZero() || !e.Until.After(e.FetchedAt) || !e.isFor(in) {
		return nil
	}
	return &e
}

// Hit prints a token without any network call and reports true: the variable's or the
// file's (gitlab, file), or a cached GitHub token outside its margin. It reports false
// with no error when GitHub's token must be fetched (OIDCCache.Miss, then Fetch), and
// an error when the token at hand cannot be used.
func (c OIDCCache) Hit(in OIDCInput, w io.Writer) (bool, error) {
	in, err := in.bindToCluster()
	if err != nil {
		return false, err
	}
	now := in.now()
	if in.Source != OIDCGitHub {
		token, err := in.readLocal()
		if err != nil {
			return false, err
		}
		claims, life, err := in.checkToken(token)
		if err != nil {
			return false, err
		}
		return true, writeExecCredential(w, in.ExecInfo.APIVersion, token, in.localUntil(claims, life, now))
	}
	if err := in.checkGitHub(); err != nil {
		return false, err
	}
	e := c.load(in)
	if e == nil || !fresh(e.entry(), now, 0) {
		return false, nil
	}
	until, ok := oidcExpiry(e.entry(), now)
	if !ok {
		return false, nil
	}
	return true, writeExecCredential(w, in.ExecInfo.APIVersion, e.Token, until)
}

// OIDCLockWait bounds the wait for an OIDC entry's lock, counted once across the
// launcher and the full CLI (EnvOIDCLockWaited): the holder's fetch ends within
// actionstoken.Deadline (a test holds the two together), so a lock held 5 s longer
// belongs to a stopped process (ctrl-Z, a paused step), and the call fetches without
// it rather than fail.
const OIDCLockWait = 35 * time.Second

// EnvOIDCLockWaited tells the full CLI how long the launcher already waited for the
// OIDC entry's lock (a time.Duration string), so that the two wait OIDCLockWait in all.
// A kubeconfig's env: that sets it only costs fetches.
const EnvOIDCLockWaited = "KUBECTL_KYMA_OIDC_LOCK_WAITED"

// lockBudget is how long this process may still wait for the entry's lock.
func (c OIDCCache) lockBudget(in OIDCInput) time.Duration {
	wait := c.lockWait
	if wait == 0 {
		wait = OIDCLockWait
	}
	return wait - in.LockWaited
}

// Miss waits for the entry's lock, which a process fetching the token holds, and
// reads the cache again under it: the others of a herd are answered here. It returns
// the lock, held, when the fetch is this process's to make; nil when it was not had
// within OIDCLockWait (the caller passes the time it waited on in EnvOIDCLockWaited).
func (c OIDCCache) Miss(ctx context.Context, in OIDCInput, w io.Writer) (served bool, lock *os.File, err error) {
	if in, err = in.bindToCluster(); err != nil {
		return false, nil, err
	}
	budget := c.lockBudget(in)
	if budget <= 0 {
		return false, nil, nil
	}
	wctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	if lock = waitLock(wctx, c.Dir, c.path(in)+".lock"); lock == nil {
		return false, nil, nil
	}
	if ok, err := c.Hit(in, w); ok || err != nil {
		lock.Close()
		return ok, nil, err
	}
	return false, lock, nil
}

// Do prints a token for in: the one at hand, the cached one, or a new one from
// GitHub's token service fetched under the entry's lock, however many processes ask
// at once.
//
// A cache that cannot be written costs fetches, never a token: when the entry's
// folder or lock cannot be made, the call fetches without them; when the token cannot
// be stored, it is handed out all the same. Either way a warning names the folder, and
// every call after fetches a token of its own until the cache works again (under the
// lock, one at a time, when there is one). No server-side resource is made, so none
// is lost; the lock is a kernel lock released when its holder exits, and an entry is
// replaced by rename, so nothing is left stuck or half-written.
func (c OIDCCache) Do(ctx context.Context, in OIDCInput, fetch OIDCFetcher, w io.Writer) error {
	in, err := in.bindToCluster()
	if err != nil {
		return err
	}
	if ok, err := c.Hit(in, w); ok || err != nil {
		return err
	}
	path := c.path(in)
	err = privfile.MkdirAll(c.Dir, filepath.Dir(path))
	if err == nil {
		err = privfile.Touch(c.Dir, path+".lock")
	}
	if err != nil {
		// No lock to share, so no entry either: this call fetches a token of its own.
		c.warn(in, err)
		return c.fetch(ctx, in, fetch, false, w)
	}
	var lock *os.File
	if budget := c.lockBudget(in); budget > 0 {
		wctx, cancel := context.WithTimeout(ctx, budget)
		lock = waitLock(wctx, c.Dir, path+".lock")
		cancel()
	}
	if lock == nil {
		// Its holder outlived any fetch: stopped, not fetching. The entry is replaced by
		// rename, so fetching and storing without the lock is safe; it costs a fetch.
		if in.Stderr != nil {
			fmt.Fprintf(in.Stderr, "warning: another kubectl-kyma process has held the lock %s.lock for over %s (is it stopped?), so this call fetches an ID token without it\n", path, c.lockBudget(OIDCInput{}))
		}
	}
	return c.DoHolding(ctx, in, fetch, lock, w)
}

// DoHolding is Do for a process that holds the entry's lock already: lock, which it
// closes (the front takes it on a miss and hands it over), or nil when the parent
// process holds it for this one (Windows).
func (c OIDCCache) DoHolding(ctx context.Context, in OIDCInput, fetch OIDCFetcher, lock *os.File, w io.Writer) error {
	if lock != nil {
		defer lock.Close()
	}
	in, err := in.bindToCluster()
	if err != nil {
		return err
	}
	if ok, err := c.Hit(in, w); ok || err != nil { // another process may have fetched meanwhile
		return err
	}
	if err := c.failedLately(in); err != nil {
		return err
	}
	return c.fetch(ctx, in, fetch, true, w)
}

// oidcFailedFor is how long a failed fetch is remembered: a herd of kubectl processes
// waiting on the lock behind a fetch that failed gets its sentence, instead of each
// asking the token service again (three tries apiece) one after the other.
const oidcFailedFor = 10 * time.Second

// failedPath is the stamp of the entry's last failed fetch: its mtime is when, and it
// holds the error's sentence, which names no secret (actionstoken's errors show neither
// token nor request URL).
func (c OIDCCache) failedPath(in OIDCInput) string { return c.path(in) + ".failed" }

// failedLately returns the sentence of a fetch for in that failed less than
// oidcFailedFor ago, nil when there was none (or the clock went back since).
func (c OIDCCache) failedLately(in OIDCInput) error {
	path := c.failedPath(in)
	fi, err := os.Lstat(path)
	if err != nil {
		return nil
	}
	if age := in.now().Sub(fi.ModTime()); age < 0 || age >= oidcFailedFor {
		return nil
	}
	data, err := privfile.ReadFileMax(c.Dir, path, maxTokenFile)
	if err != nil || len(data) == 0 {
		return nil
	}
	return fmt.Errorf("%s (so a fetch said %s ago, and none is made again within %s of a failure)", data, in.now().Sub(fi.ModTime()).Round(time.Second), oidcFailedFor)
}

// markFailed returns err, stamped as a failed fetch for in when the cache is in use
// (store); a stamp that cannot be written costs fetches, nothing else.
func (c OIDCCache) markFailed(in OIDCInput, store bool, err error) error {
	if store {
		_ = privfile.WriteAtomic(c.Dir, c.failedPath(in), []byte(err.Error()))
	}
	return err
}

// fetch asks GitHub's token service for a token, stores it (unless store is false:
// the cache cannot be used) and prints it; the caller holds the entry's lock, if there
// is one.
//
// The token is anchored on this machine's clock from when the fetch began: the token
// service issued it no earlier, so the token lives at least its lifetime from then,
// whatever this clock's offset from the issuer's and the cluster's. It is never
// refused for what this clock says of its exp.
func (c OIDCCache) fetch(ctx context.Context, in OIDCInput, fetch OIDCFetcher, store bool, w io.Writer) error {
	start := in.now()
	token, err := fetch(ctx, in.RequestURL, in.RequestToken, in.Audience)
	if err != nil {
		if sentNothing(err) {
			// Refused here, before any request: the service did not fail, and the next
			// call, its cause fixed, asks at once.
			return err
		}
		return c.markFailed(in, store, fmt.Errorf("get the job's ID token from GitHub's token service: %w", err))
	}
	now := in.now()
	claims, life, err := in.checkToken(token)
	if err != nil {
		return c.markFailed(in, store, err)
	}
	if ahead := claims.Iat.Sub(now); ahead > maxIssueSkew {
		return c.markFailed(in, store, fmt.Errorf("the token from %s was issued at %s, %s after this machine's clock: this machine's clock or the token service's is off by more than a day", in.where(), claims.Iat.Format(time.RFC3339), ahead.Round(time.Minute)))
	}
	issued := claims.Iat // as tokenLife reckons it: iat, else nbf
	if issued.IsZero() {
		issued = claims.Nbf
	}
	if !issued.IsZero() && start.Sub(issued) > maxIssueAge {
		// An old token (a service handing out one it issued long ago): exp less iat
		// (or nbf) counted from now would outlive it, so its exp on this clock bounds it
		// too, at least a minute, so that a clock ahead only costs a fetch, never a
		// refusal.
		life = min(life, max(claims.Exp.Sub(now), unknownOIDCLife))
	}
	e := newEntry(in, token, start, life)
	until, ok := oidcExpiry(e.entry(), now)
	if !ok {
		return fmt.Errorf("the token from %s lives %s, and the token service took %s to answer: nothing of it is left to hand out", in.where(), life, now.Sub(start).Round(time.Millisecond))
	}
	if !store {
		return writeExecCredential(w, in.ExecInfo.APIVersion, token, until)
	}
	if err := c.store(in, e); err != nil {
		c.warn(in, err) // handed out all the same: the next call fetches again
	}
	_ = os.Remove(c.failedPath(in))
	c.sweep(now, c.path(in))
	return writeExecCredential(w, in.ExecInfo.APIVersion, token, until)
}

func (c OIDCCache) store(in OIDCInput, e *oidcEntry) error {
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if c.write != nil {
		return c.write(c.path(in), data)
	}
	return privfile.WriteAtomic(c.Dir, c.path(in), data)
}

// warn says that the cache does not work, on in.Stderr: the token is handed out, and
// the next call fetches another.
func (c OIDCCache) warn(in OIDCInput, err error) {
	if in.Stderr != nil {
		fmt.Fprintf(in.Stderr, "warning: the ID token cannot be cached, so every call fetches a new one: %v\n", diskFull(c.Dir, err))
	}
}

// Store caches token for in as fetched at now, as a fetch does: for a warm cache
// where no token service runs (the benchmark).
func (c OIDCCache) Store(in OIDCInput, token string, now time.Time) error {
	in, err := in.bindToCluster()
	if err != nil {
		return err
	}
	_, life, err := in.checkToken(token)
	if err != nil {
		return err
	}
	return c.store(in, newEntry(in, token, now, life))
}

// oidcKeep is how long an entry's files stay after they were last written: a
// self-hosted runner leaves one per job, and no ID token lives this long.
const oidcKeep = 24 * time.Hour

// sweep removes the entries of jobs long gone: an entry (and its lock beside it) last
// written more than oidcKeep ago, a lock whose entry is gone and that old, and a
// temporary file a crash left. It never touches own, this call's entry, nor the lock
// of an entry still in use: a lock file removed while held would let two processes
// fetch at once. (A job's entry is rewritten at every fetch, at least hourly.)
func (c OIDCCache) sweep(now time.Time, own string) {
	dir := filepath.Join(c.Dir, "oidc")
	if privfile.CheckDirs(c.Dir, dir) != nil {
		return
	}
	old := func(f string) bool {
		fi, err := os.Lstat(f)
		return err == nil && fi.Mode().IsRegular() && now.Sub(fi.ModTime()) > oidcKeep
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json*"))
	for _, f := range files {
		entry := strings.TrimSuffix(f, ".lock")
		if entry == own || !old(f) {
			continue
		}
		if f != entry { // a lock: only beside an entry gone or itself old
			if _, err := os.Lstat(entry); err == nil && !old(entry) {
				continue
			}
		}
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return
		}
	}
}
