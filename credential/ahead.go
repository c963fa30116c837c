package credential

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/privfile"
)

// failureBackoff is how long after a failed background refresh no other is started:
// a service that is down gets one attempt per half minute, not one per kubectl call.
const failureBackoff = 30 * time.Second

// failure is a background refresh's error, kept for the next kubectl call to report.
type failure struct {
	Time  time.Time `json:"time"`
	Error string    `json:"error"`
}

func failurePath(entryPath string) string {
	return strings.TrimSuffix(entryPath, ".json") + ".refresh-error"
}

// recordFailure keeps err for the next call, and reports when it cannot (a full disk).
func (c Cache) recordFailure(k Key, now time.Time, err error) error {
	data, _ := json.Marshal(failure{Time: now, Error: err.Error()})
	if werr := c.writeFile(failurePath(c.path(k)), data); werr != nil {
		return diskFull(c.Dir, werr)
	}
	return nil
}

func (c Cache) clearFailure(k Key) { _ = os.Remove(failurePath(c.path(k))) }

// lastFailure is the last background refresh's error, or nil.
func (c Cache) lastFailure(k Key) *failure {
	data, err := privfile.ReadFile(c.Dir, failurePath(c.path(k)))
	if err != nil {
		return nil
	}
	var f failure
	if json.Unmarshal(data, &f) != nil {
		return nil
	}
	return &f
}

// refreshAhead starts one detached refresh of an entry that is still valid but due:
// it takes the entry's lock without waiting (held: a refresh is already in flight) and
// starts the new process under it, which inherits the locked file (Unix) or takes the
// lock as this process lets it go (Windows), so the lock lives as long as the refresh,
// and the kernel drops it if that process dies.
func (c Cache) refreshAhead(in Input, e *Entry) {
	last := c.lastFailure(in.Key)
	now := in.now()
	if last != nil && recent(last.Time, now, failureBackoff) {
		return
	}
	lock, ok := tryLock(c.Dir, c.path(in.Key)+".lock")
	if !ok {
		return
	}
	defer lock.Close() // the child keeps its own copy of the descriptor, or waits for this
	if last != nil {
		in.note("the background refresh failed %s ago (%s); trying again, and the cached token is valid until %s",
			now.Sub(last.Time).Round(time.Second), last.Error, e.ExpiresAt.Local().Format(time.TimeOnly))
	}
	if err := in.Spawn(lock); err != nil {
		in.note("cannot start a background refresh: %v", err)
	}
}

// pidPath is where the background refresh of the entry at entryPath notes its PID.
func pidPath(entryPath string) string {
	return strings.TrimSuffix(entryPath, ".json") + ".pid"
}

// writePID notes which process holds the entry's lock for a background refresh, for
// `kubectl kyma status`: in a file of its own, replaced atomically (writing into the
// lock file would write through whatever that name points at).
func (c Cache) writePID(k Key) {
	_ = privfile.WriteAtomic(c.Dir, pidPath(c.path(k)), []byte(strconv.Itoa(os.Getpid())+"\n"))
}
