// Package ledger is the record of the bindings made on this machine, per profile and
// environment, so that gc and the limit error can tell them from everyone else's, and
// of the ones a running `kubectl kyma run` still uses.
//
// A record is the file <cache>/made/<profile>/<environment> with one line per binding,
//
//	<binding id> <kind> <RFC 3339 time>
//	0d7c5d42-8a7e-4d1c-9d59-3f3c0b6a2e11 kubeconfig 2026-11-23T10:00:00Z
//
// where kind names the command that made it (Bind, Kubeconfig, Credential, Run, or
// another command's own word). Every command that makes a binding appends a line under
// the record's lock (<file>.lock); gc rewrites the record without the bindings that are
// gone, and a record past CompactSize drops the certainly expired ones on every write.
//
// An in-use mark is the file <record>.in-use/<binding id>, locked by a running `kubectl
// kyma run` for as long as it lasts: the kernel drops the lock when the run dies.
//
// Names become path elements through credential.EscapeName, as the credential cache's
// do. Earlier versions escaped them with upper-case hex digits; files of theirs are
// still read, and moved to the new name when the record is next rewritten.
//
// The files are private (package privfile): 0600 in 0700 folders under the cache folder.
package ledger

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/filelock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/privfile"
)

// Kinds of made bindings: the command that made one, shown by gc and the limit error.
const (
	Bind       = "bind"
	Kubeconfig = "kubeconfig"
	Credential = "credential"
	Run        = "run"
)

// CompactSize is the size past which a record is compacted on every write: about 300
// lines. A credential helper that makes a binding every few minutes would otherwise grow
// it by a line each time until the next gc.
const CompactSize = 24 << 10

// lockTimeout bounds the wait for another process writing the same record.
const lockTimeout = 10 * time.Second

// Entry is one line of a record: a binding this machine made.
type Entry struct {
	ID   string
	Kind string
	// At is when it was made; zero when the line has no (readable) time.
	At time.Time
}

// Record is the ledger of one profile and environment. Its zero value is not usable:
// get one from Open.
type Record struct {
	root   string // the cache folder: the root of the private folders (privfile)
	path   string
	legacy string // the name an earlier version gave the file, when it differs
}

// Open is the record of profile and envID under the cache folder dir. It touches no file.
func Open(dir, profile, envID string) Record {
	folder := credential.ProfilePath(dir, "made", profile)
	r := Record{root: dir, path: filepath.Join(folder, credential.EscapeName(envID))}
	if old := filepath.Join(folder, legacyName(envID)); envID != "" && old != r.path {
		r.legacy = old
	}
	return r
}

// Path is the record's file.
func (r Record) Path() string { return r.path }

// Read returns the record's bindings by id; a missing or unreadable record is empty.
func (r Record) Read() map[string]Entry {
	made := map[string]Entry{}
	if r.legacy != "" {
		readInto(made, r.root, r.legacy)
	}
	readInto(made, r.root, r.path)
	return made
}

func readInto(made map[string]Entry, root, path string) {
	f, err := privfile.OpenFile(root, path, os.O_RDONLY, 0)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		e := Entry{ID: fields[0]}
		if len(fields) > 1 {
			e.Kind = fields[1]
		}
		if len(fields) > 2 {
			e.At, _ = time.Parse(time.RFC3339, fields[2])
		}
		made[e.ID] = e
	}
}

