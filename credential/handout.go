package credential

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/privfile"
)

// markerDir holds the hand-out markers of the entry at path.
func markerDir(entryPath string) string {
	return strings.TrimSuffix(entryPath, ".json") + ".handouts"
}

// marker names the record that caller was handed binding id.
func marker(entryPath, bindingID, caller string) string {
	return filepath.Join(markerDir(entryPath), safeName(bindingID)+"_"+caller)
}

// handedBefore reports whether caller was handed this binding's token with an
// expirationTimestamp that has not passed yet. client-go runs the plugin again in one
// process only after that time, or after the server answered 401: asking before it is
// a suspected refusal, which the slow path checks with the cluster before acting on it.
// The marker's modification time is the expiry handed out.
func handedBefore(entryPath, bindingID, caller string, now time.Time) bool {
	if caller == "" {
		return false
	}
	fi, err := os.Lstat(marker(entryPath, bindingID, caller))
	return err == nil && now.Before(fi.ModTime())
}

// recordHandout notes that caller got the token, valid for it until until. Failing to
// note it only loses the refusal detection for this caller, so errors are ignored.
func recordHandout(entryPath, bindingID, caller string, until time.Time) {
	if caller == "" {
		return
	}
	m := marker(entryPath, bindingID, caller)
	f, err := privfile.OpenFile(rootOf(entryPath), m, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	f.Close()
	_ = os.Chtimes(m, until, until) // m is a regular file of ours in a private folder (privfile)
}

// lastHandout is the latest expirationTimestamp handed out for a binding, by the
// markers' modification times; zero when none is recorded.
func lastHandout(entryPath, bindingID string) time.Time {
	var last time.Time
	if privfile.CheckDirs(rootOf(entryPath), markerDir(entryPath)) != nil {
		return last // missing, or not ours to read (a link to another folder)
	}
	ents, err := os.ReadDir(markerDir(entryPath))
	if err != nil {
		return last
	}
	prefix := safeName(bindingID) + "_"
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.ModTime().After(last) {
			last = fi.ModTime()
		}
	}
	return last
}

// pruneMarkers drops the markers of every binding but keep: they can never match again.
func pruneMarkers(entryPath, keep string) {
	dir := markerDir(entryPath)
	if privfile.CheckDirs(rootOf(entryPath), dir) != nil {
		return // missing, or not ours to empty (a link to another folder)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := safeName(keep) + "_"
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), prefix) {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// Caller identifies the process that ran the plugin (kubectl, through client-go): its
// PID and its start time where the system tells it (/proc, or GetProcessTimes on
// Windows), so a recycled PID is a new caller. Empty turns the refusal detection off.
func Caller() string {
	ppid := os.Getppid()
	if ppid <= 1 {
		return "" // orphaned or run by init: no caller to tell apart
	}
	id := strconv.Itoa(ppid)
	start := startTime(ppid)
	if start == "" && !pidAlone {
		return ""
	}
	if start != "" {
		id += "-" + start
	}
	return id
}
