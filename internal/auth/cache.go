package auth

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/privfile"
)

// DefaultMargin is how long before its expiry a cached token is no longer handed
// out: long enough for a request that starts with it to reach the service in time.
const DefaultMargin = time.Minute

// Cache is an oauth2.TokenSource that reuses a token, in memory and in a file, until
// Margin before it expires, and asks Source for a new one otherwise.
//
// The file is written atomically (a temp file in the same directory, then rename),
// mode 0600, and missing directories are created 0700; the caller picks the path
// (one per profile). Two processes that miss at once both fetch and the last rename
// wins: tokens of one client are interchangeable, so no lock is needed. A token
// without an expiry is kept in memory only, since nothing says when it stops
// working. A file that cannot be read or written only costs a fetch: Token does not
// fail because of it.
//
// A Cache is safe for concurrent use. Set the fields before the first call.
type Cache struct {
	// Source fetches a new token on a miss, usually a *ClientCredentials. When it
	// implements ContextTokenSource, TokenContext passes its context on.
	Source oauth2.TokenSource
	// Path is the cache file; empty keeps the token in memory only.
	Path string
	// Root is the folder the project owns that holds Path (see package privfile);
	// empty means Path's own folder.
	Root string
	// Key names whose token the file holds (see ClientCredentials.CacheKey); a file
	// written with another key is a miss.
	Key string
	// Clock tells the time; nil means the system clock. Tests pass a clock.Fake, so
	// that expiry is tested without sleeping.
	Clock clock.Clock
	// Margin is how long before expiry a token counts as expired; 0 means
	// DefaultMargin.
	Margin time.Duration

	mu  sync.Mutex
	tok *oauth2.Token
}

// cacheFile is the JSON in the cache file.
type cacheFile struct {
	Key         string    `json:"key"`
	AccessToken string    `json:"access_token"`
	TokenType   string    `json:"token_type,omitempty"`
	Expiry      time.Time `json:"expiry"`
}

// Token returns a valid token, from the cache when it has one.
func (c *Cache) Token() (*oauth2.Token, error) {
	return c.TokenContext(context.Background())
}

// TokenContext returns a valid token, from the cache when it has one; ctx bounds a
// fetch.
func (c *Cache) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.valid(c.tok) {
		return copyToken(c.tok), nil
	}
	if t := c.read(); c.valid(t) {
		c.tok = t
		return copyToken(t), nil
	}
	if c.Source == nil {
		return nil, errors.New("auth: Cache has no Source")
	}
	var (
		t   *oauth2.Token
		err error
	)
	if cs, ok := c.Source.(ContextTokenSource); ok {
		t, err = cs.TokenContext(ctx)
	} else {
		t, err = c.Source.Token()
	}
	if err != nil {
		return nil, err
	}
	// Keep only what a request needs: the fetched token's Raw map repeats the
	// access token and whatever else the UAA sent.
	t = &oauth2.Token{AccessToken: t.AccessToken, TokenType: t.TokenType, Expiry: t.Expiry}
	c.tok = t
	if !t.Expiry.IsZero() {
		_ = c.write(t) // a failed write costs a fetch next time, nothing more
	}
	return copyToken(t), nil
}

// Invalidate forgets the cached token, in memory and on disk, so that the next
// Token fetches a new one. Call it when a service answers 401 to a token that had
// not expired yet (revoked, or the clock is off).
func (c *Cache) Invalidate() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tok = nil
	if c.Path == "" {
		return nil
	}
	if err := os.Remove(c.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func (c *Cache) margin() time.Duration {
	if c.Margin <= 0 {
		return DefaultMargin
	}
	return c.Margin
}

// valid reports whether t can still be handed out. A token without expiry (only
// ever in memory) stays valid for the life of the process.
func (c *Cache) valid(t *oauth2.Token) bool {
	if t == nil || t.AccessToken == "" {
		return false
	}
	if t.Expiry.IsZero() {
		return true
	}
	return clock.Or(c.Clock).Now().Add(c.margin()).Before(t.Expiry)
}

// read returns the file's token, or nil when there is none for Key.
func (c *Cache) read() *oauth2.Token {
	if c.Path == "" {
		return nil
	}
	b, err := privfile.ReadFile(c.root(), c.Path)
	if err != nil {
		return nil
	}
	var f cacheFile
	if json.Unmarshal(b, &f) != nil || f.Key != c.Key || f.Expiry.IsZero() {
		return nil
	}
	return &oauth2.Token{AccessToken: f.AccessToken, TokenType: f.TokenType, Expiry: f.Expiry}
}

// write stores t atomically: a reader sees the old file or the new one, never a
// half-written one.
func (c *Cache) write(t *oauth2.Token) error {
	if c.Path == "" {
		return nil
	}
	b, err := json.Marshal(cacheFile{Key: c.Key, AccessToken: t.AccessToken, TokenType: t.TokenType, Expiry: t.Expiry.UTC()})
	if err != nil {
		return err
	}
	return privfile.WriteAtomic(c.root(), c.Path, b)
}

func (c *Cache) root() string {
	if c.Root != "" {
		return c.Root
	}
	return filepath.Dir(c.Path)
}

func copyToken(t *oauth2.Token) *oauth2.Token {
	return &oauth2.Token{AccessToken: t.AccessToken, TokenType: t.TokenType, Expiry: t.Expiry}
}

// NewTokenSource is the token source of one profile: cfg's client credentials,
// cached at cachePath (empty: in memory only; set Root when its folder is not the
// private folder's root). httpClient is for the UAA.
func NewTokenSource(cfg Config, cachePath string, httpClient *http.Client) *Cache {
	cc := NewClientCredentials(cfg, httpClient)
	return &Cache{Source: cc, Path: cachePath, Key: cc.CacheKey()}
}
