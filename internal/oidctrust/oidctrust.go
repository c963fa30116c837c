// Package oidctrust makes a cluster trust a CI repository's OIDC identity: an
// OpenIDConnect resource (authentication.gardener.cloud/v1alpha1, served on Kyma by
// Gardener's oidc-webhook-authenticator) that accepts the CI issuer's ID tokens for
// one repository, and a ClusterRoleBinding or RoleBinding that gives the user it maps
// them to a role. It builds, applies, lists and deletes those objects through a
// dynamic client.
//
// The OpenIDConnect fields (gardener/oidc-webhook-authenticator,
// apis/authentication/v1alpha1/openidconnect_types.go): cluster-scoped, plural
// openidconnects; spec.issuerURL (https only), spec.clientID (the audience; the newer
// spec.audiences must not be set beside it), spec.usernameClaim, spec.usernamePrefix
// (default "<name>/", "-" for none, never "system:..."), spec.requiredClaims (a map of
// claim to value), spec.caBundle (PEM, base64 in JSON). Kyma's own CLI
// (kyma-project/cli, internal/authorization) writes clientID, usernameClaim
// "repository" and requiredClaims {"repository": OWNER/REPO}, as this package does:
//
//	apiVersion: authentication.gardener.cloud/v1alpha1
//	kind: OpenIDConnect
//	metadata: {name: kubectl-kyma-example-app-62e228a4}
//	spec:
//	  issuerURL: https://token.actions.githubusercontent.com
//	  clientID: https://api.c-1a2b3c.kyma.ondemand.com
//	  usernameClaim: repository
//	  usernamePrefix: "https://token.actions.githubusercontent.com#"
//	  requiredClaims: {repository: example/app, repository_id: "74", repository_owner_id: "65"}
//
// A name alone is not an identity: GitHub lets a deleted or renamed repository's (or
// owner's) name be taken again, and the new holder's jobs get tokens with the same
// repository claim. So a trust also requires the immutable ids GitHub puts in every
// token (repository_id, repository_owner_id; GitLab's project_id, namespace_id),
// unless its maker opts out (NameOnly).
package oidctrust

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
)

// GitHubIssuer is the issuer of GitHub Actions ID tokens.
const GitHubIssuer = "https://token.actions.githubusercontent.com"

// DefaultRepositoryClaim is the claim that names the repository in a GitHub Actions
// token (GitLab's is project_path).
const DefaultRepositoryClaim = "repository"

// The resources this package works on.
var (
	OpenIDConnectGVR      = schema.GroupVersionResource{Group: "authentication.gardener.cloud", Version: "v1alpha1", Resource: "openidconnects"}
	ClusterRoleBindingGVR = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"}
	RoleBindingGVR        = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"}
	ClusterRoleGVR        = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}
	RoleGVR               = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"}
)

// Labels and annotations on the objects this package makes: the trust's name ties
// the binding to its OpenIDConnect resource, so untrust finds both.
const (
	LabelManagedBy       = "app.kubernetes.io/managed-by"
	ManagedBy            = "kubectl-kyma"
	LabelTrust           = "kubectl-kyma.io/oidc-trust"
	AnnotationRepository = "kubectl-kyma.io/repository"
)

// Role is what the repository may do: a ClusterRole cluster-wide (Namespace empty),
// or a ClusterRole or Role in one namespace.
type Role struct {
	// Kind is "ClusterRole" or "Role".
	Kind      string
	Name      string
	Namespace string
}

// String says it as `oidc list` shows it.
func (r Role) String() string {
	s := strings.ToLower(r.Kind) + " " + r.Name
	if r.Namespace != "" {
		s += " in " + r.Namespace
	}
	return s
}

// Trust is one repository's trust on one cluster.
type Trust struct {
	// Repository is OWNER/REPO (for GitLab, the project path GROUP/PROJECT).
	Repository string
	// Issuer is the token issuer's URL: GitHubIssuer when empty.
	Issuer string
	// Audience is the aud the tokens must carry (the OpenIDConnect clientID): always
	// ClusterAudience of the cluster's API server URL, so that a token for this
	// cluster is good at no other, and the credential helper, which asks for (or
	// checks) that same audience from the kubeconfig's server, never hands a token for
	// this cluster to another server.
	Audience string
	// RepositoryClaim is the claim that names the repository: DefaultRepositoryClaim
	// when empty. It is the username claim and a required claim.
	RepositoryClaim string
	// RequiredClaims are further claims a token must carry with these exact values.
	RequiredClaims map[string]string
	// RepositoryID and OwnerID are the repository's and its owner's immutable ids
	// (decimal), required as the claims IDClaims names, so that a repository made
	// later under a recycled name is not trusted.
	RepositoryID string
	OwnerID      string
	// NameOnly trusts the repository by its name alone, without the ids: whatever
	// repository holds the name, now or later.
	NameOnly bool
	// CABundle is the PEM the authenticator trusts the issuer's TLS certificate with,
	// for an issuer whose certificate the system's roots do not sign.
	CABundle []byte
	// Role is what the repository may do.
	Role Role
}

