package oidctrust

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic/fake"
)

func newClient(t *testing.T, objs ...runtime.Object) Client {
	t.Helper()
	lists := map[schema.GroupVersionResource]string{
		OpenIDConnectGVR:      "OpenIDConnectList",
		ClusterRoleBindingGVR: "ClusterRoleBindingList",
		RoleBindingGVR:        "RoleBindingList",
		ClusterRoleGVR:        "ClusterRoleList",
		RoleGVR:               "RoleList",
	}
	return Client{Dynamic: fake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), lists, objs...)}
}

func role(kind, name, ns string) *unstructured.Unstructured {
	meta := map[string]any{"name": name}
	if ns != "" {
		meta["namespace"] = ns
	}
	return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta}}
}

func trust() Trust {
	return Trust{Repository: "example/app", Audience: "https://api.example", RepositoryID: "74", OwnerID: "65", Role: Role{Kind: "ClusterRole", Name: "view"}}
}

func TestOpenIDConnectIsWhatGardenerReads(t *testing.T) {
	tr := trust()
	tr.RequiredClaims = map[string]string{"ref": "refs/heads/main"}
	tr.CABundle = []byte("PEM")
	got := tr.OpenIDConnect()
	want := map[string]any{
		"issuerURL":      "https://token.actions.githubusercontent.com",
		"clientID":       "https://api.example",
		"usernameClaim":  "repository",
		"usernamePrefix": "https://token.actions.githubusercontent.com#",
		"requiredClaims": map[string]any{"repository": "example/app", "repository_id": "74", "repository_owner_id": "65", "ref": "refs/heads/main"},
		"caBundle":       "UEVN", // base64 of PEM
	}
	if d := cmp.Diff(want, got.Object["spec"]); d != "" {
		t.Errorf("spec (-want +got):\n%s", d)
	}
	if got.GetAPIVersion() != "authentication.gardener.cloud/v1alpha1" || got.GetKind() != "OpenIDConnect" || got.GetNamespace() != "" {
		t.Errorf("type %s %s in %q", got.GetAPIVersion(), got.GetKind(), got.GetNamespace())
	}
	b := tr.Binding()
	subjects, _, _ := unstructured.NestedSlice(b.Object, "subjects")
	if d := cmp.Diff([]any{map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "https://token.actions.githubusercontent.com#example/app"}}, subjects); d != "" {
		t.Errorf("subjects (-want +got):\n%s", d)
	}
	if b.GetKind() != "ClusterRoleBinding" {
		t.Errorf("kind %s, want ClusterRoleBinding for a cluster-wide ClusterRole", b.GetKind())
	}
}

