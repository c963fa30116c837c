package plugin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/oidctrust"
)

// runOIDC runs `oidc ARGS...` with the subcommand built by build, whose runF captures
// the options instead of running.
func runOIDC(t *testing.T, args []string, build func(f *Factory) *cobra.Command) error {
	t.Helper()
	f := NewFactory(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &strings.Builder{}, ErrOut: &strings.Builder{}})
	oidc := &cobra.Command{Use: "oidc"}
	oidc.AddCommand(build(f))
	root := &cobra.Command{Use: "kubectl-kyma", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(oidc)
	root.SetArgs(append([]string{"oidc"}, args...))
	root.SetOut(&strings.Builder{})
	return root.Execute()
}

func TestOIDCTrustFlags(t *testing.T) {
	t.Setenv("GITHUB_API_URL", "") // as outside a GitHub Actions job
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, []byte("PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args    []string
		want    *OIDCTrustOptions
		wantErr string
	}{
		{args: []string{"trust", "my-kyma", "--repository", "example/app", "--clusterrole", "view", "--output-file", "ci.kubeconfig"},
			want: &OIDCTrustOptions{Arg: "my-kyma", ClusterRole: "view", OutputFile: "ci.kubeconfig", Job: credential.OIDC{Source: "github"}, Trust: oidctrust.Trust{
				Repository: "example/app", Issuer: oidctrust.GitHubIssuer, RepositoryClaim: "repository",
				RequiredClaims: map[string]string{}, Role: oidctrust.Role{Kind: "ClusterRole", Name: "view"}},
				GitHubAPIURL: oidctrust.GitHubAPIURL}}, // the ids are looked up on GitHub
		{args: []string{"trust", "my-kyma", "--repository", "example/app", "--role", "deployer", "--namespace", "apps",
			"--issuer", "https://127.0.0.1:8443/oidc", "--issuer-ca", ca, "--required-claim", "ref=refs/heads/main",
			"--repository-id", "74", "--repository-owner-id", "65", "--dry-run", "-o", "yaml"},
			want: &OIDCTrustOptions{Arg: "my-kyma", Role: "deployer", Namespace: "apps", IssuerCA: ca, DryRun: true, Output: "yaml",
				RequiredClaims: []string{"ref=refs/heads/main"}, Trust: oidctrust.Trust{
					Repository: "example/app", Issuer: "https://127.0.0.1:8443/oidc", RepositoryClaim: "repository", RepositoryID: "74", OwnerID: "65",
					CABundle: []byte("PEM"), RequiredClaims: map[string]string{"ref": "refs/heads/main"},
					Role: oidctrust.Role{Kind: "Role", Name: "deployer", Namespace: "apps"}}}},
		// GitLab's issuer: the job reads its token from the variable id_tokens fills.
		{args: []string{"trust", "my-kyma", "--repository", "group/sub/project", "--issuer", "https://gitlab.com", "--repository-claim", "project_path",
			"--repository-id", "20", "--repository-owner-id", "72", "--clusterrole", "edit", "--token-env", "KYMA_ID_TOKEN", "--output-file", "ci.kubeconfig"},
			want: &OIDCTrustOptions{Arg: "my-kyma", ClusterRole: "edit", OutputFile: "ci.kubeconfig", Job: credential.OIDC{Source: "gitlab", TokenEnv: "KYMA_ID_TOKEN"},
				Trust: oidctrust.Trust{Repository: "group/sub/project", Issuer: "https://gitlab.com", RepositoryClaim: "project_path", RepositoryID: "20", OwnerID: "72",
					RequiredClaims: map[string]string{}, Role: oidctrust.Role{Kind: "ClusterRole", Name: "edit"}}}},
		{args: []string{"trust", "my-kyma", "--repository", "example/app", "--issuer", "https://ci.example", "--clusterrole", "view", "--token-file", "/var/run/token", "--output-file", "ci.kubeconfig", "--name-only"},
			want: &OIDCTrustOptions{Arg: "my-kyma", ClusterRole: "view", OutputFile: "ci.kubeconfig", Job: credential.OIDC{Source: "file", TokenFile: "/var/run/token"},
				Trust: oidctrust.Trust{Repository: "example/app", Issuer: "https://ci.example", RepositoryClaim: "repository", NameOnly: true,
					RequiredClaims: map[string]string{}, Role: oidctrust.Role{Kind: "ClusterRole", Name: "view"}}}},
		// A GitHub Enterprise Server's issuer is no GitHub URL: --oidc github says it is one.
		// ... and its ids are looked up in its own API.
		{args: []string{"trust", "my-kyma", "--repository", "example/app", "--issuer", "https://ghe.example/_services/token", "--clusterrole", "view", "--oidc", "github", "--output-file", "ci.kubeconfig",
			"--github-api-url", "https://ghe.example/api/v3"},
			want: &OIDCTrustOptions{Arg: "my-kyma", ClusterRole: "view", OutputFile: "ci.kubeconfig", Job: credential.OIDC{Source: "github"},
				Trust: oidctrust.Trust{Repository: "example/app", Issuer: "https://ghe.example/_services/token", RepositoryClaim: "repository",
					RequiredClaims: map[string]string{}, Role: oidctrust.Role{Kind: "ClusterRole", Name: "view"}},
				GitHubAPIURL: "https://ghe.example/api/v3", apiFlag: "https://ghe.example/api/v3"}},
		// The ids: a GitHub Enterprise Server issuer needs its API named, or the ids given.
		{args: []string{"trust", "my-kyma", "--repository", "example/app", "--issuer", "https://ghe.example/_services/token", "--clusterrole", "view"},
			wantErr: "the issuer https://ghe.example/_services/token is not GitHub's, so say where example/app's ids come from: --github-api-url"},
		{args: []string{"trust", "my-kyma", "--repository", "example/app", "--clusterrole", "view", "--repository-id", "74"}, wantErr: "give both --repository-id and --repository-owner-id"},
		{args: []string{"trust", "my-kyma", "--repository", "example/app", "--clusterrole", "view", "--repository-id", "74", "--repository-owner-id", "sixty-five"},
			wantErr: "--repository-owner-id must be a positive decimal number"},
		{args: []string{"trust", "my-kyma", "--repository", "example/app", "--clusterrole", "view", "--repository-id", "74", "--repository-owner-id", "65", "--name-only"},
			wantErr: "--name-only trusts the repository by its name alone"},
		{args: []string{"trust", "my-kyma", "--repository", "example/app", "--clusterrole", "view", "--name-only", "--github-api-url", "https://ghe.example/api/v3"},
			wantErr: "drop it when --repository-id"},
		{args: []string{"trust", "my-kyma", "--repository", "group/project", "--issuer", "https://gitlab.com", "--repository-claim", "project_path", "--clusterrole", "view"},
			wantErr: "pass --repository-id PROJECT_ID and --repository-owner-id NAMESPACE_ID"},
		{args: []string{"trust", "my-kyma", "--repository", "group/project", "--issuer", "https://gitlab.com", "--clusterrole", "view", "--output-file", "ci.kubeconfig"},
			wantErr: "--output-file: the issuer https://gitlab.com is not GitHub's, so say where the job finds its token: --token-env VAR"},
		{args: []string{"trust", "my-kyma", "--repository", "group/project", "--issuer", "https://gitlab.com", "--clusterrole", "view", "--token-env", "V"},
			wantErr: "add --output-file FILE"},
		{args: []string{"trust", "my-kyma", "--repository", "example/app", "--clusterrole", "view", "--oidc", "github", "--token-env", "V", "--output-file", "f"},
			wantErr: "drop --token-env"},
		{args: []string{"trust", "my-kyma", "--clusterrole", "view"}, wantErr: "--repository must be OWNER/REPO"},
		// The audience is the cluster's URL, never a choice (docs/wire.md).
		{args: []string{"trust", "my-kyma", "--repository", "example/app", "--clusterrole", "view", "--audience", "aud"}, wantErr: "unknown flag: --audience"},
		{args: []string{"trust", "my-kyma", "--repository", "example/app"}, wantErr: "--clusterrole R"},
		{args: []string{"trust", "my-kyma", "--repository", "example/app", "--role", "r"}, wantErr: "--role needs --namespace"},
		{args: []string{"trust", "my-kyma", "--repository", "example/app", "--role", "r", "--clusterrole", "c", "--namespace", "n"}, wantErr: "not both"},
		{args: []string{"trust", "my-kyma", "--repository", "example/app", "--clusterrole", "view", "--dry-run"}, wantErr: "-o yaml or -o json"},
		{args: []string{"trust", "my-kyma", "--repository", "example/app", "--clusterrole", "view", "-o", "yaml"}, wantErr: "-o goes with --dry-run"},
		{args: []string{"trust", "my-kyma", "--repository", "example/app", "--clusterrole", "view", "--issuer", "http://x"}, wantErr: "https URL"},
		{args: []string{"trust", "my-kyma", "--repository", "example/app", "--clusterrole", "view", "--required-claim", "ref"}, wantErr: "CLAIM=VALUE"},
		{args: []string{"trust", "my-kyma", "--repository", "example/app", "--clusterrole", "view", "--issuer-ca", "/nonexistent"}, wantErr: "read --issuer-ca"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var got *OIDCTrustOptions
			err := runOIDC(t, tc.args, func(f *Factory) *cobra.Command {
				return NewCmdOIDCTrust(f, func(o *OIDCTrustOptions) error { got = o; return nil })
			})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got, cmp.AllowUnexported(OIDCTrustOptions{}), cmp.FilterPath(func(p cmp.Path) bool { n := p.Last().String(); return n == ".IO" || n == ".access" }, cmp.Ignore())); d != "" {
				t.Errorf("options (-want +got):\n%s", d)
			}
		})
	}
}

