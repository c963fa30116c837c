package plugin

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/broker"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
	"github.com/kubectl-kyma/kubectl-kyma/internal/filelock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/privfile"
)

// Kinds of made bindings: the command that made one, shown by gc and the limit error.
const (
	madeByBind       = "bind"
	madeByKubeconfig = "kubeconfig"
	madeByCredential = "credential"
	madeByRun        = "run"
)

// GCOptions deletes the bindings this machine made and no longer uses.
type GCOptions struct {
	f *Factory

	Arg string
}

// NewCmdGC builds `kubectl kyma gc [NAME|ID]`.
func NewCmdGC(f *Factory) *cobra.Command {
	o := &GCOptions{f: f}
	cmd := &cobra.Command{
		Use:   "gc [NAME|ID]",
		Short: "Delete the bindings this machine made and no longer uses",
		Long: `Delete the bindings this machine made and no longer uses: the superseded bindings the
credential cache still lists, and every live binding that 'kubectl kyma bind',
'kubeconfig', 'run' or the credential helper made here, except the one the cache hands
to kubectl and those of a 'kubectl kyma run' still running.

An environment allows 10 live bindings. Bindings made by 'kubectl kyma bind' are
deleted too: a kubeconfig printed by bind stops working.

Without NAME|ID, every environment this machine has cached credentials or made
bindings for.`,
		Example: `  kubectl kyma gc my-kyma
  kubectl kyma gc`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeEnvironments(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.Arg = args[0]
			}
			return o.Run(cmd.Context())
		},
	}
	return cmd
}

// Run deletes, environment by environment, what this machine no longer uses.
func (o *GCOptions) Run(ctx context.Context) error {
	p, err := o.f.Profile()
	if err != nil {
		return err
	}
	dir, err := o.f.CacheDir()
	if err != nil {
		return err
	}
	var envs []target
	if o.Arg != "" {
		env, err := resolveEnvironment(ctx, o.f, o.Arg)
		if err != nil {
			return err
		}
		envs = []target{env}
	} else {
		envs = o.knownEnvironments(ctx, p, dir)
	}
	if len(envs) == 0 {
		fmt.Fprintf(o.f.IOStreams.Out, "Nothing to delete: profile %q has no cached credentials and made no bindings on this machine.\n", p.Name)
		return nil
	}
	svc, err := o.f.Bindings()
	if err != nil {
		return err
	}
	var errs []error
	for _, env := range envs {
		if err := o.collect(ctx, svc, p.Name, dir, env); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", env.Name, err))
		}
	}
	return errors.Join(errs...)
}

// knownEnvironments are the environments with a cache entry or a record of made
// bindings, named when the profile can list environments.
func (o *GCOptions) knownEnvironments(ctx context.Context, p *config.Profile, dir string) []target {
	var ids []string
	for _, e := range (credential.Cache{Dir: dir}).Entries(p.Name) {
		ids = append(ids, e.Environment)
	}
	ids = append(ids, madeEnvironments(dir, p.Name)...)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	names := map[string]string{}
	if p.Kind == config.KindCIS && len(ids) > 0 {
		if c, err := o.f.Provisioning(); err == nil {
			if list, err := c.ListEnvironments(ctx); err == nil {
				for _, e := range list {
					names[e.ID] = e.DisplayName()
				}
			}
		}
	}
	envs := make([]target, 0, len(ids))
	for _, id := range ids {
		name := names[id]
		if name == "" {
			name = id
		}
		envs = append(envs, target{ID: id, Name: name})
	}
	return envs
}

