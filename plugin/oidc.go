package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	cliprinters "k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/actionstoken"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/kubeconfig"
	"github.com/kubectl-kyma/kubectl-kyma/internal/oidctrust"
	"github.com/kubectl-kyma/kubectl-kyma/internal/printers"
)

// madeByOIDC marks the bindings the oidc commands make to reach the cluster.
const madeByOIDC = "oidc"

// NewCmdOIDC builds `kubectl kyma oidc`, the group of trust commands.
func NewCmdOIDC(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "oidc",
		Short: "Let CI jobs reach an environment's cluster with their own OIDC identity: no binding, no secret",
		Long: `A trust makes the cluster accept the ID tokens a CI provider gives a repository's jobs
(an OpenIDConnect resource, served on Kyma by Gardener's OIDC webhook authenticator),
and binds a role to the user they map to. The job's kubeconfig runs
'kubectl-kyma credential --oidc github', which needs no profile, no binding and no
client secret: a fleet of runners never meets KEB's limit of ten bindings.`,
	}
	cmd.AddCommand(NewCmdOIDCTrust(f, nil), NewCmdOIDCList(f, nil), NewCmdOIDCUntrust(f, nil))
	return cmd
}

// OIDCTrustOptions is `kubectl kyma oidc trust`.
type OIDCTrustOptions struct {
	IO     genericiooptions.IOStreams
	access clusterAccess

	Arg            string
	Trust          oidctrust.Trust
	IssuerCA       string
	ClusterRole    string
	Role           string
	Namespace      string
	RequiredClaims []string
	OutputFile     string
	// Job is how the CI job of --output-file gets its token: --oidc, --token-env,
	// --token-file; Validate settles its Source.
	Job    credential.OIDC
	DryRun bool
	Output string
	// GitHubAPIURL is where the repository's ids are looked up when no
	// --repository-id is given: --github-api-url, else $GITHUB_API_URL (set in every
	// GitHub Actions job), else GitHub's own API for GitHub's issuer. Empty when no
	// look-up is due.
	GitHubAPIURL string
	// apiFlag is --github-api-url as given.
	apiFlag string
}