func TestNameIsAKubernetesNameAndKeepsTrustsApart(t *testing.T) {
	seen := map[string]string{}
	for _, issuer := range []string{GitHubIssuer, "https://gitlab.com", "https://gitlab.example"} {
		for _, repo := range []string{"example/app", "Example/App", "example/app.", "a-very-long-organisation-name/a-very-long-repository-name-indeed", "group/sub/project"} {
			n := Name(issuer, repo)
			if len(n) > 63 || strings.Trim(n, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" || strings.HasSuffix(n, "-") {
				t.Errorf("Name(%q, %q) = %q: not a DNS label", issuer, repo, n)
			}
			if other, dup := seen[n]; dup {
				t.Errorf("%s %q and %s share the name %s", issuer, repo, other, n)
			}
			seen[n] = issuer + " " + repo
		}
	}
	if got, want := Name(GitHubIssuer, "example/app"), "kubectl-kyma-example-app-"; !strings.HasPrefix(got, want) {
		t.Errorf("Name(example/app) = %q, want it to start %q", got, want)
	}
	if Name("", "example/app") != Name(GitHubIssuer, "example/app") {
		t.Error("no issuer is not GitHub's")
	}
	if LegacyName("example/app") == Name(GitHubIssuer, "example/app") {
		t.Error("the legacy name is the new one")
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Trust)
		want string
	}{
		{"fine", func(*Trust) {}, ""},
		{"no owner", func(t *Trust) { t.Repository = "app" }, "OWNER/REPO"},
		{"http issuer", func(t *Trust) { t.Issuer = "http://issuer" }, "https URL"},
		{"no role", func(t *Trust) { t.Role = Role{} }, "--clusterrole R"},
		{"role without namespace", func(t *Trust) { t.Role = Role{Kind: "Role", Name: "deployer"} }, "--role needs --namespace"},
		{"contradicting claim", func(t *Trust) { t.RequiredClaims = map[string]string{"repository": "other/app"} }, "contradicts"},
		{"no audience", func(t *Trust) { t.Audience = "" }, "audience"},
		// The ids: both or neither, numbers, and none only when asked for.
		{"no ids", func(t *Trust) { t.RepositoryID, t.OwnerID = "", "" }, "pin example/app by its immutable ids"},
		{"no ids, name only", func(t *Trust) { t.RepositoryID, t.OwnerID, t.NameOnly = "", "", true }, ""},
		{"ids and name only", func(t *Trust) { t.NameOnly = true }, "--name-only trusts the repository by its name alone"},
		{"repository id alone", func(t *Trust) { t.OwnerID = "" }, "give both"},
		{"owner id alone", func(t *Trust) { t.RepositoryID = "" }, "give both"},
		{"id not a number", func(t *Trust) { t.RepositoryID = "app" }, "--repository-id must be a positive decimal number"},
		{"id with a sign", func(t *Trust) { t.OwnerID = "-65" }, "--repository-owner-id must be a positive decimal number"},
		{"id zero", func(t *Trust) { t.RepositoryID = "0" }, "positive decimal"},
		{"id leading zero", func(t *Trust) { t.RepositoryID = "074" }, "positive decimal"},
		{"id too long", func(t *Trust) { t.RepositoryID = "12345678901234567890" }, "positive decimal"},
		{"id contradicted", func(t *Trust) { t.RequiredClaims = map[string]string{"repository_id": "75"} }, "--required-claim repository_id=75 contradicts the id 74"},
		{"id repeated", func(t *Trust) { t.RequiredClaims = map[string]string{"repository_id": "74"} }, ""},
		{"GitLab without ids", func(t *Trust) { t.RepositoryClaim, t.RepositoryID, t.OwnerID = "project_path", "", "" }, "--repository-id PROJECT_ID and --repository-owner-id NAMESPACE_ID"},
		{"GitLab with ids", func(t *Trust) { t.RepositoryClaim = "project_path" }, ""},
		{"ids of an unknown claim", func(t *Trust) { t.RepositoryClaim = "project" }, "pin your issuer's id claims with --required-claim"},
		{"unknown claim without ids", func(t *Trust) { t.RepositoryClaim, t.RepositoryID, t.OwnerID = "project", "", "" }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := trust()
			tc.edit(&tr)
			err := tr.Validate()
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestParseClaims(t *testing.T) {
	got, err := ParseClaims([]string{"ref=refs/heads/main", "environment=prod=eu"})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]string{"ref": "refs/heads/main", "environment": "prod=eu"}, got); d != "" {
		t.Error(d)
	}
	for _, bad := range [][]string{{"noequals"}, {"=v"}, {"a=1", "a=2"}} {
		if _, err := ParseClaims(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestApplyListDelete(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, role("ClusterRole", "view", ""), role("ClusterRole", "edit", ""), role("Role", "deployer", "apps"))
	tr := trust()
	tr.CABundle = []byte("PEM")
	if err := c.Apply(ctx, tr); err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(ctx, tr); err != nil { // again: an update (of a CA bundle too), not a conflict
		t.Fatalf("second apply: %v", err)
	}
	got, err := c.List(ctx, "https://api.example")
	if err != nil {
		t.Fatal(err)
	}
	want := []Listed{{Name: tr.Name(), Repository: "example/app", Issuer: GitHubIssuer, Audience: "https://api.example", Bound: true,
		UsernamePrefix: GitHubIssuer + "#", Username: GitHubIssuer + "#example/app", Roles: []string{"clusterrole view"}, Managed: true,
		RepositoryID: "74", OwnerID: "65", Pinned: true}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("list (-want +got):\n%s", d)
	}

	// Trusted again with a Role in a namespace: the ClusterRoleBinding goes.
	tr.Role = Role{Kind: "Role", Name: "deployer", Namespace: "apps"}
	if err := c.Apply(ctx, tr); err != nil {
		t.Fatal(err)
	}
	crbs, _ := c.Dynamic.Resource(ClusterRoleBindingGVR).List(ctx, metav1.ListOptions{})
	if len(crbs.Items) != 0 {
		t.Errorf("the earlier ClusterRoleBinding stayed: %v", crbs.Items)
	}
	got, _ = c.List(ctx, "https://api.example")
	if len(got) != 1 || cmp.Diff([]string{"role deployer in apps"}, got[0].Roles) != "" {
		t.Errorf("list after the change: %+v", got)
	}

	gone, err := c.Delete(ctx, "", "example/app")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"OpenIDConnect " + tr.Name(), "RoleBinding " + tr.Name() + " in apps"}, gone); d != "" {
		t.Errorf("deleted (-want +got):\n%s", d)
	}
	if got, _ := c.List(ctx, "https://api.example"); len(got) != 0 {
		t.Errorf("still listed: %+v", got)
	}
	if _, err := c.Delete(ctx, "", "example/app"); !errors.Is(err, ErrNoTrust) {
		t.Errorf("second delete: %v, want ErrNoTrust", err)
	}
}

