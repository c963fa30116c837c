package plugin

import (
	"strings"
	"testing"
)

// FuzzParseServiceKey: a service key file is whatever the user points at.
func FuzzParseServiceKey(f *testing.F) {
	f.Add(`{"credentials":{"uaa":{"clientid":"id","clientsecret":"s3cret","url":"https://uaa"},"endpoints":{"provisioning_service_url":"https://prov"}}}`)
	f.Add(`{"uaa":{"clientid":"id","clientsecret":"s3cret","url":"https://uaa"},"endpoints":{"provisioning_service_url":"https://prov"}}`)
	f.Add(`{"credentials":null}`)
	f.Add(`{"credentials":{"uaa":"x"}}`)
	f.Fuzz(func(t *testing.T, data string) {
		key, err := parseServiceKey([]byte(data))
		if err != nil {
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("the error holds the secret: %v", err)
			}
			return
		}
		if key.UAA.ClientID == "" || key.UAA.ClientSecret == "" || key.UAA.URL == "" || key.Endpoints.ProvisioningServiceURL == "" {
			t.Fatalf("accepted a key with a field missing: %+v", key)
		}
	})
}

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
