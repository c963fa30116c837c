package credential

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/filelock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/privfile"
)

// RefreshState is what `kubectl kyma status` shows about the refresh of one entry.
type RefreshState struct {
	// InFlight: a process holds the entry's lock, making a binding.
	InFlight bool
	// PID is the process that holds the lock, when it noted itself beside it (the
	// background refresh does) and is still running; zero otherwise.
	PID int
	// LastError is the last background refresh's error and when it happened; empty
	// when the last refresh worked.
	LastError     string
	LastErrorTime time.Time
}

// RefreshState reads the entry's lock and last background error without waiting and
// without any network call. Probing the lock takes it for an instant when it is free; a
// refresh that starts at that instant waits (foreground) or is left to the next call
// (background), as with any other holder.
func (c Cache) RefreshState(k Key) RefreshState {
	var s RefreshState
	if f := c.lastFailure(k); f != nil {
		s.LastError, s.LastErrorTime = f.Error, f.Time
	}
	path := c.path(k) + ".lock"
	if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() || privfile.CheckDirs(c.Dir, filepath.Dir(path)) != nil {
		return s // never locked (no refresh has run), or not ours to probe
	}
	unlock, ok, err := filelock.TryLockExisting(path)
	if err != nil {
		return s
	}
	if ok {
		unlock()
		return s
	}
	s.InFlight = true
	data, err := privfile.ReadFile(c.Dir, pidPath(c.path(k)))
	if err != nil {
		return s
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && pid > 0 && running(pid) {
		s.PID = pid
	}
	return s
}

// running reports whether a process with pid exists. The PID file keeps the PID of
// the last background refresh, so a foreground refresh holding the lock would otherwise
// be attributed to a process that has ended.
func running(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	defer p.Release()
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, os.ErrPermission)
}