func (t Trust) issuer() string {
	if t.Issuer == "" {
		return GitHubIssuer
	}
	return t.Issuer
}

func (t Trust) claim() string {
	if t.RepositoryClaim == "" {
		return DefaultRepositoryClaim
	}
	return t.RepositoryClaim
}

// Validate checks the trust before anything reaches the cluster.
func (t Trust) Validate() error {
	if err := CheckRepository(t.Repository); err != nil {
		return err
	}
	u, err := url.Parse(t.issuer())
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("--issuer must be an https URL without query or fragment (the authenticator fetches its discovery document), not %q", t.Issuer)
	}
	if t.Audience == "" {
		return errors.New("the trust needs the cluster's API server URL as its audience")
	}
	if v, ok := t.RequiredClaims[t.claim()]; ok && v != t.Repository {
		return fmt.Errorf("--required-claim %s=%s contradicts --repository %s", t.claim(), v, t.Repository)
	}
	for k := range t.RequiredClaims {
		if k == "" {
			return errors.New("--required-claim needs a claim name: k=v")
		}
	}
	if err := t.validateIDs(); err != nil {
		return err
	}
	switch {
	case t.Role.Name == "":
		return errors.New("say what the repository may do: --clusterrole R [--namespace NS], or --role R --namespace NS")
	case t.Role.Kind == "Role" && t.Role.Namespace == "":
		return errors.New("--role needs --namespace: a Role lives in one namespace")
	case t.Role.Kind != "Role" && t.Role.Kind != "ClusterRole":
		return fmt.Errorf("a trust's role is a ClusterRole or a Role, not %q", t.Role.Kind)
	}
	return nil
}

// IDClaims are the claims that hold the immutable ids of the repository and of its
// owner in tokens whose repository claim is claim: GitHub's repository_id and
// repository_owner_id beside repository, GitLab's project_id and namespace_id beside
// project_path. ok is false for a claim of another issuer, whose ids this package
// does not know (--required-claim pins them).
func IDClaims(claim string) (repositoryID, ownerID string, ok bool) {
	switch claim {
	case DefaultRepositoryClaim:
		return "repository_id", "repository_owner_id", true
	case "project_path":
		return "project_id", "namespace_id", true
	}
	return "", "", false
}

// CheckID refuses an id that is not a positive decimal number, as GitHub's and
// GitLab's ids are (and as the tokens carry them: strings of digits).
func CheckID(flag, id string) error {
	ok := id != "" && len(id) <= 19 && id[0] != '0'
	for _, c := range id {
		ok = ok && c >= '0' && c <= '9'
	}
	if !ok {
		return fmt.Errorf("%s must be a positive decimal number, not %q", flag, id)
	}
	return nil
}

// validateIDs checks the ids: both or neither, numbers, not contradicted by
// --required-claim, and present unless NameOnly says to go without.
func (t Trust) validateIDs() error {
	repoClaim, ownerClaim, known := IDClaims(t.claim())
	given := t.RepositoryID != "" || t.OwnerID != ""
	switch {
	case given && t.NameOnly:
		return errors.New("--name-only trusts the repository by its name alone: drop it, or drop --repository-id and --repository-owner-id")
	case given && !known:
		return fmt.Errorf("--repository-id and --repository-owner-id pin GitHub's repository claim or GitLab's project_path, not %q: pin your issuer's id claims with --required-claim CLAIM=ID", t.claim())
	case given && (t.RepositoryID == "" || t.OwnerID == ""):
		return errors.New("give both --repository-id and --repository-owner-id: the repository's id and its owner's")
	case !given && known && !t.NameOnly:
		return t.missingIDs()
	}
	if given {
		if err := CheckID("--repository-id", t.RepositoryID); err != nil {
			return err
		}
		if err := CheckID("--repository-owner-id", t.OwnerID); err != nil {
			return err
		}
		for claim, id := range map[string]string{repoClaim: t.RepositoryID, ownerClaim: t.OwnerID} {
			if v, ok := t.RequiredClaims[claim]; ok && v != id {
				return fmt.Errorf("--required-claim %s=%s contradicts the id %s", claim, v, id)
			}
		}
	}
	return nil
}

// missingIDs is the one sentence that refuses a trust without ids.
func (t Trust) missingIDs() error {
	if t.claim() == DefaultRepositoryClaim {
		return fmt.Errorf("pin %s by its immutable ids, since GitHub hands a deleted or renamed repository's name to whoever takes it next: pass --repository-id and --repository-owner-id (gh api repos/%s --jq '.id, .owner.id'), or --name-only to trust whatever repository holds the name", t.Repository, t.Repository)
	}
	return fmt.Errorf("pin %s by its immutable ids, since GitLab hands a deleted or renamed project's path to whoever takes it next: pass --repository-id PROJECT_ID and --repository-owner-id NAMESPACE_ID (the project_id and namespace_id claims), or --name-only to trust whatever project holds the path", t.Repository)
}