// Add appends a line for a binding made at now, and past CompactSize drops the lines of
// bindings that have certainly expired.
func (r Record) Add(bindingID, kind string, now time.Time) error {
	return r.locked(func() error {
		w, err := privfile.OpenFile(r.root, r.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s %s %s\n", bindingID, kind, now.UTC().Format(time.RFC3339))
		var size int64
		if fi, serr := w.Stat(); serr == nil {
			size = fi.Size()
		}
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err == nil && size > CompactSize {
			err = r.compactLocked(Unexpired(now))
		}
		return err
	})
}

// Unexpired keeps the lines of bindings that may still be live at now: none outlives
// binding.MaxExpiration (a minute more for clock skew). A line without a time is kept.
func Unexpired(now time.Time) func(Entry) bool {
	return func(e Entry) bool {
		return e.At.IsZero() || now.Sub(e.At) < binding.MaxExpiration+time.Minute
	}
}

// Compact rewrites the record with the lines keep accepts; with none, it removes it.
func (r Record) Compact(keep func(Entry) bool) error {
	return r.locked(func() error { return r.compactLocked(keep) })
}

// compactLocked is Compact for a caller that holds the record's lock.
func (r Record) compactLocked(keep func(Entry) bool) error {
	made := r.Read() // again, under the lock: a bind may have appended
	var b strings.Builder
	ids := make([]string, 0, len(made))
	for id := range made {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if e := made[id]; keep(e) {
			fmt.Fprintf(&b, "%s %s %s\n", e.ID, e.Kind, e.At.UTC().Format(time.RFC3339))
		}
	}
	if b.Len() == 0 {
		if r.legacy != "" {
			_ = os.Remove(r.legacy)
		}
		if err := os.Remove(r.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	if err := privfile.WriteAtomic(r.root, r.path, []byte(b.String())); err != nil {
		return err
	}
	r.dropLegacy()
	return nil
}

// dropLegacy removes the file an earlier version wrote, now read into the new one,
// unless it is the new one: a file system that ignores case (Windows, macOS) gives
// both names one file.
func (r Record) dropLegacy() {
	if r.legacy == "" {
		return
	}
	fi, err := os.Lstat(r.legacy)
	if err != nil {
		return
	}
	if cur, err := os.Lstat(r.path); err == nil && os.SameFile(fi, cur) {
		return
	}
	_ = os.Remove(r.legacy)
}

// locked runs fn holding the record's lock.
func (r Record) locked(fn func() error) error {
	lock := r.path + ".lock"
	if err := privfile.Touch(r.root, lock); err != nil {
		return err
	}
	unlock, err := filelock.Lock(context.Background(), lock, lockTimeout)
	if err != nil {
		return err
	}
	defer unlock()
	return fn()
}

// Environments lists the environments a profile has records for, sorted.
func Environments(dir, profile string) []string {
	files, _ := os.ReadDir(credential.ProfilePath(dir, "made", profile))
	var envs []string
	for _, f := range files {
		name := f.Name()
		if !f.Type().IsRegular() || strings.HasSuffix(name, ".lock") || strings.HasPrefix(name, ".") {
			continue
		}
		if id, ok := unescape(name); ok {
			envs = append(envs, id)
		}
	}
	slices.Sort(envs)
	return slices.Compact(envs) // a record under its legacy name and its new one
}

// unescape turns a file name back into the name it was made from, by EscapeName or by
// an earlier version (legacyName): both write %XX for a byte, in lower or upper case.
func unescape(name string) (string, bool) {
	if name == "%" {
		return "", true // EscapeName's name for ""
	}
	id, err := url.PathUnescape(name)
	return id, err == nil
}

// HoldInUse marks a binding as used by a running `kubectl kyma run`: a file beside the
// record, locked until release, so gc leaves the binding alone; the kernel drops the
// lock if the run dies, and gc then treats the binding as unused.
func (r Record) HoldInUse(bindingID string) (release func(), err error) {
	path := inUsePath(r.path, credential.EscapeName(bindingID))
	if err := privfile.Touch(r.root, path); err != nil {
		return nil, err
	}
	unlock, ok, err := filelock.TryLock(path)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s is locked by another process", path)
	}
	return func() {
		_ = os.Remove(path)
		unlock()
	}, nil
}

// InUse reports whether a running `kubectl kyma run` holds the binding (under the mark
// this version makes or the one an earlier version made), and clears the mark of one
// that died.
func (r Record) InUse(bindingID string) bool {
	path := inUsePath(r.path, credential.EscapeName(bindingID))
	if r.inUse(path) {
		return true
	}
	record := r.path
	if r.legacy != "" {
		record = r.legacy
	}
	if old := inUsePath(record, legacyName(bindingID)); bindingID != "" && old != path {
		return r.inUse(old)
	}
	return false
}

func (r Record) inUse(path string) bool {
	if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() || privfile.CheckDirs(r.root, filepath.Dir(path)) != nil {
		return false
	}
	unlock, ok, err := filelock.TryLockExisting(path)
	if err != nil || !ok {
		return true // held, or cannot tell: keep it
	}
	_ = os.Remove(path)
	unlock()
	return false
}

func inUsePath(record, name string) string {
	return filepath.Join(record+".in-use", name)
}

// Describe names the command that made a binding of kind.
func Describe(kind string) string {
	switch kind {
	case Credential:
		return "the credential helper"
	case "":
		return "kubectl kyma"
	}
	return "kubectl kyma " + kind
}

// legacyName is how earlier versions escaped an environment or binding name into a
// file name: as EscapeName, but with upper-case hex digits and "_" for the empty name
// (which is also the name "_" has, so Open and InUse never look for it). It is kept
// only to find the files they wrote.
func legacyName(s string) string {
	if s == "" {
		return "_"
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			b.WriteByte(c)
		case c == '.' && i > 0:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		}
	}
	return b.String()
}