// collect deletes one environment's unused bindings and compacts its record.
func (o *GCOptions) collect(ctx context.Context, svc binding.Service, profile, dir string, env target) error {
	out := o.f.IOStreams.Out
	rec := madeRecordPath(dir, profile, env.ID)
	// Read the record before probing the lock and loading the entry: a refresh writes
	// the record, then the entry, under the lock, so a binding recorded here either
	// shows in the entry loaded below or belongs to a refresh still in flight.
	made := readMade(rec)
	cache := credential.Cache{Dir: dir}
	key := credential.Key{Profile: profile, Environment: env.ID}
	inFlight := cache.RefreshState(key).InFlight
	entry := cache.Load(key)

	keep := map[string]bool{}
	if entry != nil {
		keep[entry.BindingID] = true
	}
	type victim struct{ id, why string }
	var victims []victim
	if entry != nil {
		for _, s := range entry.Superseded {
			victims = append(victims, victim{s.BindingID, "superseded in the credential cache"})
		}
	}
	live, listErr := svc.List(ctx, env.ID)
	canList := listErr == nil
	if listErr != nil && !errors.Is(listErr, broker.ErrListNotSupported) {
		return fmt.Errorf("list bindings: %w", listErr)
	}
	candidates := made
	if canList {
		candidates = map[string]madeBinding{}
		for _, b := range live {
			if m, ok := made[b.ID]; ok {
				candidates[b.ID] = m
			}
		}
	}
	for _, id := range sortedKeys(candidates) {
		m := candidates[id]
		switch {
		case keep[id]:
			continue
		case inUse(rec, id):
			keep[id] = true
			fmt.Fprintf(out, "binding/%s kept: a 'kubectl kyma run' still uses it\n", id)
			continue
		case inFlight && m.Kind == madeByCredential && (entry == nil || !m.At.Before(entry.IssuedAt)):
			keep[id] = true // a refresh made it and is about to store it
			continue
		case slices.ContainsFunc(victims, func(v victim) bool { return v.id == id }):
			continue
		}
		victims = append(victims, victim{id, "made here by " + describeKind(m.Kind)})
	}

	deleted := 0
	gone := map[string]bool{}
	var errs []error
	for _, v := range victims {
		err := svc.Delete(ctx, env.ID, v.id)
		switch {
		case err == nil:
			deleted++
			gone[v.id] = true
			fmt.Fprintf(out, "binding/%s deleted (%s)\n", v.id, v.why)
		case errors.Is(err, binding.ErrNotFound) || errors.Is(err, binding.ErrExpired):
			gone[v.id] = true
		default:
			errs = append(errs, fmt.Errorf("delete binding %s: %w", v.id, err))
		}
	}
	liveIDs := map[string]bool{}
	for _, b := range live {
		liveIDs[b.ID] = !gone[b.ID]
	}
	// The record keeps what may still be live: the cached binding, those kept above,
	// bindings that failed to delete, and, when the service cannot list, everything
	// not known to be gone. Recent lines stay, in case the list lags behind a bind.
	compactMade(rec, func(m madeBinding) bool {
		switch {
		case keep[m.ID]:
			return true
		case gone[m.ID]:
			return false
		case canList:
			return liveIDs[m.ID] || o.f.Clock.Now().Sub(m.At) < time.Minute
		}
		return true
	})
	if canList {
		left := 0
		for _, b := range live {
			if !gone[b.ID] {
				left++
			}
		}
		fmt.Fprintf(out, "%s: %d binding(s) deleted, %d of %d live bindings left\n", env.Name, deleted, left, binding.MaxLive)
	} else {
		fmt.Fprintf(out, "%s: %d binding(s) deleted\n", env.Name, deleted)
	}
	return errors.Join(errs...)
}

