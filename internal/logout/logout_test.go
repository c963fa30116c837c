package logout

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
	"github.com/kubectl-kyma/kubectl-kyma/internal/connect"
)

// bindings records deletes and answers each with the error set for its binding.
type bindings struct {
	binding.Service
	errs    map[string]error
	deleted []string
}

func (b *bindings) Delete(_ context.Context, env, id string) error {
	b.deleted = append(b.deleted, env+"/"+id)
	return b.errs[id]
}

// cacheWith makes a cache folder with the profile's token and one credential per
// environment, and returns it.
func cacheWith(t *testing.T, profile string, envs ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "cache")
	write(t, connect.TokenFile(dir, profile))
	c := credential.Cache{Dir: dir}
	for _, env := range envs {
		e := &credential.Entry{Environment: env, BindingID: "b-" + env, Token: "t", ExpiresAt: time.Now().Add(time.Hour)}
		if err := c.Store(credential.Key{Profile: profile, Environment: env}, e); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func write(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

func TestDoForgetsTheCache(t *testing.T) {
	dir := cacheWith(t, "dev", "e1")
	other := cacheWith(t, "prod", "e1")
	if err := Do(context.Background(), Input{Profile: "dev", CacheDir: dir}); err != nil {
		t.Fatal(err)
	}
	if exists(connect.TokenFile(dir, "dev")) {
		t.Error("the token is still cached")
	}
	if n := len((credential.Cache{Dir: dir}).Entries("dev")); n != 0 {
		t.Errorf("%d credentials still cached", n)
	}
	if !exists(connect.TokenFile(other, "prod")) || len((credential.Cache{Dir: other}).Entries("prod")) != 1 {
		t.Error("another profile's cache went too")
	}
}

// An earlier version's token file, named after the raw name, goes too; a name that
// could climb out of the folder touches nothing outside it.
func TestDoLegacyTokenFile(t *testing.T) {
	dir := cacheWith(t, "ci@team")
	legacy := filepath.Join(dir, "tokens", "ci@team.json")
	write(t, legacy)
	if err := Do(context.Background(), Input{Profile: "ci@team", CacheDir: dir}); err != nil {
		t.Fatal(err)
	}
	if exists(legacy) {
		t.Error("the earlier version's token file is still there")
	}
	outside := filepath.Join(dir, "x.json")
	write(t, outside)
	// Unescaped, <dir>/sub + tokens/../../x.json would be <dir>/x.json.
	if err := Do(context.Background(), Input{Profile: "../../x", CacheDir: filepath.Join(dir, "sub")}); err != nil {
		t.Fatal(err)
	}
	if !exists(outside) {
		t.Error(`logging out of "../../x" removed a file outside the cache folder`)
	}
}

func TestDoRevoke(t *testing.T) {
	dir := cacheWith(t, "dev", "e1", "e2", "e3")
	svc := &bindings{errs: map[string]error{
		"b-e1": binding.ErrNotFound,
		"b-e2": errors.New("service unavailable"),
		"b-e3": binding.ErrExpired,
	}}
	err := Do(context.Background(), Input{Profile: "dev", CacheDir: dir, Revoke: true, Bindings: func() (binding.Service, error) { return svc, nil }})
	if err == nil || err.Error() != "delete binding b-e2: service unavailable" {
		t.Errorf("error = %v, want only the binding that failed for another reason than being gone", err)
	}
	slices.Sort(svc.deleted)
	if want := []string{"e1/b-e1", "e2/b-e2", "e3/b-e3"}; !slices.Equal(svc.deleted, want) {
		t.Errorf("deleted %v, want %v", svc.deleted, want)
	}
	if exists(connect.TokenFile(dir, "dev")) {
		t.Error("a failed revoke kept the token cached: the rest of the logout must go on")
	}
}

func TestDoRevokeWithoutService(t *testing.T) {
	dir := cacheWith(t, "dev", "e1")
	err := Do(context.Background(), Input{Profile: "dev", CacheDir: dir, Revoke: true,
		Bindings: func() (binding.Service, error) { return nil, errors.New("no profile") }})
	if err == nil || !strings.Contains(err.Error(), "no profile") {
		t.Errorf("error = %v, want the service's", err)
	}
}

func TestDoForget(t *testing.T) {
	store := config.Store{Path: filepath.Join(t.TempDir(), "config", "config.yaml")}
	for _, name := range []string{"prod", "dev"} {
		if err := store.Put(&config.Profile{Name: name, Kind: config.KindCIS}); err != nil {
			t.Fatal(err)
		}
	}
	if err := Do(context.Background(), Input{Profile: "dev", CacheDir: t.TempDir(), Forget: true, Store: store}); err != nil {
		t.Fatal(err)
	}
	cfg, err := store.Load()
	if err != nil {
		t.Fatal(err)
	}
	if names := cfg.Names(); !slices.Equal(names, []string{"prod"}) || cfg.Current != "" {
		t.Errorf("profiles %v, current %q; want [prod] and none current", names, cfg.Current)
	}
}