// NewCmdOIDCTrust builds `oidc trust`; runF, when set, replaces Run (a flags test).
func NewCmdOIDCTrust(f *Factory, runF func(*OIDCTrustOptions) error) *cobra.Command {
	o := &OIDCTrustOptions{}
	cmd := &cobra.Command{
		Use:   "trust NAME|ID --repository OWNER/REPO [--repository-id ID --repository-owner-id ID | --name-only] (--clusterrole R [--namespace NS] | --role R --namespace NS)",
		Short: "Make the environment's cluster accept a repository's CI ID tokens, with a role",
		Long: `Create or update, on the environment's cluster, an OpenIDConnect resource that accepts
the issuer's ID tokens whose repository claim is OWNER/REPO and whose audience is the
cluster's API server URL, and a ClusterRoleBinding (or a RoleBinding with --namespace)
for the user they map to: the issuer's URL, '#' and the repository. Trusting the same
repository again replaces its trust.

A name is not enough: GitHub gives a deleted or renamed repository's name (or its
owner's) to whoever takes it next, and their jobs' tokens carry the same repository
claim. So the trust also requires the immutable ids every token carries,
repository_id and repository_owner_id. Without --repository-id and
--repository-owner-id they are looked up in GitHub's REST API (GET /repos/OWNER/REPO;
GH_TOKEN or GITHUB_TOKEN for a private repository; --github-api-url or
$GITHUB_API_URL for GitHub Enterprise Server). For GitLab (--repository-claim
project_path) the ids are the project's and its namespace's (project_id,
namespace_id), given with the same flags. --name-only trusts the name alone.
Re-running trust with the ids pins a trust made by name only, in place.

The audience is always the cluster's URL, never a choice: a token for this cluster is
good at no other, and the credential helper asks for a token of the URL it is about to
call, so a kubeconfig pointed at another server gets nothing this cluster accepts.

The cluster is reached through a binding made for the purpose and deleted afterwards.
--output-file writes the kubeconfig the CI job uses: the cluster's server and CA and a
user that runs 'kubectl-kyma credential --oidc github' (for another issuer, say where the
job finds its token: --token-env VAR for GitLab, --token-file PATH). It holds no secret:
check it in.`,
		Example: `  kubectl kyma oidc trust my-kyma --repository example/app --role deployer --namespace apps --required-claim ref=refs/heads/main --output-file ci.kubeconfig
  kubectl kyma oidc trust my-kyma --repository example/app --repository-id 74 --repository-owner-id 65 --clusterrole view
  kubectl kyma oidc trust my-kyma --repository group/project --repository-id 20 --repository-owner-id 72 --issuer https://gitlab.com --repository-claim project_path --clusterrole edit --namespace apps --token-env KYMA_ID_TOKEN --output-file ci.kubeconfig`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeEnvironments(f),
		RunE:              runE(f, o, runF),
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Trust.Repository, "repository", "", "the repository whose jobs may reach the cluster: OWNER/REPO (GitLab: GROUP/PROJECT)")
	fl.StringVar(&o.Trust.Issuer, "issuer", oidctrust.GitHubIssuer, "the ID tokens' issuer URL")
	fl.StringVar(&o.IssuerCA, "issuer-ca", "", "a PEM file of the CA that signs the issuer's TLS certificate, when the system's roots do not")
	fl.StringVar(&o.Trust.RepositoryID, "repository-id", "", "the repository's immutable id (GitLab: the project's), required as the repository_id (project_id) claim; looked up on GitHub when not given")
	fl.StringVar(&o.Trust.OwnerID, "repository-owner-id", "", "the immutable id of the repository's owner (GitLab: the project's namespace), required as the repository_owner_id (namespace_id) claim")
	fl.BoolVar(&o.Trust.NameOnly, "name-only", false, "trust the repository by its name alone, without its ids: whatever repository holds the name, now or later")
	fl.StringVar(&o.apiFlag, "github-api-url", "", "the GitHub REST API that the repository's ids are looked up in (default $GITHUB_API_URL, else "+oidctrust.GitHubAPIURL+" for GitHub's issuer)")
	fl.StringVar(&o.Trust.RepositoryClaim, "repository-claim", oidctrust.DefaultRepositoryClaim, "the token claim that names the repository (GitLab: project_path)")
	fl.StringVar(&o.ClusterRole, "clusterrole", "", "the ClusterRole to bind: cluster-wide, or in --namespace")
	fl.StringVar(&o.Role, "role", "", "the Role to bind in --namespace")
	fl.StringVar(&o.Namespace, "namespace", "", "bind the role in this namespace only")
	fl.StringArrayVar(&o.RequiredClaims, "required-claim", nil, "a further claim the tokens must carry, CLAIM=VALUE (as ref=refs/heads/main); repeatable")
	fl.StringVar(&o.OutputFile, "output-file", "", "write the CI job's kubeconfig to this file")
	fl.StringVar(&o.Job.Source, credential.FlagOIDC, "", "with --output-file: how the job gets its token: github (GitHub's issuer: the default), gitlab (a variable, --token-env) or file (--token-file)")
	fl.StringVar(&o.Job.TokenEnv, credential.FlagTokenEnv, "", "with --output-file: the variable GitLab's id_tokens puts the job's token in (implies --oidc gitlab)")
	fl.StringVar(&o.Job.TokenFile, credential.FlagTokenFile, "", "with --output-file: the file that holds the job's token (implies --oidc file)")
	fl.BoolVar(&o.DryRun, "dry-run", false, "print the resources instead of applying them (-o yaml or json)")
	fl.StringVarP(&o.Output, "output", "o", "", "with --dry-run: yaml or json")
	return cmd
}

// Complete takes the streams and the way to the cluster, and reads the argument, the
// role flags and the issuer's CA.
func (o *OIDCTrustOptions) Complete(f *Factory, args []string) error {
	o.IO, o.access, o.Arg = f.IOStreams, clusterAccessOf(f), args[0]
	switch {
	case o.Role != "":
		o.Trust.Role = oidctrust.Role{Kind: "Role", Name: o.Role, Namespace: o.Namespace}
	case o.ClusterRole != "":
		o.Trust.Role = oidctrust.Role{Kind: "ClusterRole", Name: o.ClusterRole, Namespace: o.Namespace}
	}
	claims, err := oidctrust.ParseClaims(o.RequiredClaims)
	if err != nil {
		return err
	}
	o.Trust.RequiredClaims = claims
	if o.IssuerCA != "" {
		if o.Trust.CABundle, err = os.ReadFile(o.IssuerCA); err != nil {
			return fmt.Errorf("read --issuer-ca: %w", err)
		}
	}
	o.GitHubAPIURL = o.apiFlag
	if o.GitHubAPIURL == "" {
		o.GitHubAPIURL = os.Getenv("GITHUB_API_URL")
	}
	return nil
}

