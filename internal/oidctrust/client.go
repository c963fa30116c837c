package oidctrust

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// Client applies, lists and deletes trusts on one cluster.
type Client struct {
	Dynamic dynamic.Interface
}

// ErrNoTrust says a repository has no trust on the cluster.
var ErrNoTrust = errors.New("no trust")

// ErrNotOurs says an object that a trust would replace or delete was not made by
// kubectl-kyma (it lacks the managed-by label): it is left as it is.
var ErrNotOurs = errors.New("not made by kubectl-kyma")

// notOurs is the one sentence that refuses to touch another tool's object; it is
// ErrNotOurs.
func notOurs(kind, name, namespace, verb string) error {
	if namespace != "" {
		name += " in " + namespace
	}
	return notOursError(fmt.Sprintf("the %s %s was not made by kubectl-kyma (no %s=%s label), so it is not %s", kind, name, LabelManagedBy, ManagedBy, verb))
}

type notOursError string

func (e notOursError) Error() string        { return string(e) }
func (e notOursError) Is(target error) bool { return target == ErrNotOurs }

// Apply creates or updates the trust's OpenIDConnect resource and binding, and deletes
// a binding of an earlier trust of the repository that the new one does not keep (a
// role in another namespace, say). The role must exist: a binding to a missing role
// would grant nothing, silently.
func (c Client) Apply(ctx context.Context, t Trust) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if err := c.checkRole(ctx, t.Role); err != nil {
		return err
	}
	want := t.Binding()
	gvr := ClusterRoleBindingGVR
	if want.GetKind() == "RoleBinding" {
		gvr = RoleBindingGVR
	}
	// Both names free or ours before anything is written: a trust half made over
	// another tool's object is worse than none.
	if err := c.checkOurs(ctx, gvr, want); err != nil {
		return err
	}
	if err := c.put(ctx, OpenIDConnectGVR, t.OpenIDConnect()); err != nil {
		if errors.Is(err, ErrNotOurs) {
			return err
		}
		if apierrors.IsNotFound(err) || isNoKind(err) {
			return errors.New("the cluster serves no OpenIDConnect resources (authentication.gardener.cloud/v1alpha1): its OIDC webhook authenticator is not enabled")
		}
		return fmt.Errorf("apply the OpenIDConnect resource: %w", err)
	}
	old, err := c.bindings(ctx, t.Name())
	if err != nil {
		return err
	}
	for _, b := range old {
		if b.GetKind() == want.GetKind() && b.GetNamespace() == want.GetNamespace() && sameRoleRef(b, want) {
			continue // updated below
		}
		if err := c.delete(ctx, b); err != nil {
			return fmt.Errorf("delete the earlier %s %s: %w", b.GetKind(), b.GetName(), err)
		}
	}
	if err := c.put(ctx, gvr, want); err != nil {
		if errors.Is(err, ErrNotOurs) {
			return err
		}
		return fmt.Errorf("apply the %s: %w", want.GetKind(), err)
	}
	return c.migrate(ctx, t)
}

// migrate deletes the trust of the repository under its LegacyName when it is of the
// same issuer: the trust just applied replaces it. It goes after the new one is in
// place, so the repository's jobs are never refused in between. A legacy trust of
// another issuer stays: it is that issuer's, and untrust --issuer finds it.
func (c Client) migrate(ctx context.Context, t Trust) error {
	legacy := LegacyName(t.Repository)
	old, err := c.Dynamic.Resource(OpenIDConnectGVR).Get(ctx, legacy, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("look up the earlier trust %s: %w", legacy, err)
	}
	if iss, _, _ := unstructured.NestedString(old.Object, "spec", "issuerURL"); iss != t.issuer() || !managed(old) {
		return nil
	}
	if _, err := c.deleteTrust(ctx, old); err != nil {
		return fmt.Errorf("replace the earlier trust %s: %w", legacy, err)
	}
	return nil
}

func managed(o *unstructured.Unstructured) bool { return o.GetLabels()[LabelManagedBy] == ManagedBy }

// deleteTrust deletes a trust's OpenIDConnect resource, first, so that its tokens are
// refused from then on, and then its bindings; it returns what it deleted.
func (c Client) deleteTrust(ctx context.Context, oidc *unstructured.Unstructured) ([]string, error) {
	name := oidc.GetName()
	var gone []string
	err := c.Dynamic.Resource(OpenIDConnectGVR).Delete(ctx, name, exactly(oidc))
	switch {
	case err == nil:
		gone = append(gone, "OpenIDConnect "+name)
	case apierrors.IsNotFound(err):
	default:
		return nil, fmt.Errorf("delete the OpenIDConnect resource %s: %w", name, err)
	}
	more, err := c.deleteBindings(ctx, name)
	return append(gone, more...), err
}

