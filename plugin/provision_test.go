package plugin

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestProvisionFlags(t *testing.T) {
	file := filepath.Join(t.TempDir(), "params.json")
	if err := os.WriteFile(file, []byte(`{"region":"us-east-1","autoScalerMax":5}`), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"provision", "t1", "--plan", "aws", "--user", "me@example.com"}
	with := func(args ...string) []string { return append(append([]string(nil), base...), args...) }
	testFlags(t, NewCmdProvision, []flagsCase[ProvisionOptions]{
		{args: with("--region", "eu-central-1", "--wait", "--timeout", "30m"),
			want: &ProvisionOptions{Name: "t1", Plan: "aws", Region: "eu-central-1", User: "me@example.com", Wait: true, Timeout: 30 * time.Minute,
				params: map[string]any{"name": "t1", "region": "eu-central-1"}}},
		{args: with("--parameters", "@"+file),
			want: &ProvisionOptions{Name: "t1", Plan: "aws", Region: "us-east-1", User: "me@example.com", Timeout: time.Hour, Parameters: "@" + file,
				params: map[string]any{"name": "t1", "region": "us-east-1", "autoScalerMax": json.Number("5")}}},
		{args: []string{"provision", "t1"}, wantErr: "provision needs --plan, --region, --user"},
		{args: []string{"provision", "--plan", "aws"}, wantErr: "kubectl kyma provision takes NAME, got 0 arguments"},
		{args: with("--region", "eu-central-1", "--timeout", "-1s"), wantErr: "--timeout must be positive"},
		{args: with("--region", "eu-central-1", "--parameters", `{"region":"us-east-1"}`), wantErr: `--parameters sets region to "us-east-1" but --region says "eu-central-1"`},
		{args: with("--region", "eu-central-1", "--parameters", "@"+file+".missing"), wantErr: "read --parameters file"},
		{args: with("--region", "eu-central-1", "--wait=often"), wantErr: `invalid argument "often" for "--wait" flag`},
	})
}

func TestDeprovisionFlags(t *testing.T) {
	testFlags(t, NewCmdDeprovision, []flagsCase[DeprovisionOptions]{
		{args: []string{"deprovision", "prod"}, want: &DeprovisionOptions{Arg: "prod", Timeout: time.Hour}},
		{args: []string{"deprovision", "prod", "-y", "--wait", "--timeout", "5m"}, want: &DeprovisionOptions{Arg: "prod", Yes: true, Wait: true, Timeout: 5 * time.Minute}},
		{args: []string{"deprovision"}, wantErr: "kubectl kyma deprovision takes NAME|ID, got 0 arguments"},
		{args: []string{"deprovision", "prod", "--timeout", "soon"}, wantErr: `invalid argument "soon" for "--timeout" flag`},
	})
}
