package emulator

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/clientcmd"
)

// fakeClientset returns a client-go fake that answers TokenRequests as the API server
// does, with the requested lifetime.
func fakeClientset(now time.Time) *fake.Clientset {
	c := fake.NewClientset()
	c.PrependReactor("create", "serviceaccounts", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "token" {
			return false, nil, nil
		}
		tr := a.(k8stesting.CreateAction).GetObject().(*authenticationv1.TokenRequest)
		exp := now.Add(time.Duration(*tr.Spec.ExpirationSeconds) * time.Second)
		return true, &authenticationv1.TokenRequest{Status: authenticationv1.TokenRequestStatus{
			Token: "jwt-for-" + tr.Name, ExpirationTimestamp: metav1.NewTime(exp),
		}}, nil
	})
	return c
}

func TestKubeBackend(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	client := fakeClientset(now)
	k := newKubeBackend(client, "https://127.0.0.1:6443", []byte("CA"))

	token, exp, err := k.CreateBinding(ctx, "b1", 900*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if token != "jwt-for-kyma-binding-b1" || !exp.Equal(now.Add(900*time.Second)) {
		t.Errorf("token %q expiring %v", token, exp)
	}
	if _, err := client.CoreV1().Namespaces().Get(ctx, "kyma-system", metav1.GetOptions{}); err != nil {
		t.Errorf("namespace kyma-system: %v", err)
	}
	sa, err := client.CoreV1().ServiceAccounts("kyma-system").Get(ctx, "kyma-binding-b1", metav1.GetOptions{})
	if err != nil || sa.Labels["app.kubernetes.io/managed-by"] != "kcp-kyma-environment-broker" {
		t.Errorf("service account: %v %v", sa, err)
	}
	role, err := client.RbacV1().ClusterRoles().Get(ctx, "kyma-binding-b1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]rbacv1.PolicyRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}}, role.Rules); diff != "" {
		t.Errorf("cluster role rules (-want +got):\n%s", diff)
	}
	crb, err := client.RbacV1().ClusterRoleBindings().Get(ctx, "kyma-binding-b1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantCRB := []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: "kyma-system", Name: "kyma-binding-b1"}}
	if diff := cmp.Diff(wantCRB, crb.Subjects); diff != "" || crb.RoleRef.Name != "kyma-binding-b1" || crb.RoleRef.Kind != "ClusterRole" {
		t.Errorf("cluster role binding %+v (-want +got subjects):\n%s", crb.RoleRef, diff)
	}

	// A second binding finds the namespace there; creating objects that exist is no error.
	if _, _, err := k.CreateBinding(ctx, "b1", 600*time.Second); err != nil {
		t.Errorf("create again: %v", err)
	}

	if err := k.RevokeToken(ctx, "b1"); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().ServiceAccounts("kyma-system").Get(ctx, "kyma-binding-b1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("service account after revoke: %v", err)
	}
	if _, err := client.RbacV1().ClusterRoles().Get(ctx, "kyma-binding-b1", metav1.GetOptions{}); err != nil {
		t.Errorf("revoke removed the cluster role: %v", err)
	}

	if err := k.DeleteBinding(ctx, "b1"); err != nil {
		t.Fatal(err)
	}
	if _, err := client.RbacV1().ClusterRoleBindings().Get(ctx, "kyma-binding-b1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("cluster role binding after delete: %v", err)
	}
	if _, err := client.RbacV1().ClusterRoles().Get(ctx, "kyma-binding-b1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("cluster role after delete: %v", err)
	}
	if err := k.DeleteBinding(ctx, "b1"); err != nil {
		t.Errorf("deleting what is gone: %v", err)
	}
}

func TestBindingKubeconfig(t *testing.T) {
	kc := bindingKubeconfig("my-kyma", "https://127.0.0.1:6443", []byte("PEM"), "tok")
	if !strings.HasPrefix(kc, "\n---\n") {
		t.Errorf("kubeconfig does not start with KEB's \\n---\\n: %q", kc[:10])
	}
	cfg, err := clientcmd.Load([]byte(kc))
	if err != nil {
		t.Fatalf("client-go cannot read the kubeconfig: %v", err)
	}
	if cfg.CurrentContext != "my-kyma" {
		t.Errorf("current-context = %q", cfg.CurrentContext)
	}
	ctx := cfg.Contexts["my-kyma"]
	if ctx == nil || ctx.Cluster != "my-kyma" || ctx.AuthInfo != "my-kyma" {
		t.Fatalf("context = %+v", ctx)
	}
	if c := cfg.Clusters["my-kyma"]; c == nil || c.Server != "https://127.0.0.1:6443" || string(c.CertificateAuthorityData) != "PEM" {
		t.Errorf("cluster = %+v", c)
	}
	if u := cfg.AuthInfos["my-kyma"]; u == nil || u.Token != "tok" {
		t.Errorf("user = %+v", u)
	}
}
