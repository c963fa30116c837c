package credential

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/privfile"
)

// Entry is one cached credential: the token of one binding of one environment.
type Entry struct {
	// Environment is the environment the binding belongs to.
	Environment string `json:"environment,omitempty"`
	// BindingID names the binding the token belongs to.
	BindingID string `json:"bindingId"`
	// Token is the binding's bearer token. A secret.
	Token string `json:"token"`
	// IssuedAt is when the binding was made (local clock).
	IssuedAt time.Time `json:"issuedAt"`
	// ExpiresAt is when the service says the token stops working.
	ExpiresAt time.Time `json:"expiresAt"`
	// Server and CAData are the cluster the binding's kubeconfig points at, and
	// TLSServerName the name it checks the cluster's certificate for, if it sets one.
	Server        string `json:"server,omitempty"`
	CAData        []byte `json:"certificateAuthorityData,omitempty"`
	TLSServerName string `json:"tlsServerName,omitempty"`
	// ClockNote says why ExpiresAt is not what the service said: a skewed Date header
	// ignored, or a lifetime out of bounds replaced by the one asked for.
	ClockNote string `json:"clockNote,omitempty"`
	// ReplacedRefused says the binding was made because the cluster refused the one
	// before it; if the cluster refuses this one too, at once, making more will not help.
	ReplacedRefused bool `json:"replacedRefused,omitempty"`
	// Superseded are bindings this entry replaced that a kubectl process may still
	// hold; each is deleted once the expirationTimestamp handed out for it has passed.
	Superseded []Superseded `json:"superseded,omitempty"`
}

// Superseded is a replaced binding and the time after which nobody holds it.
type Superseded struct {
	BindingID string    `json:"bindingId"`
	After     time.Time `json:"after"`
	// Expires is when the binding expires by itself; zero in entries of older versions.
	Expires time.Time `json:"expires,omitzero"`
}

// Key names a cache entry: a profile and an environment.
type Key struct {
	Profile     string
	Environment string
}

// Cache is a folder of entries, one file per Key, each with a lock file and a folder of
// hand-out markers beside it.
type Cache struct {
	Dir string

	// write replaces a file atomically; nil means privfile.WriteAtomic. Tests set it
	// to play a full disk.
	write func(path string, data []byte) error
}

func (c Cache) writeFile(path string, data []byte) error {
	if c.write != nil {
		return c.write(path, data)
	}
	return privfile.WriteAtomic(c.Dir, path, data)
}

// DefaultDir is $XDG_CACHE_HOME/kubectl-kyma with the defaults of github.com/adrg/xdg,
// computed without that package because its init reads the whole environment on every
// kubectl call (a test keeps the two in step).
func DefaultDir() (string, error) {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "kubectl-kyma"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find the cache folder: %w", err)
	}
	switch runtime.GOOS {
	case "darwin":
		return filepath.Join(home, "Library", "Caches", "kubectl-kyma"), nil
	case "windows":
		if d := os.Getenv("LOCALAPPDATA"); d != "" {
			return filepath.Join(d, "cache", "kubectl-kyma"), nil
		}
		return filepath.Join(home, "AppData", "Local", "cache", "kubectl-kyma"), nil
	}
	return filepath.Join(home, ".cache", "kubectl-kyma"), nil
}

// path is the entry's file; the lock and the markers are named after it.
func (c Cache) path(k Key) string {
	return filepath.Join(ProfilePath(c.Dir, "credentials", k.Profile), safeName(k.Environment)+".json")
}

// ProfilePath is the one function that turns a profile name into a path: what the
// cache folder dir keeps for profile under kind ("credentials" and "made" are folders,
// "tokens" a file to which the caller adds ".json"). A valid name (CheckProfileName)
// is used as it is; any other, such as one an earlier version stored, is escaped so it
// stays one path element inside dir/kind.
func ProfilePath(dir, kind, profile string) string {
	return filepath.Join(dir, kind, safeName(profile))
}