// exactly makes a deletion apply to the object as it was read (and judged ours),
// not to one made in its place since.
func exactly(o *unstructured.Unstructured) metav1.DeleteOptions {
	uid, rv := o.GetUID(), o.GetResourceVersion()
	return metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}}
}

// deleteBindings deletes the bindings of the trust named name.
func (c Client) deleteBindings(ctx context.Context, name string) ([]string, error) {
	var gone []string
	bs, err := c.bindings(ctx, name)
	if err != nil {
		return gone, err
	}
	for _, b := range bs {
		if err := c.delete(ctx, b); err != nil {
			return gone, fmt.Errorf("delete the %s %s: %w", b.GetKind(), b.GetName(), err)
		}
		what := b.GetKind() + " " + b.GetName()
		if ns := b.GetNamespace(); ns != "" {
			what += " in " + ns
		}
		gone = append(gone, what)
	}
	return gone, nil
}

func isNoKind(err error) bool {
	return err != nil && strings.Contains(err.Error(), "could not find the requested resource")
}

// checkRole refuses a role the cluster does not have.
func (c Client) checkRole(ctx context.Context, r Role) error {
	var err error
	if r.Kind == "Role" {
		_, err = c.Dynamic.Resource(RoleGVR).Namespace(r.Namespace).Get(ctx, r.Name, metav1.GetOptions{})
	} else {
		_, err = c.Dynamic.Resource(ClusterRoleGVR).Get(ctx, r.Name, metav1.GetOptions{})
	}
	switch {
	case apierrors.IsNotFound(err) && r.Kind == "Role":
		return fmt.Errorf("the cluster has no Role %s in namespace %s", r.Name, r.Namespace)
	case apierrors.IsNotFound(err):
		return fmt.Errorf("the cluster has no ClusterRole %s", r.Name)
	case err != nil:
		return fmt.Errorf("look up %s %s: %w", r.Kind, r.Name, err)
	}
	return nil
}

// checkOurs refuses when the cluster holds an object of obj's name that kubectl-kyma
// did not make.
func (c Client) checkOurs(ctx context.Context, gvr schema.GroupVersionResource, obj *unstructured.Unstructured) error {
	for _, o := range []struct {
		gvr schema.GroupVersionResource
		obj *unstructured.Unstructured
	}{{OpenIDConnectGVR, &unstructured.Unstructured{Object: map[string]any{"kind": "OpenIDConnect", "metadata": map[string]any{"name": obj.GetName()}}}}, {gvr, obj}} {
		old, err := c.resource(o.gvr, o.obj.GetNamespace()).Get(ctx, o.obj.GetName(), metav1.GetOptions{})
		switch {
		case err == nil && !managed(old):
			return notOurs(o.obj.GetKind(), o.obj.GetName(), o.obj.GetNamespace(), "replaced")
		case err != nil && !apierrors.IsNotFound(err) && !isNoKind(err):
			return fmt.Errorf("look up the %s %s: %w", o.obj.GetKind(), o.obj.GetName(), err)
		}
	}
	return nil
}

// put creates obj, or replaces the one of its name (keeping its resourceVersion) when
// kubectl-kyma made it. A binding whose roleRef differs is immutable: it is deleted
// and made again.
func (c Client) put(ctx context.Context, gvr schema.GroupVersionResource, obj *unstructured.Unstructured) error {
	ri := c.resource(gvr, obj.GetNamespace())
	old, err := ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = ri.Create(ctx, obj, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	if !managed(old) {
		return notOurs(obj.GetKind(), obj.GetName(), obj.GetNamespace(), "replaced")
	}
	if _, hasRef := obj.Object["roleRef"]; hasRef && !sameRoleRef(old, obj) {
		if err := ri.Delete(ctx, obj.GetName(), exactly(old)); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		_, err = ri.Create(ctx, obj, metav1.CreateOptions{})
		return err
	}
	obj = obj.DeepCopy()
	obj.SetResourceVersion(old.GetResourceVersion())
	_, err = ri.Update(ctx, obj, metav1.UpdateOptions{})
	return err
}

func (c Client) resource(gvr schema.GroupVersionResource, namespace string) dynamic.ResourceInterface {
	if namespace != "" {
		return c.Dynamic.Resource(gvr).Namespace(namespace)
	}
	return c.Dynamic.Resource(gvr)
}

func sameRoleRef(a, b *unstructured.Unstructured) bool {
	ra, _, _ := unstructured.NestedStringMap(a.Object, "roleRef")
	rb, _, _ := unstructured.NestedStringMap(b.Object, "roleRef")
	return ra["kind"] == rb["kind"] && ra["name"] == rb["name"]
}

// bindings are the ClusterRoleBindings and RoleBindings (in every namespace) of the
// trust named name.
func (c Client) bindings(ctx context.Context, name string) ([]*unstructured.Unstructured, error) {
	// Only kubectl-kyma's: another tool's binding that happens to carry the trust's
	// label is never deleted.
	sel := metav1.ListOptions{LabelSelector: LabelTrust + "=" + name + "," + LabelManagedBy + "=" + ManagedBy}
	var out []*unstructured.Unstructured
	for _, gvr := range []schema.GroupVersionResource{ClusterRoleBindingGVR, RoleBindingGVR} {
		list, err := c.Dynamic.Resource(gvr).List(ctx, sel)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", gvr.Resource, err)
		}
		for i := range list.Items {
			out = append(out, &list.Items[i])
		}
	}
	return out, nil
}