func TestOIDCListAndUntrustFlags(t *testing.T) {
	var list *OIDCListOptions
	if err := runOIDC(t, []string{"list", "my-kyma", "-o", "json"}, func(f *Factory) *cobra.Command {
		return NewCmdOIDCList(f, func(o *OIDCListOptions) error { list = o; return nil })
	}); err != nil {
		t.Fatal(err)
	}
	if list.Arg != "my-kyma" || list.Output != "json" {
		t.Errorf("list options: %q -o %q", list.Arg, list.Output)
	}
	if err := runOIDC(t, []string{"list", "my-kyma", "-o", "xml"}, func(f *Factory) *cobra.Command {
		return NewCmdOIDCList(f, func(*OIDCListOptions) error { return nil })
	}); err == nil || !strings.Contains(err.Error(), "unknown output format") {
		t.Errorf("-o xml: %v", err)
	}

	var untrust *OIDCUntrustOptions
	if err := runOIDC(t, []string{"untrust", "my-kyma", "--repository", "example/app"}, func(f *Factory) *cobra.Command {
		return NewCmdOIDCUntrust(f, func(o *OIDCUntrustOptions) error { untrust = o; return nil })
	}); err != nil {
		t.Fatal(err)
	}
	if untrust.Arg != "my-kyma" || untrust.Repository != "example/app" || untrust.Issuer != "" {
		t.Errorf("untrust options: %q --repository %q --issuer %q", untrust.Arg, untrust.Repository, untrust.Issuer)
	}
	if err := runOIDC(t, []string{"untrust", "my-kyma", "--repository", "group/project", "--issuer", "https://gitlab.com"}, func(f *Factory) *cobra.Command {
		return NewCmdOIDCUntrust(f, func(o *OIDCUntrustOptions) error { untrust = o; return nil })
	}); err != nil || untrust.Issuer != "https://gitlab.com" {
		t.Errorf("untrust --issuer: %v, %q", err, untrust.Issuer)
	}
	if err := runOIDC(t, []string{"untrust", "my-kyma"}, func(f *Factory) *cobra.Command {
		return NewCmdOIDCUntrust(f, func(*OIDCUntrustOptions) error { return nil })
	}); err == nil || !strings.Contains(err.Error(), "--repository") {
		t.Errorf("untrust without --repository: %v", err)
	}
}