// MaxProfileName is the longest profile name: a DNS label's length, so a name fits in
// the Kubernetes names made from it.
const MaxProfileName = 63

// CheckProfileName refuses a profile name that is not letters, digits, '-', '_' and
// '.', not starting with '.', at most MaxProfileName characters: a name becomes a path
// element, and nothing else can climb out of its folder or hide in it.
func CheckProfileName(name string) error {
	ok := name != "" && len(name) <= MaxProfileName && name[0] != '.'
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
	}
	if !ok {
		return fmt.Errorf("profile name %q is not valid: use letters, digits, '-', '_' and '.', not starting with '.', at most %d characters", name, MaxProfileName)
	}
	return nil
}

// rootOf is the cache folder of an entry's path (Dir/credentials/PROFILE/ENV.json),
// for the files named after the entry.
func rootOf(entryPath string) string {
	return filepath.Dir(filepath.Dir(filepath.Dir(entryPath)))
}

// EscapeName turns a name (an environment's, a binding's) into one path element, the
// way the cache names its files (see safeName); records kept beside the cache (package
// ledger) name theirs with it too, so one escaping holds under the cache folder.
func EscapeName(s string) string { return safeName(s) }

// safeName keeps a profile or environment name from escaping the cache folder. Letters,
// digits, - and _ (and . past the start) stay as they are; every other byte is %XX, two
// hex digits each, so that no two names share a file (a variable width, as %x of a rune
// gives, would make U+01E9 and U+001E followed by 9 the same).
func safeName(s string) string {
	if s == "" {
		return "%" // no other name gives a lone %, while "_" is one's own
	}
	const hex = "0123456789abcdef"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			b.WriteByte(c)
		case c == '.' && b.Len() > 0:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		}
	}
	return b.String()
}

// maxEntry bounds what Load reads: an entry holds a token and a CA of a few kilobytes
// each, and the bindings it superseded, so a larger file is not one Store wrote.
const maxEntry = 1 << 20

// Load reads an entry. A missing, unreadable or corrupt entry is nil: a cache miss,
// never a reason to fail a kubectl call. So is one that others could read or change
// (not 0600): its token may be known, or not ours; the refresh replaces it.
func (c Cache) Load(k Key) *Entry {
	data, err := privfile.ReadFileMax(c.Dir, c.path(k), maxEntry)
	if err != nil {
		return nil
	}
	e, err := decodeEntry(data)
	if err != nil || e.Token == "" || e.BindingID == "" || e.ExpiresAt.IsZero() {
		return nil
	}
	return &e
}

// Store writes an entry atomically (temporary file and rename, 0600 in a 0700 folder),
// so a reader, or a crash, sees the old entry or the new one, never half of either.
func (c Cache) Store(k Key, e *Entry) error {
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode cache entry: %w", err)
	}
	if err := c.writeFile(c.path(k), data); err != nil {
		return fmt.Errorf("store credential: %w", diskFull(c.Dir, err))
	}
	return nil
}

// Entries returns the profile's cached entries, by environment.
func (c Cache) Entries(profile string) []*Entry {
	files, _ := filepath.Glob(filepath.Join(ProfilePath(c.Dir, "credentials", profile), "*.json"))
	var out []*Entry
	for _, f := range files {
		data, err := privfile.ReadFileMax(c.Dir, f, maxEntry)
		if err != nil {
			continue
		}
		if e, err := decodeEntry(data); err == nil && e.BindingID != "" && e.Environment != "" {
			out = append(out, &e)
		}
	}
	return out
}

// Remove deletes an entry and its markers; a missing entry is not an error.
func (c Cache) Remove(k Key) error {
	path := c.path(k)
	err := os.Remove(path)
	_ = os.RemoveAll(markerDir(path))
	_ = os.Remove(stampPath(path)) // logout or unbind: the next call starts afresh
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove cache entry: %w", err)
	}
	return nil
}
