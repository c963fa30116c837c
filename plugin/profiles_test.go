package plugin

import "testing"

func TestProfilesFlags(t *testing.T) {
	testFlags(t, NewCmdProfiles, []flagsCase[ProfilesOptions]{
		{args: []string{"profiles"}, want: &ProfilesOptions{}},
		{args: []string{"profiles", "dev"}, wantErr: `unknown command "dev" for "kubectl kyma profiles"`},
		{args: []string{"profiles", "-o", "json"}, wantErr: "unknown shorthand flag: 'o' in -o"},
	})
}

func TestLogoutFlags(t *testing.T) {
	testFlags(t, NewCmdLogout, []flagsCase[LogoutOptions]{
		{args: []string{"logout"}, want: &LogoutOptions{}},
		{args: []string{"logout", "--revoke", "--forget"}, want: &LogoutOptions{Revoke: true, Forget: true}},
		{args: []string{"logout", "--profile", "dev", "--forget"}, want: &LogoutOptions{Forget: true}},
		{args: []string{"logout", "dev"}, wantErr: `unknown command "dev" for "kubectl kyma logout"`},
		{args: []string{"logout", "--revoke=maybe"}, wantErr: `invalid argument "maybe" for "--revoke" flag`},
	})
}
