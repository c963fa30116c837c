package plugin

import "testing"

func TestVersionFlags(t *testing.T) {
	testFlags(t, NewCmdVersion, []flagsCase[VersionOptions]{
		{args: []string{"version"}, want: &VersionOptions{}},
		{args: []string{"version", "--short"}, want: &VersionOptions{Short: true}},
		{args: []string{"version", "--client"}, wantErr: "unknown flag: --client"},
	})
}