// lookUp says whether the repository's ids are to be looked up on GitHub: none given,
// not --name-only, and GitHub's repository claim.
func (o *OIDCTrustOptions) lookUp() bool {
	t := o.Trust
	return t.RepositoryID == "" && t.OwnerID == "" && !t.NameOnly && (t.RepositoryClaim == "" || t.RepositoryClaim == oidctrust.DefaultRepositoryClaim)
}

// isGitHubIssuer says whether issuer is GitHub's, or a GitHub Enterprise Cloud
// issuer below it.
func isGitHubIssuer(issuer string) bool {
	return issuer == "" || issuer == oidctrust.GitHubIssuer || strings.HasPrefix(issuer, oidctrust.GitHubIssuer+"/")
}

// Validate checks the flags before any network call.
func (o *OIDCTrustOptions) Validate() error {
	if o.Role != "" && o.ClusterRole != "" {
		return errors.New("give --role or --clusterrole, not both")
	}
	if o.Output != "" && !o.DryRun {
		return errors.New("-o goes with --dry-run: it prints the resources instead of applying them")
	}
	if o.DryRun && o.Output != "yaml" && o.Output != "json" {
		return errors.New("--dry-run prints the resources: add -o yaml or -o json")
	}
	if o.DryRun && o.OutputFile != "" {
		return errors.New("--dry-run writes no --output-file")
	}
	job, err := jobSource(o.Job, o.Trust.Issuer, o.OutputFile != "")
	if err != nil {
		return err
	}
	o.Job = job
	t := o.Trust
	t.Audience = "-" // the cluster's URL, known once it is reached
	if o.lookUp() {
		t.RepositoryID, t.OwnerID = "1", "1" // looked up in Run, before the cluster is reached
	}
	if err := t.Validate(); err != nil {
		return err
	}
	switch {
	case !o.lookUp() && o.apiFlag != "":
		return errors.New("--github-api-url is where the repository's ids are looked up: drop it when --repository-id and --repository-owner-id (or --name-only) are given")
	case !o.lookUp():
		o.GitHubAPIURL = ""
	case o.GitHubAPIURL == "" && isGitHubIssuer(t.Issuer):
		o.GitHubAPIURL = oidctrust.GitHubAPIURL
	case o.GitHubAPIURL == "":
		return fmt.Errorf("the issuer %s is not GitHub's, so say where %s's ids come from: --github-api-url https://HOST/api/v3 (GitHub Enterprise Server), --repository-id and --repository-owner-id, or --name-only", t.Issuer, t.Repository)
	}
	return nil
}

// githubToken is the token the ids are looked up with, as GitHub's CLI reads it.
func githubToken() string {
	if t := os.Getenv("GH_TOKEN"); t != "" {
		return t
	}
	return os.Getenv("GITHUB_TOKEN")
}

// Run looks up the repository's ids (when not given), reaches the cluster, applies (or
// prints) the trust and writes the kubeconfig.
func (o *OIDCTrustOptions) Run(ctx context.Context) error {
	t := o.Trust
	if o.lookUp() {
		var err error
		api := oidctrust.GitHubAPI{BaseURL: o.GitHubAPIURL, Token: githubToken()}
		if t.RepositoryID, t.OwnerID, err = api.RepositoryIDs(ctx, t.Repository); err != nil {
			return err
		}
	}
	return o.access.with(ctx, o.Arg, func(env target, kc *binding.Kubeconfig, dyn dynamic.Interface) error {
		aud, err := oidctrust.ClusterAudience(kc.Server)
		if err != nil {
			return err
		}
		t.Audience = aud
		out := o.IO.Out
		if o.DryRun {
			var p cliprinters.ResourcePrinter = &cliprinters.JSONPrinter{}
			if o.Output == "yaml" {
				p = &cliprinters.YAMLPrinter{}
			}
			list := map[string]any{"apiVersion": "v1", "kind": "List", "items": []any{t.OpenIDConnect().Object, t.Binding().Object}}
			return p.PrintObj(&unstructured.Unstructured{Object: list}, out)
		}
		if err := (oidctrust.Client{Dynamic: dyn}).Apply(ctx, t); err != nil {
			return fmt.Errorf("trust %s on %s: %w", t.Repository, env.Name, err)
		}
		fmt.Fprintf(out, "%s trusts %s: ID tokens of %s for audience %s act as user %q with %s.\n", env.Name, t.Repository, t.Issuer, t.Audience, t.Username(), t.Role)
		if repoClaim, ownerClaim, ok := oidctrust.IDClaims(t.RepositoryClaim); ok && t.RepositoryID != "" {
			fmt.Fprintf(out, "Pinned to %s %s and %s %s: a repository made later under the same name is refused.\n", repoClaim, t.RepositoryID, ownerClaim, t.OwnerID)
		} else {
			fmt.Fprintf(o.IO.ErrOut, "warning: the trust of %s is by name only: a repository that takes the name later (after a delete or rename) is let in too\n", t.Repository)
		}
		if o.OutputFile == "" {
			return nil
		}
		if err := writeOIDCKubeconfig(o.OutputFile, "kyma-"+env.Name, kc, o.Job); err != nil {
			return err
		}
		fmt.Fprintf(out, "Wrote the CI kubeconfig to %s (no secret in it).\n", o.OutputFile)
		return nil
	})
}

