package emulator

import (
	"encoding/base64"
	"fmt"
	"net/http"
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

// handleRuntimeKubeconfig serves GET /kubeconfig/{instance_id}, the target of the
// KubeconfigURL label: like KEB's endpoint, a kubeconfig without credentials.
func (s *server) handleRuntimeKubeconfig(w http.ResponseWriter, r *http.Request) {
	e := s.store.environment(r.PathValue("instance_id"))
	// The cluster is there while the labels name it: also while UPDATING and after a
	// failed update or deletion.
	if e == nil || !e.usableAt(s.opts.now()) {
		http.Error(w, "runtime not found or not ready", http.StatusNotFound)
		return
	}
	server, ca := s.backend.Cluster()
	w.Header().Set("Content-Type", "application/x-yaml")
	_, _ = w.Write([]byte(runtimeKubeconfig(e.Name, server, ca)))
}
