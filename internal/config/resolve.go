package config

import (
	"errors"
	"fmt"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
)

// Resolve finds the profile a command works with. name is the one the user named
// (empty: none), EnvProfile for the seed procedure's environment variables; without a
// name it is the current profile, or the environment variables when no profile is
// stored. anyName lets a stored profile whose name is no longer valid resolve (logout,
// so that it can be removed). getenv reads the environment (os.Getenv).
func (s Store) Resolve(name string, anyName bool, getenv func(string) string) (*Profile, error) {
	if name == EnvProfile {
		return FromEnv(getenv)
	}
	cfg, err := s.Load()
	if err != nil {
		return nil, err
	}
	if name == "" {
		name = cfg.Current
	}
	if name == "" {
		if len(cfg.Profiles) == 0 {
			if p, err := FromEnv(getenv); err == nil {
				return p, nil
			}
			return nil, errors.New("no profile: run 'kubectl kyma login --service-key FILE', or set CLIENT_ID, CLIENT_SECRET, UAA_URL and PROVISIONING_SERVICE_URL")
		}
		return nil, fmt.Errorf("no current profile: pick one with --profile (have: %v)", cfg.Names())
	}
	p, ok := cfg.Profiles[name]
	if !ok {
		return nil, fmt.Errorf("no profile %q (have: %v): run 'kubectl kyma login --profile %s ...'", name, cfg.Names(), name)
	}
	if err := credential.CheckProfileName(name); err != nil && !anyName {
		// Stored by an earlier version, which took any name.
		return nil, fmt.Errorf("%w; an earlier version stored it: run 'kubectl kyma logout --profile %s --forget' and log in again under another name", err, name)
	}
	return p, p.Validate()
}

// FromEnv is the seed procedure's environment variables (CLIENT_ID, CLIENT_SECRET,
// UAA_URL, PROVISIONING_SERVICE_URL) as a profile, so a CI pipeline needs no login
// step.
func FromEnv(getenv func(string) string) (*Profile, error) {
	p := &Profile{
		Name:            EnvProfile,
		Kind:            KindCIS,
		ClientID:        getenv("CLIENT_ID"),
		ClientSecret:    getenv("CLIENT_SECRET"),
		UAAURL:          getenv("UAA_URL"),
		ProvisioningURL: getenv("PROVISIONING_SERVICE_URL"),
	}
	if p.ClientID == "" || p.ClientSecret == "" || p.UAAURL == "" || p.ProvisioningURL == "" {
		return nil, errors.New("the env profile needs CLIENT_ID, CLIENT_SECRET, UAA_URL and PROVISIONING_SERVICE_URL")
	}
	return p, nil
}