// jobSource settles how the job of an --output-file kubeconfig gets its token:
// --token-file means a file, --token-env a GitLab variable, and GitHub's issuer (or a
// GitHub Enterprise Cloud issuer below it) the runner's token service. Any other
// issuer must be told: writing `--oidc github` for it, as if every issuer were
// GitHub's, gives a job that asks a token service it does not have.
func jobSource(job credential.OIDC, issuer string, outputFile bool) (credential.OIDC, error) {
	if !outputFile {
		if job != (credential.OIDC{}) {
			return job, errors.New("--oidc, --token-env and --token-file say what --output-file writes: add --output-file FILE")
		}
		return job, nil
	}
	if job.Source == "" {
		switch {
		case job.TokenFile != "":
			job.Source = credential.OIDCFile
		case job.TokenEnv != "":
			job.Source = credential.OIDCGitLab
		case issuer == "" || issuer == oidctrust.GitHubIssuer || strings.HasPrefix(issuer, oidctrust.GitHubIssuer+"/"):
			job.Source = credential.OIDCGitHub
		default:
			return job, fmt.Errorf("--output-file: the issuer %s is not GitHub's, so say where the job finds its token: --token-env VAR (GitLab's id_tokens), --token-file PATH, or --oidc github for a GitHub Actions token service", issuer)
		}
	}
	return job, job.Check()
}

// OIDCListOptions is `kubectl kyma oidc list`.
type OIDCListOptions struct {
	IO     genericiooptions.IOStreams
	access clusterAccess

	Arg string
	printers.Flags
}

// NewCmdOIDCList builds `oidc list`; runF, when set, replaces Run.
func NewCmdOIDCList(f *Factory, runF func(*OIDCListOptions) error) *cobra.Command {
	o := &OIDCListOptions{}
	cmd := &cobra.Command{
		Use:               "list NAME|ID",
		Short:             "List the environment's cluster's OIDC trusts: repository, whether pinned by its ids, issuer, audience, role, the user they act as",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeEnvironments(f),
		RunE:              runE(f, o, runF),
	}
	o.AddFlags(cmd)
	return cmd
}

// Complete takes the streams, the way to the cluster and the argument.
func (o *OIDCListOptions) Complete(f *Factory, args []string) error {
	o.IO, o.access, o.Arg = f.IOStreams, clusterAccessOf(f), args[0]
	return nil
}

// Validate checks -o before any network call.
func (o *OIDCListOptions) Validate() error { return o.Flags.Validate() }

