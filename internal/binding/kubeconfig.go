package binding

import (
	"errors"
	"fmt"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Kubeconfig is what a binding's kubeconfig says about reaching its cluster. KEB
// renders it as one cluster, user and context, named after the instance, whose user
// holds a service-account token:
//
//	apiVersion: v1
//	kind: Config
//	current-context: my-kyma
//	clusters:
//	- name: my-kyma
//	  cluster:
//	    certificate-authority-data: LS0t...
//	    server: https://api.c-1234.kyma.ondemand.com
//	contexts:
//	- name: my-kyma
//	  context: {cluster: my-kyma, user: my-kyma}
//	users:
//	- name: my-kyma
//	  user:
//	    token: eyJhbGciOiJSUzI1NiIs...
type Kubeconfig struct {
	Server        string
	CAData        []byte
	TLSServerName string
	// Token is the binding's bearer token: a secret, never to be logged.
	Token string
}

// ParseKubeconfig reads the current context of a binding's kubeconfig (its only one
// when it names none): the cluster's server, CA and TLS server name, and the user's
// token. It fails when the text is no kubeconfig or lacks any of context, server and
// token.
func ParseKubeconfig(text string) (*Kubeconfig, error) {
	cfg, err := clientcmd.Load([]byte(text))
	if err != nil {
		return nil, fmt.Errorf("its kubeconfig does not parse: %w", err)
	}
	kctx := currentContext(cfg)
	if kctx == nil {
		return nil, errors.New("its kubeconfig has no current context")
	}
	cluster, user := cfg.Clusters[kctx.Cluster], cfg.AuthInfos[kctx.AuthInfo]
	if cluster == nil || cluster.Server == "" {
		return nil, errors.New("its kubeconfig names no cluster server")
	}
	if user == nil || user.Token == "" {
		return nil, errors.New("its kubeconfig holds no token")
	}
	return &Kubeconfig{Server: cluster.Server, CAData: cluster.CertificateAuthorityData, TLSServerName: cluster.TLSServerName, Token: user.Token}, nil
}

// KubeconfigExpiry is JWTExpiry of the token in a binding's kubeconfig: when the
// binding stops working, for a service that did not say (KEB's GET of a binding). The
// token is the current context's user's, or, in a kubeconfig without contexts, its
// only user's.
func KubeconfigExpiry(text string) (time.Time, error) {
	cfg, err := clientcmd.Load([]byte(text))
	if err != nil {
		return time.Time{}, fmt.Errorf("the kubeconfig does not parse: %w", err)
	}
	var user *clientcmdapi.AuthInfo
	if kctx := currentContext(cfg); kctx != nil {
		user = cfg.AuthInfos[kctx.AuthInfo]
	} else if len(cfg.Contexts) == 0 && len(cfg.AuthInfos) == 1 {
		for _, u := range cfg.AuthInfos {
			user = u
		}
	}
	if user == nil || user.Token == "" {
		return time.Time{}, errors.New("the kubeconfig has no user token")
	}
	return JWTExpiry(user.Token)
}

// currentContext is the kubeconfig's current context, or its only one when it names
// none; nil when there is neither.
func currentContext(cfg *clientcmdapi.Config) *clientcmdapi.Context {
	name := cfg.CurrentContext
	if name == "" && len(cfg.Contexts) == 1 {
		for n := range cfg.Contexts {
			name = n
		}
	}
	return cfg.Contexts[name]
}
