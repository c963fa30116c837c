package plugin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/kubeconfig"
)

// The dry run through the command: nothing cached, nothing recorded, the binding made
// to learn the cluster deleted, no token printed.
func TestKubeconfigDryRun(t *testing.T) {
	svc := newFakeBindings()
	e := newTestEnv(t, svc)
	path := filepath.Join(t.TempDir(), "config")
	for _, static := range []bool{false, true} {
		args := []string{"kubeconfig", "env-1", "--kubeconfig", path, "--dry-run"}
		if static {
			args = append(args, "--static")
		}
		if err := e.run(args...); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		out := e.out.String()
		if !strings.Contains(out, "+current-context: kyma-env-1") || strings.Contains(out, "tok\n") {
			t.Errorf("%v printed:\n%s", args, out)
		}
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("the dry run wrote the kubeconfig")
	}
	if entries, _ := os.ReadDir(e.cache); len(entries) != 0 {
		t.Errorf("the dry run wrote to the cache: %v", entries)
	}
	if svc.MadeCount() != 2 || len(svc.LiveIDs()) != 0 {
		t.Errorf("made %d bindings, live %v: a dry run deletes the one it made", svc.MadeCount(), svc.LiveIDs())
	}
}

func TestKubeconfigFlags(t *testing.T) {
	testFlags(t, NewCmdKubeconfig, []flagsCase[KubeconfigOptions]{
		{args: []string{"kubeconfig", "prod"}, want: &KubeconfigOptions{Arg: "prod"}},
		{args: []string{"kubeconfig", "prod", "--kubeconfig", "k.yaml", "--context-name", "p", "--no-switch", "--dry-run"},
			want: &KubeconfigOptions{Arg: "prod", Kubeconfig: "k.yaml", ContextName: "p", NoSwitch: true, DryRun: true}},
		{args: []string{"kubeconfig", "prod", "--output-file", "kyma.yaml", "--expiration", "2h", "--refresh-margin", "5m", "--refresh-ahead", "0.9"},
			want: &KubeconfigOptions{Arg: "prod", OutputFile: "kyma.yaml", Expiration: expirationFlag{2 * time.Hour}, Margin: 5 * time.Minute, Ahead: 0.9}},
		{args: []string{"kubeconfig", "prod", "--static", "--expiration", "600"},
			want: &KubeconfigOptions{Arg: "prod", Static: true, Expiration: expirationFlag{10 * time.Minute}}},
		{args: []string{"kubeconfig", "prod", "--oidc", "gitlab", "--token-env", "CI_TOKEN", "--output-file", "ci.yaml"},
			want: &KubeconfigOptions{Arg: "prod", OutputFile: "ci.yaml", OIDC: credential.OIDC{Source: "gitlab", TokenEnv: "CI_TOKEN"}}},
		{args: []string{"kubeconfig", "prod", "--oidc", "github", "--static"}, wantErr: "--oidc writes a CI job's user, which makes no binding"},
		{args: []string{"kubeconfig"}, wantErr: "kubectl kyma kubeconfig takes NAME|ID, got 0 arguments"},
		{args: []string{"kubeconfig", "prod", "--kubeconfig", "a", "--output-file", "b"}, wantErr: "[kubeconfig output-file] were all set"},
		{args: []string{"kubeconfig", "prod", "--refresh-margin", "-1m"}, wantErr: "--refresh-margin must not be negative"},
		{args: []string{"kubeconfig", "prod", "--refresh-ahead", "0.3"}, wantErr: "--refresh-ahead"},
		{args: []string{"kubeconfig", "prod", "--static", "--refresh-margin", "1m"}, wantErr: "--refresh-margin goes with the exec credential, not --static"},
		{args: []string{"kubeconfig", "prod", "--expiration", "1m"}, wantErr: "a binding lives from 600 to 7200 seconds"},
	})
}

// build is the whole kubeconfig a run writes: the cluster of the entry, and a user that
// runs the credential helper with the flags it takes, or holds the token (--static),
// never the token of a dry run.
func TestKubeconfigBuild(t *testing.T) {
	env := target{ID: "env-1", Name: "prod"}
	entry := &credential.Entry{Server: "https://api.example", CAData: []byte("CA"), TLSServerName: "api.internal", Token: "tok"}
	cluster := &clientcmdapi.Cluster{Server: "https://api.example", CertificateAuthorityData: []byte("CA"), TLSServerName: "api.internal"}
	execUser := func(args ...string) *clientcmdapi.AuthInfo {
		return &clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{
			APIVersion:         "client.authentication.k8s.io/v1",
			Command:            "kubectl-kyma",
			Args:               append([]string{"credential", "--profile", "p", "--environment", "env-1"}, args...),
			InteractiveMode:    clientcmdapi.NeverExecInteractiveMode,
			ProvideClusterInfo: true,
			InstallHint:        "kubectl-kyma is not installed: install it with\n  kubectl krew install kyma\nand log in with 'kubectl kyma login --service-key FILE'.",
		}}
	}
	for _, tc := range []struct {
		name     string
		o        KubeconfigOptions
		wantName string
		wantUser *clientcmdapi.AuthInfo
	}{
		{"exec user", KubeconfigOptions{}, "kyma-prod", execUser()},
		{"exec user of a dry run", KubeconfigOptions{DryRun: true}, "kyma-prod", execUser()},
		{"context name and the credential's flags", KubeconfigOptions{ContextName: "p1", Expiration: expirationFlag{time.Hour}, Margin: 2 * time.Minute, Ahead: 0.9},
			"p1", execUser("--expiration", "3600", "--refresh-margin", "2m0s", "--refresh-ahead", "0.9")},
		{"static", KubeconfigOptions{Static: true}, "kyma-prod", &clientcmdapi.AuthInfo{Token: "tok"}},
		{"static dry run", KubeconfigOptions{Static: true, DryRun: true}, "kyma-prod", &clientcmdapi.AuthInfo{Token: "REDACTED"}},
		{"a CI job's user, for the cluster's audience", KubeconfigOptions{OIDC: credential.OIDC{Source: credential.OIDCGitHub}}, "kyma-prod",
			&clientcmdapi.AuthInfo{Exec: oidcExecConfig(credential.OIDC{Source: credential.OIDCGitHub}, "https://api.example")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name, got := tc.o.build("p", env, entry)
			want := kubeconfig.New(tc.wantName, cluster, tc.wantUser)
			if name != tc.wantName {
				t.Errorf("name %q, want %q", name, tc.wantName)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("kubeconfig (-want +got):\n%s", diff)
			}
		})
	}
}
