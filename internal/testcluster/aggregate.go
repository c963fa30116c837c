package testcluster

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
)

// aggregateClusterRoles fills the aggregated ClusterRoles (view, edit, admin), once, as
// kube-controller-manager's clusterrole-aggregation controller would: the test cluster
// runs no controller manager, so `view` would otherwise grant nothing, and a CI
// identity bound to it (oidc trust --clusterrole view) could not even list pods.
func (c *Cluster) aggregateClusterRoles(ctx context.Context) error {
	client, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		return fmt.Errorf("create Kubernetes client: %w", err)
	}
	roles, err := client.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list cluster roles: %w", err)
	}
	for _, role := range roles.Items {
		if role.AggregationRule == nil {
			continue
		}
		var rules []rbacv1.PolicyRule
		for _, sel := range role.AggregationRule.ClusterRoleSelectors {
			s, err := metav1.LabelSelectorAsSelector(&sel)
			if err != nil {
				return fmt.Errorf("cluster role %s: %w", role.Name, err)
			}
			for _, part := range roles.Items {
				if part.Name != role.Name && s.Matches(labels.Set(part.Labels)) {
					rules = append(rules, part.Rules...)
				}
			}
		}
		role.Rules = rules
		if _, err := client.RbacV1().ClusterRoles().Update(ctx, &role, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("aggregate cluster role %s: %w", role.Name, err)
		}
	}
	return nil
}
