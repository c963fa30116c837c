// Package rbac narrows what a binding may do on its cluster, for `kubectl kyma run
// --role`: a binding of a Kyma environment comes with a ClusterRole kyma-binding-ID that
// allows everything, and the binding itself, whose token may lower its own rights,
// rewrites that role's rules (rbac.authorization.k8s.io/v1, see
// https://kubernetes.io/docs/reference/access-authn-authz/rbac/) and waits until the API
// server applies them.
package rbac

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"

	"k8s.io/client-go/tools/clientcmd"
)

// Roles that a binding can be narrowed to.
const (
	// View may get, list and watch every resource but secrets and the ways into a
	// container or node.
	View = "view"
	// Edit may also create, update, patch, delete and deletecollection them, except in
	// the RBAC group.
	Edit = "edit"
	// Admin is the binding as made: every verb on every resource.
	Admin = "admin"
)

// Roles are the roles in the order the command offers them.
var Roles = []string{View, Edit, Admin}

// policyRule is an rbac/v1 PolicyRule.
type policyRule struct {
	APIGroups []string `json:"apiGroups"`
	Resources []string `json:"resources"`
	Verbs     []string `json:"verbs"`
}

var (
	readVerbs  = []string{"get", "list", "watch"}
	writeVerbs = []string{"create", "update", "patch", "delete", "deletecollection"}
)

// rbacGroup is the API group that edit may not change: changing it could give the
// binding back what --role took away.
const rbacGroup = "rbac.authorization.k8s.io"

// hidden are the core resources and subresources no narrowed role reads or writes:
// secrets (tokens of other service accounts, and whatever the cluster keeps there), a
// new token for any service account, and ways into a running container or node, which
// would carry the command past what its role allows. Kubernetes' own view role leaves
// out secrets and these subresources as well.
var hidden = []string{"secrets", "serviceaccounts/token", "pods/exec", "pods/attach", "pods/portforward",
	"pods/proxy", "pods/ephemeralcontainers", "services/proxy", "nodes/proxy"}

// roleRules are the rules of a narrowed binding. resources are what the cluster serves
// then, by API group ("" is the core group). RBAC rules can only add, so every resource
// is listed by name: a wildcard would take in secrets and the subresources in hidden.
// view may get, list and watch each of them but hidden; edit may also create, update,
// patch, delete and deletecollection them, except in the RBAC group. Neither gets the
// impersonate, bind or escalate verbs.
func roleRules(role string, resources map[string][]string) []policyRule {
	groups := slices.Sorted(maps.Keys(resources))
	var rules []policyRule
	for _, g := range groups {
		var names []string
		for _, r := range resources[g] {
			if !(g == "" && slices.Contains(hidden, r)) && !slices.Contains(names, r) {
				names = append(names, r)
			}
		}
		if len(names) == 0 {
			continue
		}
		slices.Sort(names)
		rules = append(rules, policyRule{APIGroups: []string{g}, Resources: names, Verbs: readVerbs})
		if role == Edit && g != rbacGroup {
			rules = append(rules, policyRule{APIGroups: []string{g}, Resources: names, Verbs: writeVerbs})
		}
	}
	return rules
}

// Narrow replaces the rules of the binding's ClusterRole kyma-binding-ID, as the
// binding itself (its token may do anything, including lowering its own rights), and
// waits until the API server's authorizer applies them. Admin leaves the role as it is.
//
// It speaks JSON over client-go's rest transport rather than through the typed
// clientset: k8s.io/client-go/kubernetes/scheme has the costliest init of all client-go,
// which every kyma-cli start (credential refreshes included) would pay.
func Narrow(ctx context.Context, kubeconfig, bindingID, role string) error {
	switch role {
	case Admin:
		return nil // the binding as made
	case View, Edit:
	default:
		return fmt.Errorf("no role %q: want view, edit or admin", role)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig([]byte(kubeconfig))
	if err != nil {
		return fmt.Errorf("read the binding's kubeconfig: %w", err)
	}
	c, err := newKubeClient(cfg)
	if err != nil {
		return err
	}
	resources, err := c.apiResources(ctx)
	if err != nil {
		return err
	}
	path := "/apis/" + rbacGroup + "/v1/clusterroles/kyma-binding-" + bindingID
	for attempt := 0; ; attempt++ {
		var cr map[string]any
		if err := c.do(ctx, http.MethodGet, path, nil, &cr); err != nil {
			return fmt.Errorf("read ClusterRole kyma-binding-%s: %w", bindingID, err)
		}
		cr["rules"] = roleRules(role, resources)
		err := c.do(ctx, http.MethodPut, path, cr, nil)
		var se *statusError
		if errors.As(err, &se) && se.code == http.StatusConflict && attempt < 3 {
			continue // changed in between: read it again
		}
		if err != nil {
			return fmt.Errorf("update ClusterRole kyma-binding-%s: %w", bindingID, err)
		}
		break
	}
	return c.waitDenied(ctx, deniedProbe(role))
}

// deniedProbe is something the narrowed role no longer allows.
func deniedProbe(role string) map[string]any {
	if role == View {
		return map[string]any{"verb": "create", "resource": "pods", "namespace": "default"}
	}
	return map[string]any{"verb": "create", "resource": "serviceaccounts", "subresource": "token", "namespace": "default"}
}