// Run lists the trusts.
func (o *OIDCListOptions) Run(ctx context.Context) error {
	return o.access.with(ctx, o.Arg, func(env target, kc *binding.Kubeconfig, dyn dynamic.Interface) error {
		aud, err := oidctrust.ClusterAudience(kc.Server)
		if err != nil {
			return err
		}
		trusts, err := oidctrust.Client{Dynamic: dyn}.List(ctx, aud)
		if err != nil {
			return err
		}
		l := printers.Listing{Kind: "OIDCTrust", Columns: []metav1.TableColumnDefinition{
			printers.Column("REPOSITORY", false), printers.Column("PINNED", false), printers.Column("ISSUER", false), printers.Column("AUDIENCE", false), printers.Column("ROLE", false),
			printers.Column("USERNAME", false), printers.Column("PREFIX", true), printers.Column("NAME", true)}}
		for _, t := range trusts {
			raw, err := json.Marshal(t)
			if err != nil {
				return err
			}
			role := strings.Join(t.Roles, ", ")
			if role == "" {
				role = "<none>"
			}
			l.Items = append(l.Items, raw)
			user := t.Username
			if user == "" {
				user = "<none>" // no repository claim: not a trust of a repository
			}
			pinned := "ids"
			if !t.Pinned {
				pinned = "name only"
			}
			l.Rows = append(l.Rows, []any{t.Repository, pinned, t.Issuer, t.Audience, role, user, fmt.Sprintf("%q", t.UsernamePrefix), t.Name})
			l.Names = append(l.Names, t.Name)
			if !t.Bound {
				fmt.Fprintf(o.IO.ErrOut, "warning: the trust %s of %s accepts audience %q, not this cluster's URL %s: not bound to this cluster; re-run 'kubectl kyma oidc trust %s --repository %s ...'\n",
					t.Name, t.Repository, t.Audience, aud, env.Name, t.Repository)
			}
			if !t.Pinned && t.Repository != "" {
				fmt.Fprintf(o.IO.ErrOut, "warning: the trust %s of %s is pinned by name only: a repository that takes the name later is let in too; re-run 'kubectl kyma oidc trust %s --repository %s ...' to pin its ids\n",
					t.Name, t.Repository, env.Name, t.Repository)
			}
		}
		return o.Print(o.IO.Out, o.IO.ErrOut, l)
	})
}

// OIDCUntrustOptions is `kubectl kyma oidc untrust`.
type OIDCUntrustOptions struct {
	IO     genericiooptions.IOStreams
	access clusterAccess

	Arg        string
	Repository string
	Issuer     string
}