func TestOIDCKubeconfigRunsTheCredentialPluginAndHoldsNoSecret(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ci.kubeconfig")
	kc := &binding.Kubeconfig{Server: "https://api.example", CAData: []byte("CA"), Token: "binding-token"}
	if err := writeOIDCKubeconfig(path, "kyma-my", kc, credential.OIDC{Source: credential.OIDCGitHub, Audience: "https://evil.example"}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), "binding-token") {
		t.Fatal("the binding's token is in the CI kubeconfig")
	}
	cfg, err := clientcmd.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	c, u := cfg.Clusters["kyma-my"], cfg.AuthInfos["kyma-my"]
	if c == nil || c.Server != "https://api.example" || string(c.CertificateAuthorityData) != "CA" {
		t.Errorf("cluster %+v", c)
	}
	if u == nil || u.Exec == nil || u.Token != "" {
		t.Fatalf("user %+v", u)
	}
	if d := cmp.Diff([]string{"credential", "--oidc", "github"}, u.Exec.Args); d != "" {
		t.Errorf("exec args (-want +got):\n%s", d)
	}
	if u.Exec.Command != "kubectl-kyma" || !u.Exec.ProvideClusterInfo {
		t.Errorf("exec %+v", u.Exec)
	}

	// A GitLab job's: the token is in the variable id_tokens fills.
	if err := writeOIDCKubeconfig(path, "kyma-my", kc, credential.OIDC{Source: credential.OIDCGitLab, TokenEnv: "CI_KYMA_TOKEN"}); err != nil {
		t.Fatal(err)
	}
	cfg, err = clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"credential", "--oidc", "gitlab", "--token-env", "CI_KYMA_TOKEN"}, cfg.AuthInfos["kyma-my"].Exec.Args); d != "" {
		t.Errorf("exec args of a GitLab job (-want +got):\n%s", d)
	}
}

