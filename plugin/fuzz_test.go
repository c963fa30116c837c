package plugin

import "testing"

// FuzzParseKubeconfig: the kubeconfig inside a binding comes from the service.
func FuzzParseKubeconfig(f *testing.F) {
	f.Add("\n---\napiVersion: v1\nkind: Config\nclusters:\n- name: k\n  cluster:\n    server: https://api\ncontexts:\n- name: k\n  context:\n    cluster: k\n    user: k\ncurrent-context: k\nusers:\n- name: k\n  user:\n    token: t\n")
	f.Add("apiVersion: v1\nkind: Config\ncontexts:\n- name: k\n  context:\n    cluster: missing\n")
	f.Add("{")
	f.Add("current-context: [")
	f.Fuzz(func(t *testing.T, text string) {
		kc, err := parseKubeconfig(text)
		if err == nil && (kc.Server == "" || kc.Token == "") {
			t.Fatalf("accepted a kubeconfig without server or token: %+v", kc)
		}
	})
}
