package plugin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
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