func TestApplyRefusesAMissingRole(t *testing.T) {
	c := newClient(t)
	err := c.Apply(context.Background(), trust())
	if err == nil || !strings.Contains(err.Error(), "no ClusterRole view") {
		t.Fatalf("error = %v, want the missing ClusterRole named", err)
	}
	if l, _ := c.Dynamic.Resource(OpenIDConnectGVR).List(context.Background(), metav1.ListOptions{}); len(l.Items) != 0 {
		t.Error("an OpenIDConnect resource was made for a trust that grants nothing")
	}
}

func TestListShowsTrustsOfOtherTools(t *testing.T) {
	// As Kyma's CLI writes them: its own prefix, a binding of its own name.
	oidc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "authentication.gardener.cloud/v1alpha1", "kind": "OpenIDConnect",
		"metadata": map[string]any{"name": "actions-oidc"},
		"spec": map[string]any{"issuerURL": GitHubIssuer, "clientID": "gh-oidc-test", "usernameClaim": "repository",
			"usernamePrefix": "gh-oidc:", "requiredClaims": map[string]any{"repository": "kyma-project/cli"}},
	}}
	crb := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
		"metadata": map[string]any{"name": "github-cluster-admin-binding"},
		"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
		"subjects": []any{map[string]any{"kind": "User", "name": "gh-oidc:kyma-project/cli", "apiGroup": "rbac.authorization.k8s.io"}},
	}}
	got, err := newClient(t, oidc, crb).List(context.Background(), "https://api.example")
	if err != nil {
		t.Fatal(err)
	}
	want := []Listed{{Name: "actions-oidc", Repository: "kyma-project/cli", Issuer: GitHubIssuer, Audience: "gh-oidc-test",
		UsernamePrefix: "gh-oidc:", Username: "gh-oidc:kyma-project/cli", Roles: []string{"clusterrole cluster-admin"}}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestClusterAudienceNormalizesAsTheHelper(t *testing.T) {
	for in, want := range map[string]string{
		"https://api.c-1a2b3c.kyma.ondemand.com":    "https://api.c-1a2b3c.kyma.ondemand.com",
		"HTTPS://API.Example.COM:443/":              "https://api.example.com",
		"https://127.0.0.1:6443":                    "https://127.0.0.1:6443",
		"https://[::1]:443":                         "https://[::1]",
		"https://[::1]:6443/":                       "https://[::1]:6443",
		"http://proxy.example:80/k8s/clusters/c-1/": "http://proxy.example/k8s/clusters/c-1",
		"https://proxy.example/k8s/clusters/C-1":    "https://proxy.example/k8s/clusters/C-1",
	} {
		got, err := ClusterAudience(in)
		if err != nil || got != want {
			t.Errorf("ClusterAudience(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "api.example", "ftp://api.example", "https://user@api.example", "https://api.example?x=1", "https://api.example#f"} {
		if got, err := ClusterAudience(bad); err == nil {
			t.Errorf("ClusterAudience(%q) = %q, want an error", bad, got)
		}
	}
}

func TestListFlagsTrustsNotBoundToTheCluster(t *testing.T) {
	mk := func(name string, spec map[string]any) *unstructured.Unstructured {
		spec["issuerURL"], spec["usernameClaim"] = GitHubIssuer, "repository"
		spec["requiredClaims"] = map[string]any{"repository": "example/" + name}
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "authentication.gardener.cloud/v1alpha1", "kind": "OpenIDConnect",
			"metadata": map[string]any{"name": name}, "spec": spec}}
	}
	c := newClient(t,
		mk("bound", map[string]any{"clientID": "https://api.example"}),
		mk("custom", map[string]any{"clientID": "my-audience"}),
		mk("audiences", map[string]any{"audiences": []any{"https://api.example"}}),
		mk("several", map[string]any{"audiences": []any{"https://api.example", "https://github.com/example"}}),
	)
	got, err := c.List(context.Background(), "https://api.example")
	if err != nil {
		t.Fatal(err)
	}
	bound := map[string]bool{}
	for _, l := range got {
		bound[l.Name] = l.Bound
	}
	if d := cmp.Diff(map[string]bool{"bound": true, "custom": false, "audiences": true, "several": false}, bound); d != "" {
		t.Errorf("bound (-want +got):\n%s", d)
	}
}

// Gardener's oidc-webhook-authenticator (controllers/authentication/
// openidconnect_controller.go): an unset or empty usernamePrefix is the resource's
// name and "/", "-" is none. list shows the prefix and user as the cluster sees them,
// and finds the roles bound to that user.
func TestListShowsTheEffectiveUsernamePrefix(t *testing.T) {
	mk := func(name string, prefix any) *unstructured.Unstructured {
		spec := map[string]any{"issuerURL": GitHubIssuer, "clientID": "https://api.example", "usernameClaim": "repository",
			"requiredClaims": map[string]any{"repository": "example/" + name}}
		if prefix != nil {
			spec["usernamePrefix"] = prefix
		}
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "authentication.gardener.cloud/v1alpha1", "kind": "OpenIDConnect",
			"metadata": map[string]any{"name": name}, "spec": spec}}
	}
	crb := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
		"metadata": map[string]any{"name": "empty-viewer"},
		"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
		"subjects": []any{map[string]any{"kind": "User", "name": "empty/example/empty", "apiGroup": "rbac.authorization.k8s.io"}},
	}}
	c := newClient(t, mk("unset", nil), mk("empty", ""), mk("none", "-"), mk("own", "ci:"), crb)
	got, err := c.List(context.Background(), "https://api.example")
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]string{}
	for _, l := range got {
		users[l.Name] = fmt.Sprintf("%q %s %v", l.UsernamePrefix, l.Username, l.Roles)
	}
	want := map[string]string{
		"unset": `"unset/" unset/example/unset []`,
		"empty": `"empty/" empty/example/empty [clusterrole view]`,
		"none":  `"" example/none []`,
		"own":   `"ci:" ci:example/own []`,
	}
	if d := cmp.Diff(want, users); d != "" {
		t.Errorf("prefix, user, roles (-want +got):\n%s", d)
	}
}

