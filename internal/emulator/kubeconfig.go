package emulator

import (
	"encoding/base64"
	"fmt"
)

// bindingKubeconfig renders a binding's kubeconfig exactly as KEB's
// kubeconfigTemplateForKymaBindings does (internal/kubeconfig/kubeconfig.go): it starts
// with "\n---\n", names cluster, context and user after the environment, and ends with
// KEB's stray "\n  ".
func bindingKubeconfig(name, server string, caPEM []byte, token string) string {
	return fmt.Sprintf(`
---
apiVersion: v1
kind: Config
current-context: %[1]s
clusters:
- name: %[1]s
  cluster:
    certificate-authority-data: %[2]s
    server: %[3]s
contexts:
- name: %[1]s
  context:
    cluster: %[1]s
    user: %[1]s
users:
- name: %[1]s
  user:
    token: %[4]s
  `, name, base64.StdEncoding.EncodeToString(caPEM), server, token)
}

// runtimeKubeconfig renders what KEB's /kubeconfig/{instance_id} endpoint serves for a
// cluster without OIDC settings: the cluster and a context, no user and no secret.
func runtimeKubeconfig(name, server string, caPEM []byte) string {
	return fmt.Sprintf(`
---
apiVersion: v1
kind: Config
current-context: %[1]s
clusters:
- name: %[1]s
  cluster:
    certificate-authority-data: %[2]s
    server: %[3]s
contexts:
- name: %[1]s
  context:
    cluster: %[1]s
`, name, base64.StdEncoding.EncodeToString(caPEM), server)
}