// describeKind names the command that made a binding.
func describeKind(kind string) string {
	switch kind {
	case madeByCredential:
		return "the credential helper"
	case "":
		return "kubectl kyma"
	}
	return "kubectl kyma " + kind
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// The made record: which bindings this machine made, per profile and environment, so
// that gc and the limit error can tell them from everyone else's. It is a file
// <cache>/made/<profile>/<environment> with one line per binding,
//
//	<binding id> <kind> <RFC 3339 time>
//
// appended under a lock (<file>.lock) by every command that makes a binding, and
// rewritten by gc, which drops the bindings that are gone.

// recordRoot is the cache folder that holds a record (DIR/made/PROFILE/ENV), the root
// of its private folders (see package privfile).
func recordRoot(record string) string {
	return filepath.Dir(filepath.Dir(filepath.Dir(record)))
}

// madeBinding is one line of the record.
type madeBinding struct {
	ID   string
	Kind string
	At   time.Time
}

// madeRecordPath is the record of one profile and environment.
func madeRecordPath(dir, profile, envID string) string {
	return filepath.Join(credential.ProfilePath(dir, "made", profile), fileName(envID))
}

// recordMade notes that this machine made a binding. It never fails the command that
// made the binding: without the line, gc only misses that binding, which expires by
// itself.
func recordMade(f *Factory, envID, bindingID, kind string) {
	p, err := f.Profile()
	if err != nil {
		return
	}
	dir, err := f.CacheDir()
	if err != nil {
		return
	}
	path := madeRecordPath(dir, p.Name, envID)
	_ = withRecordLock(path, func() error {
		w, err := privfile.OpenFile(recordRoot(path), path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s %s %s\n", bindingID, kind, f.Clock.Now().UTC().Format(time.RFC3339))
		var size int64
		if fi, serr := w.Stat(); serr == nil {
			size = fi.Size()
		}
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err == nil && size > madeCompactSize {
			err = compactLocked(path, unexpired(f.Clock.Now()))
		}
		return err
	})
}

// madeCompactSize is the size past which a record is compacted on every write: about
// 300 lines. A credential helper that makes a binding every few minutes would otherwise
// grow it by a line each time until the next gc.
const madeCompactSize = 24 << 10

// unexpired keeps the lines of bindings that may still be live at now: none outlives
// binding.MaxExpiration (a minute more for clock skew). A line without a time is kept.
func unexpired(now time.Time) func(madeBinding) bool {
	return func(m madeBinding) bool {
		return m.At.IsZero() || now.Sub(m.At) < binding.MaxExpiration+time.Minute
	}
}

// readMade reads a record; a missing or unreadable one is empty.
func readMade(path string) map[string]madeBinding {
	made := map[string]madeBinding{}
	data, err := privfile.OpenFile(recordRoot(path), path, os.O_RDONLY, 0)
	if err != nil {
		return made
	}
	defer data.Close()
	sc := bufio.NewScanner(data)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		m := madeBinding{ID: fields[0]}
		if len(fields) > 1 {
			m.Kind = fields[1]
		}
		if len(fields) > 2 {
			m.At, _ = time.Parse(time.RFC3339, fields[2])
		}
		made[m.ID] = m
	}
	return made
}

// compactMade rewrites the record with the lines keep accepts.
func compactMade(path string, keep func(madeBinding) bool) {
	_ = withRecordLock(path, func() error { return compactLocked(path, keep) })
}

// compactLocked is compactMade for a caller that holds the record's lock.
func compactLocked(path string, keep func(madeBinding) bool) error {
	made := readMade(path) // again, under the lock: a bind may have appended
	var b strings.Builder
	for _, id := range sortedKeys(made) {
		if m := made[id]; keep(m) {
			fmt.Fprintf(&b, "%s %s %s\n", m.ID, m.Kind, m.At.UTC().Format(time.RFC3339))
		}
	}
	if b.Len() == 0 {
		return os.Remove(path)
	}
	return privfile.WriteAtomic(recordRoot(path), path, []byte(b.String()))
}

// withRecordLock runs fn holding the record's lock.
func withRecordLock(path string, fn func() error) error {
	if err := privfile.Touch(recordRoot(path), path+".lock"); err != nil {
		return err
	}
	unlock, err := filelock.Lock(context.Background(), path+".lock", 10*time.Second)
	if err != nil {
		return err
	}
	defer unlock()
	return fn()
}

// madeEnvironments lists the environments a profile has records for.
func madeEnvironments(dir, profile string) []string {
	files, _ := os.ReadDir(credential.ProfilePath(dir, "made", profile))
	var envs []string
	for _, f := range files {
		name := f.Name()
		if !f.Type().IsRegular() || strings.HasSuffix(name, ".lock") || strings.HasPrefix(name, ".") {
			continue
		}
		if id, err := url.PathUnescape(name); err == nil {
			envs = append(envs, id)
		}
	}
	return envs
}

// holdInUse marks a binding as used by a running `kubectl kyma run`: a file beside the
// record, locked for as long as the run lasts, so gc leaves the binding alone; the
// kernel drops the lock if the run dies, and gc then treats the binding as unused.
func holdInUse(record, bindingID string) (release func(), err error) {
	path := inUsePath(record, bindingID)
	if err := privfile.Touch(recordRoot(record), path); err != nil {
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

// inUse reports whether a running `kubectl kyma run` holds the binding, and clears the
// mark of one that died.
func inUse(record, bindingID string) bool {
	path := inUsePath(record, bindingID)
	if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() || privfile.CheckDirs(recordRoot(record), filepath.Dir(path)) != nil {
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

func inUsePath(record, bindingID string) string {
	return filepath.Join(record+".in-use", fileName(bindingID))
}

// fileName escapes a profile, environment or binding name into one path element that
// url.PathUnescape turns back: letters, digits, '-' and '_' stay, '.' too except first.
func fileName(s string) string {
	if s == "" {
		return "_"
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			b.WriteByte(c)
		case c == '.' && i > 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