// Two issuers, one OWNER/REPO path: a GitLab project and a GitHub repository each
// keep their own trust; untrust needs --issuer to pick one.
func TestTrustsOfTwoIssuersForOneRepositoryStayApart(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, role("ClusterRole", "view", ""), role("ClusterRole", "edit", ""))
	gh := trust()
	gl := trust()
	gl.Issuer, gl.Role = "https://gitlab.com", Role{Kind: "ClusterRole", Name: "edit"}
	for _, tr := range []Trust{gh, gl} {
		if err := c.Apply(ctx, tr); err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.List(ctx, "https://api.example")
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string][]string{}
	for _, l := range got {
		roles[l.Issuer] = l.Roles
	}
	if d := cmp.Diff(map[string][]string{GitHubIssuer: {"clusterrole view"}, "https://gitlab.com": {"clusterrole edit"}}, roles); d != "" {
		t.Errorf("roles by issuer (-want +got):\n%s", d)
	}
	if _, err := c.Delete(ctx, "", "example/app"); err == nil || !strings.Contains(err.Error(), "say which with --issuer") {
		t.Fatalf("untrust without --issuer: %v", err)
	}
	gone, err := c.Delete(ctx, "https://gitlab.com", "example/app")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"OpenIDConnect " + gl.Name(), "ClusterRoleBinding " + gl.Name()}, gone); d != "" {
		t.Errorf("deleted (-want +got):\n%s", d)
	}
	if got, _ := c.List(ctx, "https://api.example"); len(got) != 1 || got[0].Issuer != GitHubIssuer {
		t.Errorf("left: %+v", got)
	}
}