// ClusterAudience is the audience of every trust on the cluster whose API server is
// server: the URL normalized (scheme and host lowercased, the scheme's default port
// dropped, a trailing slash removed) by the credential helper's own rule, so that
// both sides name the cluster alike and a server the helper would refuse is refused
// here, before a trust nothing can use is made.
func ClusterAudience(server string) (string, error) { return credential.ClusterAudience(server) }

// CheckRepository refuses a repository that is not OWNER/REPO (GitLab: GROUP/PROJECT,
// with subgroups).
func CheckRepository(repo string) error {
	parts := strings.Split(repo, "/")
	ok := len(parts) >= 2
	for _, p := range parts {
		ok = ok && p != "" && strings.TrimSpace(p) == p && !strings.ContainsAny(p, " \t\n")
	}
	if !ok {
		return fmt.Errorf("--repository must be OWNER/REPO (GitLab: GROUP/PROJECT), not %q", repo)
	}
	return nil
}

// Name is the name of the OpenIDConnect resource and binding of the issuer's trust of
// the repository: one trust per issuer, repository and cluster, so trusting it again
// replaces the trust, and a GitLab project and a GitHub repository of the same path
// never share one. A hash of the exact issuer and repository keeps names apart that
// differ only in what a Kubernetes name cannot hold.
func Name(issuer, repository string) string {
	if issuer == "" {
		issuer = GitHubIssuer
	}
	return slugName(repository, issuer+"\n"+repository)
}

// LegacyName is the name kubectl-kyma before the issuer counted gave the trust of
// the repository (a hash of the repository alone): trust replaces such a trust of
// the same issuer, untrust and list find it by its annotation.
func LegacyName(repository string) string { return slugName(repository, repository) }

func slugName(repository, hashed string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(repository) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
		} else if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
			b.WriteByte('-')
		}
	}
	slug := strings.Trim(b.String(), "-")
	if len(slug) > 36 {
		slug = strings.Trim(slug[:36], "-")
	}
	sum := sha256.Sum256([]byte(hashed))
	return "kubectl-kyma-" + slug + "-" + hex.EncodeToString(sum[:4])
}

// Name is the name of the trust's OpenIDConnect resource and binding.
func (t Trust) Name() string { return Name(t.issuer(), t.Repository) }

// UsernamePrefix is what the authenticator puts before the repository: the issuer's
// URL and "#", as kube-apiserver's own OIDC authenticator prefixes claims other than
// email by default, so that no two issuers can name the same user.
func (t Trust) UsernamePrefix() string { return t.issuer() + "#" }

// Username is the Kubernetes user the repository's tokens map to.
func (t Trust) Username() string { return t.UsernamePrefix() + t.Repository }

func labels(name string) map[string]any {
	return map[string]any{LabelManagedBy: ManagedBy, LabelTrust: name}
}

// OpenIDConnect is the trust's OpenIDConnect resource.
func (t Trust) OpenIDConnect() *unstructured.Unstructured {
	name := t.Name()
	claims := map[string]any{}
	for k, v := range t.RequiredClaims {
		claims[k] = v
	}
	claims[t.claim()] = t.Repository
	if repoClaim, ownerClaim, ok := IDClaims(t.claim()); ok && t.RepositoryID != "" {
		claims[repoClaim], claims[ownerClaim] = t.RepositoryID, t.OwnerID
	}
	spec := map[string]any{
		"issuerURL":      t.issuer(),
		"clientID":       t.Audience,
		"usernameClaim":  t.claim(),
		"usernamePrefix": t.UsernamePrefix(),
		"requiredClaims": claims,
	}
	if len(t.CABundle) > 0 {
		// base64, as JSON carries a []byte and the CRD says; a string, since an
		// unstructured object holds JSON values only (DeepCopy panics on []byte, which
		// an update of the trust makes).
		spec["caBundle"] = base64.StdEncoding.EncodeToString(t.CABundle)
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": OpenIDConnectGVR.GroupVersion().String(),
		"kind":       "OpenIDConnect",
		"metadata": map[string]any{
			"name":        name,
			"labels":      labels(name),
			"annotations": map[string]any{AnnotationRepository: t.Repository},
		},
		"spec": spec,
	}}
}

// Binding is the trust's ClusterRoleBinding (a ClusterRole, no namespace) or
// RoleBinding.
func (t Trust) Binding() *unstructured.Unstructured {
	name := t.Name()
	kind := "RoleBinding"
	meta := map[string]any{"name": name, "labels": labels(name), "annotations": map[string]any{AnnotationRepository: t.Repository}}
	if t.Role.Namespace == "" {
		kind = "ClusterRoleBinding"
	} else {
		meta["namespace"] = t.Role.Namespace
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1",
		"kind":       kind,
		"metadata":   meta,
		"roleRef":    map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": t.Role.Kind, "name": t.Role.Name},
		"subjects":   []any{map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": t.Username()}},
	}}
}

// ParseClaims reads --required-claim values, k=v each.
func ParseClaims(list []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--required-claim takes CLAIM=VALUE, not %q", kv)
		}
		if old, dup := out[k]; dup && old != v {
			return nil, fmt.Errorf("--required-claim %s is given twice, with %q and %q", k, old, v)
		}
		out[k] = v
	}
	return out, nil
}
