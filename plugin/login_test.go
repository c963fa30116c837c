package plugin

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
)

func TestLoginFlags(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	key := write("cis-key.json", `{"credentials":{"uaa":{"clientid":"cid","clientsecret":"csecret","url":"https://uaa.example"},
		"endpoints":{"provisioning_service_url":"https://provisioning.example"}}}`)
	httpKey := write("http-key.json", `{"uaa":{"clientid":"cid","clientsecret":"csecret","url":"http://uaa.example"},
		"endpoints":{"provisioning_service_url":"https://provisioning.example"}}`)
	secret := write("secret.txt", "s3cret\n")
	noPEM := write("ca.pem", "not a certificate")
	cis := func(name string) *config.Profile {
		return &config.Profile{Name: name, Kind: config.KindCIS, ClientID: "cid", ClientSecret: "csecret",
			UAAURL: "https://uaa.example", ProvisioningURL: "https://provisioning.example"}
	}
	testFlags(t, NewCmdLogin, []flagsCase[LoginOptions]{
		{args: []string{"login", "--service-key", key},
			want: &LoginOptions{ServiceKeyFile: key, ServiceID: kebServiceID, PlanID: kebAWSPlanID, profile: cis("default")}},
		{args: []string{"login", "--profile", "dev", "--service-key", key},
			want: &LoginOptions{ServiceKeyFile: key, ServiceID: kebServiceID, PlanID: kebAWSPlanID, profile: cis("dev")}},
		{args: []string{"login", "--profile", "keb", "--broker-url", "https://keb.example/oauth/", "--token-url", "https://oauth.example/token",
			"--client-id", "bid", "--client-secret-file", secret, "--region", "cf-eu10", "--plan-id", "plan-1"},
			want: &LoginOptions{BrokerURL: "https://keb.example/oauth/", TokenURL: "https://oauth.example/token", ClientID: "bid",
				ClientSecretFile: secret, Region: "cf-eu10", ServiceID: kebServiceID, PlanID: "plan-1",
				profile: &config.Profile{Name: "keb", Kind: config.KindBroker, BrokerURL: "https://keb.example/oauth", TokenURL: "https://oauth.example/token",
					Region: "cf-eu10", ClientID: "bid", ClientSecret: "s3cret", ServiceID: kebServiceID, PlanID: "plan-1"}}},
		{args: []string{"login"}, wantErr: "say what to log in with: --service-key FILE, or --broker-url"},
		{args: []string{"login", "extra"}, wantErr: `unknown command "extra" for "kubectl kyma login"`},
		{args: []string{"login", "--service-key", key, "--broker-url", "https://keb.example/oauth"}, wantErr: "[service-key broker-url] are set none of the others can be"},
		{args: []string{"login", "--broker-url", "https://keb.example/oauth", "--token-url", "https://oauth.example/token", "--client-id", "bid"},
			wantErr: "--client-secret-file is required with --broker-url"},
		{args: []string{"login", "--broker-url", "https://keb.example/oauth", "--client-id", "bid", "--client-secret-file", secret},
			wantErr: `profile "default" has no tokenURL`},
		{args: []string{"login", "--service-key", key + ".missing"}, wantErr: "read the service key"},
		{args: []string{"login", "--service-key", secret}, wantErr: "it is not JSON"},
		{args: []string{"login", "--profile", "env", "--service-key", key}, wantErr: `the profile name "env" is kept for the environment variables`},
		{args: []string{"login", "--profile", "../x", "--service-key", key}, wantErr: "--profile: "},
		{args: []string{"login", "--service-key", httpKey}, wantErr: "uses plain http: only https is allowed, except to localhost"},
		{args: []string{"login", "--service-key", key, "--certificate-authority", noPEM}, wantErr: "its certificate authority holds no PEM certificate"},
	})
}