func (c Client) delete(ctx context.Context, obj *unstructured.Unstructured) error {
	gvr := ClusterRoleBindingGVR
	switch obj.GetKind() {
	case "RoleBinding":
		gvr = RoleBindingGVR
	case "OpenIDConnect":
		gvr = OpenIDConnectGVR
	}
	err := c.resource(gvr, obj.GetNamespace()).Delete(ctx, obj.GetName(), exactly(obj))
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// Delete removes the repository's trust: its OpenIDConnect resource, first, so that
// its tokens are refused from then on, and its bindings. The trusts are found by
// their repository annotation among the OpenIDConnect resources kubectl-kyma made,
// whatever their name (LegacyName ones too); issuer, when set, picks that issuer's,
// and is needed when the repository is trusted with more than one. It returns what
// it deleted ("OpenIDConnect NAME", "ClusterRoleBinding NAME", ...), and an error
// wrapping ErrNoTrust when there was nothing.
func (c Client) Delete(ctx context.Context, issuer, repository string) ([]string, error) {
	if err := CheckRepository(repository); err != nil {
		return nil, err
	}
	list, err := c.Dynamic.Resource(OpenIDConnectGVR).List(ctx, metav1.ListOptions{LabelSelector: LabelManagedBy + "=" + ManagedBy})
	if err != nil && !apierrors.IsNotFound(err) && !isNoKind(err) {
		return nil, fmt.Errorf("list OpenIDConnect resources: %w", err)
	}
	var found []*unstructured.Unstructured
	issuers := map[string]bool{}
	if list != nil {
		for i := range list.Items {
			o := &list.Items[i]
			iss, _, _ := unstructured.NestedString(o.Object, "spec", "issuerURL")
			if o.GetAnnotations()[AnnotationRepository] != repository || (issuer != "" && iss != issuer) {
				continue
			}
			found = append(found, o)
			issuers[iss] = true
		}
	}
	if len(issuers) > 1 {
		return nil, fmt.Errorf("repository %s is trusted with %d issuers (%s): say which with --issuer", repository, len(issuers), strings.Join(slices.Sorted(maps.Keys(issuers)), ", "))
	}
	var gone []string
	for _, o := range found {
		g, err := c.deleteTrust(ctx, o)
		gone = append(gone, g...)
		if err != nil {
			return gone, err
		}
	}
	if len(found) == 0 {
		// Another tool's trust of the repository (Kyma's CLI, say) is not ours to end.
		all, err := c.List(ctx, "")
		if err != nil {
			return nil, err
		}
		for _, l := range all {
			if !l.Managed && l.Repository == repository && (issuer == "" || l.Issuer == issuer) {
				return nil, notOurs("OpenIDConnect", l.Name, "", "deleted; delete it with kubectl if it should go")
			}
		}
		// No resource, but perhaps the bindings of a trust whose apply stopped half-way.
		g, err := c.deleteBindings(ctx, Name(issuer, repository))
		gone = append(gone, g...)
		if err != nil {
			return gone, err
		}
	}
	if len(gone) == 0 {
		return nil, fmt.Errorf("repository %s has no trust on this cluster: %w", repository, ErrNoTrust)
	}
	return gone, nil
}

// Listed is one trust as `oidc list` shows it.
type Listed struct {
	// Name is the OpenIDConnect resource's.
	Name       string `json:"name"`
	Repository string `json:"repository"`
	Issuer     string `json:"issuer"`
	Audience   string `json:"audience"`
	// Bound says the trust accepts only tokens for this cluster: its one audience is
	// the cluster's API server URL (ClusterAudience). Any other audience lets a token
	// minted for another cluster, or GitHub's default audience, in.
	Bound bool `json:"bound"`
	// UsernamePrefix is the prefix the authenticator puts before the repository:
	// spec.usernamePrefix as Gardener reads it (EffectiveUsernamePrefix).
	UsernamePrefix string `json:"usernamePrefix"`
	// Username is the Kubernetes user the trust's tokens map to: the prefix and the
	// repository, the subject a role binding must name.
	Username string `json:"username"`
	// Roles are the bindings that name the trust's user.
	Roles []string `json:"roles"`
	// Managed says kubectl-kyma made it (else another tool, such as Kyma's CLI).
	Managed bool `json:"managed"`
	// RepositoryID and OwnerID are the immutable ids the trust requires (the claims
	// IDClaims names for its username claim), empty when it requires none.
	RepositoryID string `json:"repositoryID,omitempty"`
	OwnerID      string `json:"repositoryOwnerID,omitempty"`
	// Pinned says the trust requires both ids: a repository made later under the
	// same name is refused. A trust pinned by name only accepts it.
	Pinned bool `json:"pinned"`
}

// List returns every OpenIDConnect resource of the cluster, with the repository it
// requires, whether it is bound to the cluster's audience (ClusterAudience of its
// server), and the roles bound to the user its tokens map to.
func (c Client) List(ctx context.Context, audience string) ([]Listed, error) {
	list, err := c.Dynamic.Resource(OpenIDConnectGVR).List(ctx, metav1.ListOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) || isNoKind(err) {
			return nil, nil // no authenticator: no trusts
		}
		return nil, fmt.Errorf("list OpenIDConnect resources: %w", err)
	}
	roles, err := c.rolesByUser(ctx)
	if err != nil {
		return nil, err
	}
	var out []Listed
	for _, o := range list.Items {
		spec, _, _ := unstructured.NestedMap(o.Object, "spec")
		str := func(k string) string { s, _ := spec[k].(string); return s }
		claim := str("usernameClaim")
		claims, _, _ := unstructured.NestedStringMap(o.Object, "spec", "requiredClaims")
		l := Listed{
			Name:       o.GetName(),
			Repository: claims[claim],
			Issuer:     str("issuerURL"),
			Audience:   str("clientID"),
			Managed:    o.GetLabels()[LabelManagedBy] == ManagedBy,
		}
		l.Bound = audience != "" && l.Audience == audience
		if l.Audience == "" {
			auds, _, _ := unstructured.NestedStringSlice(o.Object, "spec", "audiences")
			l.Audience = strings.Join(auds, ",")
			l.Bound = audience != "" && len(auds) == 1 && auds[0] == audience
		}
		if l.Repository == "" {
			claim = DefaultRepositoryClaim
			l.Repository = claims[claim]
		}
		if repoClaim, ownerClaim, ok := IDClaims(claim); ok {
			l.RepositoryID, l.OwnerID = claims[repoClaim], claims[ownerClaim]
			l.Pinned = l.RepositoryID != "" && l.OwnerID != ""
		}
		var prefix *string
		if p, ok := spec["usernamePrefix"].(string); ok {
			prefix = &p
		}
		l.UsernamePrefix = EffectiveUsernamePrefix(o.GetName(), prefix)
		if l.Repository != "" {
			l.Username = l.UsernamePrefix + l.Repository
			l.Roles = roles[l.Username]
		}
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b Listed) int { return strings.Compare(a.Repository+a.Name, b.Repository+b.Name) })
	return out, nil
}

