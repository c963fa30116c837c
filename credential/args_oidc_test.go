package credential

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestArgsRoundTripOIDC(t *testing.T) {
	for _, tc := range []struct {
		name string
		args Args
		want string
	}{
		{"github, as oidc trust writes it", Args{OIDC: OIDC{Source: OIDCGitHub, Audience: "https://api.example:443"}}, "--oidc github --audience https://api.example:443"},
		{"gitlab with its variable", Args{OIDC: OIDC{Source: OIDCGitLab, Audience: "aud", TokenEnv: "MY_TOKEN"}}, "--oidc gitlab --audience aud --token-env MY_TOKEN"},
		{"a file", Args{OIDC: OIDC{Source: OIDCFile, TokenFile: "/var/run/secrets/tokens/kyma"}}, "--oidc file --token-file /var/run/secrets/tokens/kyma"},
		{"values with spaces and =", Args{OIDC: OIDC{Source: "x y", Audience: "a=b", TokenFile: "c d"}}, "--oidc x y --audience a=b --token-file c d"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			words := tc.args.Render()
			if got := strings.Join(words, " "); got != tc.want {
				t.Errorf("Render = %q, want %q", got, tc.want)
			}
			back, err := ParseArgs(words)
			if err != nil {
				t.Fatal(err)
			}
			if back != tc.args {
				t.Errorf("ParseArgs(Render(%+v)) = %+v", tc.args, back)
			}
			if again := back.Render(); !slices.Equal(again, words) {
				t.Errorf("Render again = %q, want %q", again, words)
			}
		})
	}
}

func TestArgsValidateOIDC(t *testing.T) {
	for _, tc := range []struct {
		args Args
		want string
	}{
		{Args{OIDC: OIDC{Source: OIDCGitHub, Audience: "a"}}, ""},
		{Args{OIDC: OIDC{Source: OIDCGitHub}, Environment: "e"}, "--environment is for bindings"},
		{Args{OIDC: OIDC{Source: OIDCGitHub}, Profile: "dev"}, "--profile is for bindings"},
		{Args{OIDC: OIDC{Source: OIDCGitHub}, Expiration: time.Hour}, "--expiration is for bindings"},
		{Args{OIDC: OIDC{Source: "vault"}}, "--oidc must be github, gitlab or file"},
		{Args{OIDC: OIDC{Source: OIDCFile}}, "--token-file"},
	} {
		err := tc.args.Validate()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: error = %v, want %q", tc.args, err, tc.want)
		}
	}
}
