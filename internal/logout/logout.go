// Package logout forgets what this machine keeps for a profile: its cached OAuth2
// token and binding credentials (package credential's cache), the bindings behind
// those credentials when asked to revoke them, and the profile itself when asked to.
package logout

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
	"github.com/kubectl-kyma/kubectl-kyma/internal/connect"
)

// Input says what to forget.
type Input struct {
	// Profile is the profile's name.
	Profile string
	// CacheDir is the cache folder (credential.DefaultDir).
	CacheDir string
	// Revoke also deletes the bindings behind the profile's cached credentials,
	// through Bindings.
	Revoke   bool
	Bindings func() (binding.Service, error)
	// Forget also removes the profile from Store.
	Forget bool
	Store  config.Store
}

// Do forgets what in names. It goes on past a failure, so that as much as can go
// goes, and returns every failure joined.
func Do(ctx context.Context, in Input) error {
	var errs []error
	if in.Revoke {
		errs = append(errs, revoke(ctx, in))
	}
	errs = append(errs, forgetCache(in.CacheDir, in.Profile))
	if in.Forget {
		errs = append(errs, in.Store.Delete(in.Profile))
	}
	return errors.Join(errs...)
}

// revoke deletes the bindings behind a profile's cached credentials; one already gone
// or expired is no failure.
func revoke(ctx context.Context, in Input) error {
	svc, err := in.Bindings()
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range (credential.Cache{Dir: in.CacheDir}).Entries(in.Profile) {
		if err := svc.Delete(ctx, e.Environment, e.BindingID); err != nil && !errors.Is(err, binding.ErrNotFound) && !errors.Is(err, binding.ErrExpired) {
			errs = append(errs, fmt.Errorf("delete binding %s: %w", e.BindingID, err))
		}
	}
	return errors.Join(errs...)
}

// forgetCache removes a profile's cached OAuth token and binding credentials. Earlier
// versions named the token file after the raw profile name: for a name that is one
// plain path element (such as "ci@team") that file goes too; a name that could climb
// out of the folder ("../x") never reaches a path unescaped.
func forgetCache(dir, profile string) error {
	files := []string{connect.TokenFile(dir, profile)}
	if profile != "." && profile != ".." && !strings.ContainsAny(profile, `/\`) && filepath.Base(profile) == profile {
		files = append(files, filepath.Join(dir, "tokens", profile+".json"))
	}
	var errs []error
	for _, f := range files {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(credential.ProfilePath(dir, "credentials", profile)); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