// NewCmdOIDCUntrust builds `oidc untrust`; runF, when set, replaces Run.
func NewCmdOIDCUntrust(f *Factory, runF func(*OIDCUntrustOptions) error) *cobra.Command {
	o := &OIDCUntrustOptions{}
	cmd := &cobra.Command{
		Use:   "untrust NAME|ID --repository OWNER/REPO [--issuer URL]",
		Short: "Remove a repository's trust: its OpenIDConnect resource and role binding",
		Long: `Delete the repository's OpenIDConnect resource (its tokens are refused within the
authenticator's cache time, seconds) and its role binding. A repository trusted with
several issuers needs --issuer to say which trust goes.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeEnvironments(f),
		RunE:              runE(f, o, runF),
	}
	cmd.Flags().StringVar(&o.Repository, "repository", "", "the repository whose trust goes: OWNER/REPO")
	cmd.Flags().StringVar(&o.Issuer, "issuer", "", "the issuer of the trust that goes (default: the repository's only one)")
	return cmd
}

// Complete takes the streams, the way to the cluster and the argument.
func (o *OIDCUntrustOptions) Complete(f *Factory, args []string) error {
	o.IO, o.access, o.Arg = f.IOStreams, clusterAccessOf(f), args[0]
	return nil
}

// Validate checks --repository before any network call.
func (o *OIDCUntrustOptions) Validate() error { return oidctrust.CheckRepository(o.Repository) }

// Run deletes the trust.
func (o *OIDCUntrustOptions) Run(ctx context.Context) error {
	return o.access.with(ctx, o.Arg, func(env target, _ *binding.Kubeconfig, dyn dynamic.Interface) error {
		gone, err := oidctrust.Client{Dynamic: dyn}.Delete(ctx, o.Issuer, o.Repository)
		for _, g := range gone {
			fmt.Fprintf(o.IO.Out, "%s deleted\n", g)
		}
		if err != nil {
			return fmt.Errorf("untrust %s on %s: %w", o.Repository, env.Name, err)
		}
		return nil
	})
}

// clusterAccess reaches an environment's cluster through a binding made for one
// command and deleted when it is done.
type clusterAccess struct {
	bindings func() (binding.Service, error)
	envs     environments
	limit    madeHere
	record   func(envID, bindingID, kind string)
	errOut   io.Writer
}

// clusterAccessOf takes the factory's binding service, environments and made record,
// lazily.
func clusterAccessOf(f *Factory) clusterAccess {
	return clusterAccess{bindings: f.Bindings, envs: environmentsOf(f), limit: madeHereOf(f), errOut: f.IOStreams.ErrOut,
		record: func(envID, bindingID, kind string) { recordMade(f, envID, bindingID, kind) }}
}

// with runs fn with a dynamic client on the environment's cluster, through a binding
// made for it and deleted when fn returns (noted in the made record first, so that
// `kubectl kyma gc` finds it should the deletion fail).
func (a clusterAccess) with(ctx context.Context, arg string, fn func(target, *binding.Kubeconfig, dynamic.Interface) error) (err error) {
	env, err := a.envs.resolve(ctx, arg)
	if err != nil {
		return err
	}
	svc, err := a.bindings()
	if err != nil {
		return err
	}
	createCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	b, err := svc.Create(createCtx, env.ID, 0)
	cancel()
	if err != nil {
		return a.limit.explainLimit(ctx, svc, env, fmt.Errorf("bind %q to reach its cluster: %w", env.Name, err))
	}
	a.record(env.ID, b.ID, madeByOIDC)
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		derr := svc.Delete(dctx, env.ID, b.ID)
		if derr != nil && !errors.Is(derr, binding.ErrNotFound) && !errors.Is(derr, binding.ErrExpired) {
			derr = fmt.Errorf("delete binding %s: %w; retry with 'kubectl kyma gc %s'", b.ID, derr, env.Name)
			if err == nil {
				err = derr
			} else {
				fmt.Fprintf(a.errOut, "error: %v\n", derr)
			}
		}
	}()
	kc, err := binding.ParseKubeconfig(b.Kubeconfig)
	if err != nil {
		return fmt.Errorf("binding %s: %w", b.ID, err)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig([]byte(b.Kubeconfig))
	if err != nil {
		return fmt.Errorf("binding %s: its kubeconfig: %w", b.ID, err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("a client for the cluster: %w", err)
	}
	return fn(env, kc, dyn)
}

// writeOIDCKubeconfig writes a kubeconfig whose user runs the credential plugin with
// oidc: the cluster's server and CA, no secret.
func writeOIDCKubeconfig(path, name string, kc *binding.Kubeconfig, oidc credential.OIDC) error {
	cluster := &clientcmdapi.Cluster{Server: kc.Server, CertificateAuthorityData: kc.CAData, TLSServerName: kc.TLSServerName}
	_, err := kubeconfig.Target{Standalone: path}.Write(kubeconfig.New(name, cluster, &clientcmdapi.AuthInfo{Exec: oidcExecConfig(oidc)}))
	return err
}

// oidcExecConfig is the user stanza of a CI job's kubeconfig. It names no audience:
// the helper takes the cluster's URL that kubectl gives it (provideClusterInfo) as the
// token's audience, as every trust's (oidctrust.ClusterAudience), so a kubeconfig
// whose server is changed carries no token this cluster accepts to that server.
func oidcExecConfig(oidc credential.OIDC) *clientcmdapi.ExecConfig {
	oidc.Audience = ""
	args := append([]string{"credential"}, credential.Args{OIDC: oidc}.Render()...)
	return &clientcmdapi.ExecConfig{
		APIVersion:         "client.authentication.k8s.io/v1",
		Command:            execCommand,
		Args:               args,
		InteractiveMode:    clientcmdapi.NeverExecInteractiveMode,
		ProvideClusterInfo: true,
		InstallHint: `kubectl-kyma is not installed: install it with
  kubectl krew install kyma`,
	}
}

// runOIDC is `credential --oidc` when the front could not answer: a GitHub token
// fetched from the runner's token service under the entry's lock, or the error that
// explains why there is no token. No profile and no binding take part.
func (o *CredentialOptions) runOIDC(ctx context.Context) error {
	info, err := credential.ParseExecInfo(o.ExecInfo)
	if err != nil {
		return err
	}
	dir, err := o.CacheDir()
	if err != nil {
		return err
	}
	in := credential.ReadOIDCEnv(o.Args.OIDC, os.LookupEnv)
	in.ExecInfo, in.Clock, in.Stderr = info, o.Clock, o.IO.ErrOut
	cache := credential.OIDCCache{Dir: credential.OIDCDir(dir, os.LookupEnv)}
	fetcher := actionstoken.Fetcher{AllowHost: os.Getenv(actionstoken.EnvAllowHost)}
	fetch := func(ctx context.Context, requestURL, requestToken, audience string) (string, error) {
		// Checked only before a fetch: a hit sends the request token nowhere.
		if err := actionstoken.CheckEnv(os.LookupEnv); err != nil {
			return "", err
		}
		return fetcher.Fetch(ctx, requestURL, requestToken, audience)
	}
	switch {
	case o.LockFD > 0:
		return cache.DoHolding(ctx, in, fetch, os.NewFile(uintptr(o.LockFD), "lock"), o.IO.Out)
	case o.LockHeld:
		return cache.DoHolding(ctx, in, fetch, nil, o.IO.Out)
	}
	return cache.Do(ctx, in, fetch, o.IO.Out)
}
