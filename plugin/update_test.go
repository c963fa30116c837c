package plugin

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
)

func TestUpdateFlags(t *testing.T) {
	file := filepath.Join(t.TempDir(), "update.json")
	if err := os.WriteFile(file, []byte(`{"administrators":["a@example.com"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	testFlags(t, NewCmdUpdate, []flagsCase[UpdateOptions]{
		{args: []string{"update", "prod", "--parameters", `{"autoScalerMax":7}`, "--wait"},
			want: &UpdateOptions{Arg: "prod", Parameters: `{"autoScalerMax":7}`, Wait: true, Timeout: time.Hour,
				params: map[string]any{"autoScalerMax": json.Number("7")}}},
		{args: []string{"update", "prod", "--parameters", "@" + file, "--plan", "aws", "--timeout", "10m"},
			want: &UpdateOptions{Arg: "prod", Parameters: "@" + file, Plan: "aws", Timeout: 10 * time.Minute,
				params: map[string]any{"administrators": []any{"a@example.com"}}}},
		{args: []string{"update", "free-1", "--plan", "aws"}, want: &UpdateOptions{Arg: "free-1", Plan: "aws", Timeout: time.Hour}},
		{args: []string{"update", "prod"}, wantErr: "update needs --parameters, --plan or both"},
		{args: []string{"update"}, wantErr: "kubectl kyma update takes NAME|ID, got 0 arguments"},
		{args: []string{"update", "prod", "--parameters", `[1,2]`}, wantErr: `--parameters is not a JSON object`},
		{args: []string{"update", "prod", "--parameters", `{"a":1} {"b":2}`}, wantErr: "--parameters holds more than one JSON value"},
		{args: []string{"update", "prod", "--parameters", "@" + file + ".missing"}, wantErr: "read --parameters file"},
		{args: []string{"update", "prod", "--plan", "aws", "--timeout", "0s"}, wantErr: "--timeout must be positive"},
	})
}

// provision --parameters: merged under NAME and --region, which a parameter may repeat
// but not contradict; the region may come from the parameters alone.
func TestProvisionParameters(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		want    string
		wantErr string
	}{
		{"merged", []string{"--region", "eu-central-1", "--parameters", `{"machineType":"m6i.xlarge","autoScalerMax":5}`},
			`{"autoScalerMax":5,"machineType":"m6i.xlarge","name":"t1","region":"eu-central-1"}`, ""},
		{"region from parameters", []string{"--parameters", `{"region":"us-east-1","name":"t1"}`},
			`{"name":"t1","region":"us-east-1"}`, ""},
		{"name disagrees", []string{"--region", "eu-central-1", "--parameters", `{"name":"other"}`}, "",
			`--parameters sets name to "other" but the NAME argument says "t1": give it once, or the same in both`},
		{"region disagrees", []string{"--region", "eu-central-1", "--parameters", `{"region":"us-east-1"}`}, "",
			`--parameters sets region to "us-east-1" but --region says "eu-central-1"`},
		{"no region anywhere", []string{"--parameters", `{"machineType":"m6i.xlarge"}`}, "", "provision needs --region"},
		{"not JSON", []string{"--region", "eu-central-1", "--parameters", `machineType=m6i.xlarge`}, "", "--parameters is not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc, url := newScriptedService(t, map[string][]answer{"POST /provisioning/v1/environments": {{status: 202, body: `{"id":"E1"}`}}})
			args := append([]string{"provision", "t1", "--plan", "aws", "--user", "me@example.com"}, tc.args...)
			_, _, err := runWithClock(t, url, clock.NewFake(now), &config.Profile{Name: "test", Kind: config.KindCIS,
				ClientID: "id", ClientSecret: "secret", UAAURL: url, ProvisioningURL: url}, args...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				if n := len(svc.bodies["POST /provisioning/v1/environments"]); n != 0 {
					t.Errorf("%d requests sent despite the error", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var sent struct{ Parameters json.RawMessage }
			if err := json.Unmarshal([]byte(svc.bodies["POST /provisioning/v1/environments"][0]), &sent); err != nil {
				t.Fatal(err)
			}
			if string(sent.Parameters) != tc.want {
				t.Errorf("parameters sent = %s, want %s", sent.Parameters, tc.want)
			}
		})
	}
}

// On a CIS profile update sends the environment's own plan when --plan is not given
// (the service requires planName); on a KEB profile it sends no plan_id, which would
// change the plan.
func TestUpdateRequests(t *testing.T) {
	list := `{"environmentInstances":[{"id":"E1","name":"t1","environmentType":"kyma","planName":"azure","state":"OK"}]}`
	svc, url := newScriptedService(t, map[string][]answer{
		"GET /provisioning/v1/environments":      {{status: 200, body: list}},
		"PATCH /provisioning/v1/environments/E1": {{status: 202, body: `{}`}},
	})
	out, _, err := runWithClock(t, url, clock.NewFake(now), nil, "update", "t1", "--parameters", `{"autoScalerMax":7}`)
	if err != nil || out != "environment/t1 updating (id E1)\n" {
		t.Fatalf("update: %v %q", err, out)
	}
	if got := svc.bodies["PATCH /provisioning/v1/environments/E1"]; len(got) != 1 || got[0] != `{"planName":"azure","parameters":{"autoScalerMax":7}}` {
		t.Errorf("CIS PATCH bodies = %q", got)
	}

	const iid = "5d3c0a4e-7f7e-4a53-9d8e-1c0f1f6e7b10"
	keb, kebURL := newScriptedService(t, map[string][]answer{
		"PATCH /oauth/v2/service_instances/" + iid: {{status: 202, body: `{"operation":"op-1"}`}},
		// The instance's own plan, which the PATCH sends to keep it (not the profile's).
		"GET /oauth/v2/service_instances/" + iid: {{status: 200, body: `{"service_id":"svc","plan_id":"plan-of-the-instance"}`}},
		"GET /oauth/v2/service_instances/" + iid + "/last_operation": {
			{status: 200, body: `{"state":"in progress","description":"Operation created"}`},
			{status: 200, body: `{"state":"failed","description":"Update failed: quota"}`},
		},
	})
	profile := &config.Profile{Name: "keb", Kind: config.KindBroker, ClientID: "id", ClientSecret: "secret",
		BrokerURL: kebURL + "/oauth", TokenURL: kebURL + "/oauth/token", ServiceID: "svc", PlanID: "plan-of-the-profile"}
	out, _, err = runWithClock(t, kebURL, clock.NewFake(now), profile, "update", iid, "--parameters", `{"autoScalerMax":7}`, "--wait")
	want := `update of "` + iid + `" failed (last_operation state "failed"): Update failed: quota`
	if err == nil || err.Error() != want {
		t.Errorf("KEB update --wait: %v\nwant %s", err, want)
	}
	if !strings.Contains(out, "updating (operation op-1)") {
		t.Errorf("stdout = %q", out)
	}
	if got := keb.bodies["PATCH /oauth/v2/service_instances/"+iid]; len(got) != 1 || got[0] != `{"service_id":"svc","plan_id":"plan-of-the-instance","context":{},"parameters":{"autoScalerMax":7}}` {
		t.Errorf("OSB PATCH bodies = %q", got)
	}
}
