package emulator

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// Backend makes and removes the Kubernetes side of bindings. The HTTP handlers use only
// this, so they are tested with a fake; the real one talks to an API server via client-go.
type Backend interface {
	// CreateBinding makes the binding's ServiceAccount, ClusterRole and ClusterRoleBinding
	// and returns a token for the ServiceAccount that lives for expiration.
	CreateBinding(ctx context.Context, bindingID string, expiration time.Duration) (token string, expiresAt time.Time, err error)
	// DeleteBinding removes the three objects; objects already gone are no error.
	DeleteBinding(ctx context.Context, bindingID string) error
	// RevokeToken deletes only the ServiceAccount, which invalidates every token issued
	// for it; the janitor uses it when a binding's reported expiry comes before its
	// token's.
	RevokeToken(ctx context.Context, bindingID string) error
	// Cluster returns the API server's URL and its CA bundle (PEM) for kubeconfigs.
	Cluster() (server string, caPEM []byte)
}

// Names KEB gives a binding's objects (internal/broker/bindings/bindings_manager.go).
const (
	bindingNamespace = "kyma-system"
	managedByLabel   = "app.kubernetes.io/managed-by"
	managedByValue   = "kcp-kyma-environment-broker"
)

// bindingObjectName is the name of each of a binding's objects.
func bindingObjectName(bindingID string) string { return "kyma-binding-" + bindingID }

// kubeBackend is the client-go Backend.
type kubeBackend struct {
	client    kubernetes.Interface
	server    string
	caPEM     []byte
	namespace atomic.Bool // kyma-system is known to exist
}

// NewKubeBackend returns a Backend for the API server of an admin kubeconfig file.
func NewKubeBackend(kubeconfigPath string) (Backend, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfigPath)
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s: %w", kubeconfigPath, err)
	}
	ca := cfg.CAData
	if len(ca) == 0 && cfg.CAFile != "" {
		if ca, err = os.ReadFile(cfg.CAFile); err != nil {
			return nil, fmt.Errorf("read the cluster CA of %s: %w", kubeconfigPath, err)
		}
	}
	if len(ca) == 0 {
		return nil, fmt.Errorf("kubeconfig %s has no certificate authority for its cluster: binding kubeconfigs need one", kubeconfigPath)
	}
	// Each bind makes four requests; client-go's default 5 QPS would throttle a test that
	// makes ten bindings in a row.
	cfg.QPS, cfg.Burst = 50, 100
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("create Kubernetes client: %w", err)
	}
	return newKubeBackend(client, cfg.Host, ca), nil
}

func newKubeBackend(client kubernetes.Interface, server string, caPEM []byte) *kubeBackend {
	return &kubeBackend{client: client, server: server, caPEM: caPEM}
}

func (k *kubeBackend) Cluster() (string, []byte) { return k.server, k.caPEM }

// CreateBinding does what KEB's ServiceAccountBindingsManager.Create does, with its
// error messages, after making sure the namespace exists (a Kyma cluster has it; a bare
// test cluster does not).
func (k *kubeBackend) CreateBinding(ctx context.Context, bindingID string, expiration time.Duration) (string, time.Time, error) {
	if err := k.ensureNamespace(ctx); err != nil {
		return "", time.Time{}, err
	}
	name := bindingObjectName(bindingID)
	labels := map[string]string{managedByLabel: managedByValue}
	_, err := k.client.CoreV1().ServiceAccounts(bindingNamespace).Create(ctx, &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: bindingNamespace, Labels: labels},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return "", time.Time{}, fmt.Errorf("while creating a service account: %w", err)
	}
	_, err = k.client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Rules:      []rbacv1.PolicyRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return "", time.Time{}, fmt.Errorf("while creating a cluster role: %w", err)
	}
	_, err = k.client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: bindingNamespace, Name: name}},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return "", time.Time{}, fmt.Errorf("while creating a cluster role binding: %w", err)
	}
	seconds := int64(expiration / time.Second)
	tr, err := k.client.CoreV1().ServiceAccounts(bindingNamespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: bindingNamespace, Labels: labels},
		Spec:       authenticationv1.TokenRequestSpec{ExpirationSeconds: &seconds},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("while creating a service account kubeconfig: %w", err)
	}
	if tr.Status.Token == "" {
		return "", time.Time{}, errors.New("while creating a service account kubeconfig: the API server returned no token")
	}
	return tr.Status.Token, tr.Status.ExpirationTimestamp.Time, nil
}

func (k *kubeBackend) ensureNamespace(ctx context.Context) error {
	if k.namespace.Load() {
		return nil
	}
	_, err := k.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: bindingNamespace},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("while creating namespace %s: %w", bindingNamespace, err)
	}
	k.namespace.Store(true)
	return nil
}

// DeleteBinding deletes the objects in KEB's order: the grant first, the account last.
func (k *kubeBackend) DeleteBinding(ctx context.Context, bindingID string) error {
	name := bindingObjectName(bindingID)
	if err := k.client.RbacV1().ClusterRoleBindings().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("while removing a cluster role binding: %w", err)
	}
	if err := k.client.RbacV1().ClusterRoles().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("while removing a cluster role: %w", err)
	}
	return k.RevokeToken(ctx, bindingID)
}

func (k *kubeBackend) RevokeToken(ctx context.Context, bindingID string) error {
	err := k.client.CoreV1().ServiceAccounts(bindingNamespace).Delete(ctx, bindingObjectName(bindingID), metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("while removing a service account: %w", err)
	}
	return nil
}