// A trust made before the issuer counted in the name: trusting the repository again
// with the same issuer replaces it; untrust finds it by its annotation.
func TestLegacyTrustIsReplacedOrFound(t *testing.T) {
	ctx := context.Background()
	legacy := func(issuer string) []runtime.Object {
		tr := trust()
		tr.Issuer = issuer
		o, b := tr.OpenIDConnect(), tr.Binding()
		for _, x := range []*unstructured.Unstructured{o, b} {
			x.SetName(LegacyName(tr.Repository))
			x.SetLabels(map[string]string{LabelManagedBy: ManagedBy, LabelTrust: LegacyName(tr.Repository)})
		}
		return []runtime.Object{o, b}
	}
	names := func(c Client) []string {
		var out []string
		for _, gvr := range []schema.GroupVersionResource{OpenIDConnectGVR, ClusterRoleBindingGVR} {
			l, _ := c.Dynamic.Resource(gvr).List(ctx, metav1.ListOptions{})
			for _, o := range l.Items {
				out = append(out, o.GetKind()+" "+o.GetName())
			}
		}
		return out
	}

	c := newClient(t, append(legacy(GitHubIssuer), role("ClusterRole", "view", ""))...)
	if err := c.Apply(ctx, trust()); err != nil {
		t.Fatal(err)
	}
	n := trust().Name()
	if d := cmp.Diff([]string{"OpenIDConnect " + n, "ClusterRoleBinding " + n}, names(c)); d != "" {
		t.Errorf("after trust over a legacy trust of the same issuer (-want +got):\n%s", d)
	}

	// Of another issuer: it stays, and untrust --issuer finds it.
	c = newClient(t, append(legacy("https://gitlab.com"), role("ClusterRole", "view", ""))...)
	if err := c.Apply(ctx, trust()); err != nil {
		t.Fatal(err)
	}
	ln := LegacyName("example/app")
	if d := cmp.Diff([]string{"OpenIDConnect " + n, "OpenIDConnect " + ln, "ClusterRoleBinding " + n, "ClusterRoleBinding " + ln}, names(c), cmpopts.SortSlices(func(a, b string) bool { return a < b })); d != "" {
		t.Errorf("after trust beside a legacy trust of another issuer (-want +got):\n%s", d)
	}
	gone, err := c.Delete(ctx, "https://gitlab.com", "example/app")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"OpenIDConnect " + ln, "ClusterRoleBinding " + ln}, gone); d != "" {
		t.Errorf("untrust of the legacy trust (-want +got):\n%s", d)
	}
}

// Another tool's OpenIDConnect or binding under a trust's name is neither replaced
// nor deleted: trust and untrust refuse in one sentence and leave it as it was.
func TestTrustAndUntrustLeaveOtherToolsObjects(t *testing.T) {
	ctx := context.Background()
	tr := trust()
	foreign := func(o *unstructured.Unstructured) *unstructured.Unstructured {
		o.SetLabels(map[string]string{"app.kubernetes.io/managed-by": "kyma-cli"})
		return o
	}
	nsTrust := tr
	nsTrust.Role = Role{Kind: "Role", Name: "deployer", Namespace: "apps"}
	for _, tc := range []struct {
		name    string
		trust   Trust
		objs    []runtime.Object
		gvr     schema.GroupVersionResource
		ns      string
		wantErr string
	}{
		{"an OpenIDConnect of the trust's name", tr, []runtime.Object{foreign(tr.OpenIDConnect())}, OpenIDConnectGVR, "",
			"the OpenIDConnect " + tr.Name() + " was not made by kubectl-kyma"},
		{"a ClusterRoleBinding of the trust's name", tr, []runtime.Object{foreign(tr.Binding())}, ClusterRoleBindingGVR, "",
			"the ClusterRoleBinding " + tr.Name() + " was not made by kubectl-kyma"},
		{"a RoleBinding of the trust's name", nsTrust, []runtime.Object{foreign(nsTrust.Binding())}, RoleBindingGVR, "apps",
			"the RoleBinding " + tr.Name() + " in apps was not made by kubectl-kyma"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, append(tc.objs, role("ClusterRole", "view", ""), role("Role", "deployer", "apps"))...)
			before, _ := c.resource(tc.gvr, tc.ns).Get(ctx, tr.Name(), metav1.GetOptions{})
			err := c.Apply(ctx, tc.trust)
			if !errors.Is(err, ErrNotOurs) || err.Error() != tc.wantErr+" (no app.kubernetes.io/managed-by=kubectl-kyma label), so it is not replaced" {
				t.Fatalf("trust: %v, want %q", err, tc.wantErr)
			}
			after, err := c.resource(tc.gvr, tc.ns).Get(ctx, tr.Name(), metav1.GetOptions{})
			if err != nil || cmp.Diff(before.Object, after.Object) != "" {
				t.Errorf("the other tool's object changed: %v\n%s", err, cmp.Diff(before.Object, after.Object))
			}
			if tc.gvr != OpenIDConnectGVR {
				if l, _ := c.Dynamic.Resource(OpenIDConnectGVR).List(ctx, metav1.ListOptions{}); len(l.Items) != 0 {
					t.Errorf("a trust half made: %d OpenIDConnect resources", len(l.Items))
				}
			}
		})
	}

	// Untrust: the other tool's trust of the repository stays, with its binding.
	oidc := foreign(tr.OpenIDConnect())
	crb := foreign(tr.Binding())
	crb.SetLabels(map[string]string{LabelTrust: tr.Name()}) // our trust label, but not ours
	c := newClient(t, oidc, crb)
	_, err := c.Delete(ctx, "", "example/app")
	if !errors.Is(err, ErrNotOurs) || !strings.Contains(err.Error(), "so it is not deleted") {
		t.Fatalf("untrust of another tool's trust: %v", err)
	}
	for _, gvr := range []schema.GroupVersionResource{OpenIDConnectGVR, ClusterRoleBindingGVR} {
		if _, err := c.Dynamic.Resource(gvr).Get(ctx, tr.Name(), metav1.GetOptions{}); err != nil {
			t.Errorf("untrust deleted the other tool's %s: %v", gvr.Resource, err)
		}
	}
}