func TestKubeconfigOIDCWritesTheJobsUser(t *testing.T) {
	e := newTestEnv(t, newFakeBindings())
	path := filepath.Join(t.TempDir(), "ci.kubeconfig")
	if err := e.run("kubeconfig", "env-1", "--oidc", "gitlab", "--token-env", "MY_TOKEN", "--output-file", path); err != nil {
		t.Fatalf("%v\n%s", err, e.err)
	}
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u := cfg.AuthInfos[cfg.Contexts[cfg.CurrentContext].AuthInfo]
	if d := cmp.Diff([]string{"credential", "--oidc", "gitlab", "--token-env", "MY_TOKEN"}, u.Exec.Args); d != "" {
		t.Errorf("exec args (-want +got):\n%s", d)
	}
	if c := cfg.Clusters[cfg.Contexts[cfg.CurrentContext].Cluster]; c.Server != "https://127.0.0.1:1" {
		t.Errorf("server %q, want the binding's", c.Server)
	}

	// No audience: the helper takes the server kubectl calls.
	if err := e.run("kubeconfig", "env-1", "--oidc", "github", "--output-file", path); err != nil {
		t.Fatal(err)
	}
	cfg, _ = clientcmd.LoadFromFile(path)
	if d := cmp.Diff([]string{"credential", "--oidc", "github"}, cfg.AuthInfos[cfg.CurrentContext].Exec.Args); d != "" {
		t.Errorf("exec args (-want +got):\n%s", d)
	}

	for _, bad := range [][]string{
		{"kubeconfig", "env-1", "--oidc", "github", "--static"},
		{"kubeconfig", "env-1", "--oidc", "file"},
		{"kubeconfig", "env-1", "--oidc", "azure"},
		{"kubeconfig", "env-1", "--oidc", "github", "--audience", "https://127.0.0.1:1"},
	} {
		if err := e.run(bad...); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// In a GitHub Actions job, $GITHUB_API_URL names the API the ids are looked up in
// (a GitHub Enterprise Server's own); --github-api-url wins over it.
func TestOIDCTrustTakesTheJobsGitHubAPIURL(t *testing.T) {
	t.Setenv("GITHUB_API_URL", "https://ghe.example/api/v3")
	for flag, want := range map[string]string{"": "https://ghe.example/api/v3", "https://other.example/api/v3": "https://other.example/api/v3"} {
		args := []string{"trust", "my-kyma", "--repository", "example/app", "--issuer", "https://ghe.example/_services/token", "--clusterrole", "view"}
		if flag != "" {
			args = append(args, "--github-api-url", flag)
		}
		var got *OIDCTrustOptions
		if err := runOIDC(t, args, func(f *Factory) *cobra.Command {
			return NewCmdOIDCTrust(f, func(o *OIDCTrustOptions) error { got = o; return nil })
		}); err != nil {
			t.Fatal(err)
		}
		if got.GitHubAPIURL != want {
			t.Errorf("--github-api-url %q: the ids are looked up at %q, want %q", flag, got.GitHubAPIURL, want)
		}
	}
}
