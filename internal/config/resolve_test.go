package config

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	env := map[string]string{"CLIENT_ID": "eid", "CLIENT_SECRET": "es", "UAA_URL": "https://uaa", "PROVISIONING_SERVICE_URL": "https://ps"}
	noEnv := map[string]string{}
	dev := &Profile{Kind: KindCIS, ClientID: "id", ClientSecret: "s", UAAURL: "https://uaa", ProvisioningURL: "https://ps"}
	for name, tc := range map[string]struct {
		cfg     *Config // nil: no file
		name    string
		anyName bool
		env     map[string]string
		want    string // the profile's name, or "error: " and the start of the error
	}{
		"named":                  {cfg: &Config{Current: "x", Profiles: map[string]*Profile{"dev": dev, "x": dev}}, name: "dev", env: noEnv, want: "dev"},
		"current":                {cfg: &Config{Current: "dev", Profiles: map[string]*Profile{"dev": dev}}, env: noEnv, want: "dev"},
		"env named":              {cfg: &Config{Current: "dev", Profiles: map[string]*Profile{"dev": dev}}, name: EnvProfile, env: env, want: EnvProfile},
		"env named, unset":       {name: EnvProfile, env: noEnv, want: "error: the env profile needs CLIENT_ID"},
		"no file: env":           {env: env, want: EnvProfile},
		"no file, no env":        {env: noEnv, want: "error: no profile: run 'kubectl kyma login"},
		"no current":             {cfg: &Config{Profiles: map[string]*Profile{"dev": dev}}, env: env, want: "error: no current profile: pick one with --profile (have: [dev])"},
		"unknown":                {cfg: &Config{Profiles: map[string]*Profile{"dev": dev}}, name: "prod", env: noEnv, want: `error: no profile "prod" (have: [dev])`},
		"legacy name refused":    {cfg: &Config{Profiles: map[string]*Profile{"a b": dev}}, name: "a b", env: noEnv, want: "error: an earlier version stored it"},
		"legacy name for logout": {cfg: &Config{Profiles: map[string]*Profile{"a b": dev}}, name: "a b", anyName: true, env: noEnv, want: "a b"},
		"incomplete":             {cfg: &Config{Profiles: map[string]*Profile{"dev": {Kind: KindCIS, ClientID: "id"}}}, name: "dev", env: noEnv, want: `error: profile "dev" has no clientSecret`},
	} {
		t.Run(name, func(t *testing.T) {
			s := Store{Path: filepath.Join(t.TempDir(), "kubectl-kyma", "config.yaml")}
			if tc.cfg != nil {
				if err := s.Save(tc.cfg); err != nil {
					t.Fatal(err)
				}
			}
			p, err := s.Resolve(tc.name, tc.anyName, func(k string) string { return tc.env[k] })
			if wantErr, ok := strings.CutPrefix(tc.want, "error: "); ok {
				if err == nil || !strings.Contains(err.Error(), wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Name != tc.want {
				t.Errorf("profile %q, want %q", p.Name, tc.want)
			}
		})
	}
}