// A trust made by name only (before the ids, or with --name-only) is listed as such,
// and trusting the repository again with its ids pins that same resource in place.
func TestNameOnlyTrustIsListedAndPinnedInPlace(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, role("ClusterRole", "view", ""))
	byName := trust()
	byName.RepositoryID, byName.OwnerID, byName.NameOnly = "", "", true
	if err := c.Apply(ctx, byName); err != nil {
		t.Fatal(err)
	}
	got, err := c.List(ctx, "https://api.example")
	if err != nil || len(got) != 1 || got[0].Pinned || got[0].RepositoryID != "" {
		t.Fatalf("a name-only trust is listed %+v (%v), want it not pinned", got, err)
	}
	fc := c.Dynamic.(*fake.FakeDynamicClient)
	fc.ClearActions()

	if err := c.Apply(ctx, trust()); err != nil {
		t.Fatal(err)
	}
	got, _ = c.List(ctx, "https://api.example")
	if len(got) != 1 || !got[0].Pinned || got[0].RepositoryID != "74" || got[0].OwnerID != "65" || got[0].Name != byName.Name() {
		t.Fatalf("after trusting with ids: %+v, want the one trust pinned to 74 and 65", got)
	}
	var verbs []string
	for _, a := range fc.Actions() {
		if a.GetResource() == OpenIDConnectGVR && a.GetVerb() != "get" && a.GetVerb() != "list" {
			verbs = append(verbs, a.GetVerb())
		}
	}
	if d := cmp.Diff([]string{"update"}, verbs); d != "" {
		t.Errorf("what the second trust did to the OpenIDConnect resource (-want +got):\n%s", d)
	}
	after, _ := c.Dynamic.Resource(OpenIDConnectGVR).Get(ctx, byName.Name(), metav1.GetOptions{})
	claims, _, _ := unstructured.NestedStringMap(after.Object, "spec", "requiredClaims")
	if d := cmp.Diff(map[string]string{"repository": "example/app", "repository_id": "74", "repository_owner_id": "65"}, claims); d != "" {
		t.Errorf("requiredClaims (-want +got):\n%s", d)
	}
}

// GitLab's immutable claims are project_id and namespace_id.
func TestGitLabTrustIsPinnedByProjectAndNamespaceID(t *testing.T) {
	tr := trust()
	tr.Issuer, tr.RepositoryClaim, tr.Repository = "https://gitlab.com", "project_path", "group/sub/project"
	tr.RepositoryID, tr.OwnerID = "20", "72"
	claims, _, _ := unstructured.NestedStringMap(tr.OpenIDConnect().Object, "spec", "requiredClaims")
	if d := cmp.Diff(map[string]string{"project_path": "group/sub/project", "project_id": "20", "namespace_id": "72"}, claims); d != "" {
		t.Errorf("requiredClaims (-want +got):\n%s", d)
	}
	c := newClient(t, role("ClusterRole", "view", ""))
	if err := c.Apply(context.Background(), tr); err != nil {
		t.Fatal(err)
	}
	got, _ := c.List(context.Background(), "https://api.example")
	if len(got) != 1 || !got[0].Pinned || got[0].RepositoryID != "20" || got[0].OwnerID != "72" {
		t.Errorf("listed %+v, want it pinned to project 20 in namespace 72", got)
	}
}