// EffectiveUsernamePrefix is the prefix Gardener's oidc-webhook-authenticator puts
// before the username claim of the OpenIDConnect resource name whose
// spec.usernamePrefix is prefix: unset or empty means the resource's name and "/",
// "-" means none, anything else is taken as it is.
func EffectiveUsernamePrefix(name string, prefix *string) string {
	switch {
	case prefix == nil || *prefix == "":
		return name + "/"
	case *prefix == "-":
		return ""
	}
	return *prefix
}

// rolesByUser maps each User subject of the cluster's bindings to its roles.
func (c Client) rolesByUser(ctx context.Context) (map[string][]string, error) {
	out := map[string][]string{}
	for _, gvr := range []schema.GroupVersionResource{ClusterRoleBindingGVR, RoleBindingGVR} {
		list, err := c.Dynamic.Resource(gvr).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", gvr.Resource, err)
		}
		for _, b := range list.Items {
			ref, _, _ := unstructured.NestedStringMap(b.Object, "roleRef")
			role := Role{Kind: ref["kind"], Name: ref["name"], Namespace: b.GetNamespace()}.String()
			subjects, _, _ := unstructured.NestedSlice(b.Object, "subjects")
			for _, s := range subjects {
				m, _ := s.(map[string]any)
				if kind, _ := m["kind"].(string); kind != "User" {
					continue
				}
				if name, _ := m["name"].(string); name != "" && !slices.Contains(out[name], role) {
					out[name] = append(out[name], role)
				}
			}
		}
	}
	for _, v := range out {
		slices.Sort(v)
	}
	return out, nil
}
