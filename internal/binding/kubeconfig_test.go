package binding

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseKubeconfig(t *testing.T) {
	ca := []byte("-----BEGIN CERTIFICATE-----\n")
	full := kebKubeconfig("tok")
	tests := []struct {
		name, kubeconfig string
		want             *Kubeconfig
		wantErr          string
	}{
		{"KEB's kubeconfig", full, &Kubeconfig{Server: "https://api.c-1234.kyma.ondemand.com", CAData: ca, Token: "tok"}, ""},
		{"the only context when none is current", strings.Replace(full, "current-context: my-kyma\n", "", 1),
			&Kubeconfig{Server: "https://api.c-1234.kyma.ondemand.com", CAData: ca, Token: "tok"}, ""},
		{"TLS server name", strings.Replace(full, "    server:", "    tls-server-name: api.internal\n    server:", 1),
			&Kubeconfig{Server: "https://api.c-1234.kyma.ondemand.com", CAData: ca, TLSServerName: "api.internal", Token: "tok"}, ""},
		{"JSON", `{"apiVersion":"v1","kind":"Config","current-context":"k","clusters":[{"name":"k","cluster":{"server":"https://api"}}],` +
			`"contexts":[{"name":"k","context":{"cluster":"k","user":"k"}}],"users":[{"name":"k","user":{"token":"tok"}}]}`,
			&Kubeconfig{Server: "https://api", Token: "tok"}, ""},
		{"not YAML", "current-context: [", nil, "its kubeconfig does not parse: "},
		{"no context", "apiVersion: v1\nkind: Config\n", nil, "its kubeconfig has no current context"},
		{"current context missing", strings.Replace(full, "current-context: my-kyma", "current-context: other", 1), nil, "its kubeconfig has no current context"},
		{"no server", strings.Replace(full, "    server: https://api.c-1234.kyma.ondemand.com\n", "", 1), nil, "its kubeconfig names no cluster server"},
		{"no token", strings.Replace(full, "    token: tok\n", "    exec:\n      command: x\n", 1), nil, "its kubeconfig holds no token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseKubeconfig(tt.kubeconfig)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzParseKubeconfig: the kubeconfig inside a binding comes from the service.
func FuzzParseKubeconfig(f *testing.F) {
	f.Add("\n---\napiVersion: v1\nkind: Config\nclusters:\n- name: k\n  cluster:\n    server: https://api\ncontexts:\n- name: k\n  context:\n    cluster: k\n    user: k\ncurrent-context: k\nusers:\n- name: k\n  user:\n    token: t\n")
	f.Add("apiVersion: v1\nkind: Config\ncontexts:\n- name: k\n  context:\n    cluster: missing\n")
	f.Add("{")
	f.Add("current-context: [")
	f.Fuzz(func(t *testing.T, text string) {
		kc, err := ParseKubeconfig(text)
		if err == nil && (kc.Server == "" || kc.Token == "") {
			t.Fatalf("accepted a kubeconfig without server or token: %+v", kc)
		}
	})
}

func TestKubeconfigExpiry(t *testing.T) {
	jwt := fakeJWT(`{"exp":1795425637}`)
	exp := time.Unix(1795425637, 0)
	tests := []struct {
		name, kubeconfig string
		want             time.Time
		wantErr          string
	}{
		{"KEB's kubeconfig", kebKubeconfig(jwt), exp, ""},
		{"double-quoted", "users:\n- name: u\n  user:\n    token: \"" + jwt + "\"\n", exp, ""},
		{"single-quoted", "users:\n- user:\n    token: '" + jwt + "'\n", exp, ""},
		{"JSON kubeconfig", `{"users":[{"name":"u","user":{` + "\n" + `"token": "` + jwt + `",` + "\n" + `"x":1}}]}`, exp, ""},
		{"the current context's user", strings.Replace(kebKubeconfig(jwt), "users:\n", "users:\n- name: other\n  user:\n    token: "+fakeJWT(`{"exp":1}`)+"\n", 1), exp, ""},
		{"id-token is not it", "users:\n- user:\n    auth-provider:\n      config:\n        id-token: abc\n        refresh-token: def\n", time.Time{}, "the kubeconfig has no user token"},
		{"no user token", "users:\n- user:\n    exec:\n      command: kubectl-kyma\n", time.Time{}, "the kubeconfig has no user token"},
		{"no user", "apiVersion: v1\n", time.Time{}, "the kubeconfig has no user token"},
		{"not a JWT", kebKubeconfig("tok"), time.Time{}, "not a JWT: want three dot-separated parts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := KubeconfigExpiry(tt.kubeconfig)
			if diff := cmp.Diff(tt.wantErr, errString(err)); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if !got.Equal(tt.want) {
				t.Errorf("KubeconfigExpiry = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestJWTExpiry(t *testing.T) {
	tests := []struct {
		name    string
		token   string
		want    time.Time
		wantErr string
	}{
		{"integer exp", fakeJWT(`{"sub":"x","exp":1795425637}`), time.Unix(1795425637, 0).UTC(), ""},
		{"float exp", fakeJWT(`{"exp":1795425637.5}`), time.Unix(1795425637, 5e8).UTC(), ""},
		{"padded payload", strings.Replace(fakeJWT(`{"exp":1}`), ".", "==.", 1), time.Unix(1, 0).UTC(), ""},
		{"no exp", fakeJWT(`{"sub":"x"}`), time.Time{}, "the JWT has no exp claim"},
		{"exp in ms is not a time", fakeJWT(`{"exp":1795425637000}`), time.Time{}, "the JWT's exp claim is not a time"},
		{"two parts", "a.b", time.Time{}, "not a JWT: want three dot-separated parts"},
		{"bad base64", "a.!!!.c", time.Time{}, "not a JWT: the payload is not base64url"},
		{"not JSON", "a." + base64.RawURLEncoding.EncodeToString([]byte("[1]")) + ".c", time.Time{}, "not a JWT: the payload is not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := JWTExpiry(tt.token)
			if diff := cmp.Diff(tt.wantErr, errString(err)); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if !got.Equal(tt.want) {
				t.Errorf("JWTExpiry = %v, want %v", got, tt.want)
			}
		})
	}
}

// fakeJWT builds an unsigned JWT with the given payload.
func fakeJWT(payload string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"RS256","kid":"k"}`)) + "." + enc.EncodeToString([]byte(payload)) + ".c2ln"
}

// kebKubeconfig is shaped like the kubeconfig in a KEB binding: it starts with
// "\n---\n" and names cluster, context and user after the instance.
func kebKubeconfig(token string) string {
	return `
---
apiVersion: v1
kind: Config
current-context: my-kyma
clusters:
- name: my-kyma
  cluster:
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==
    server: https://api.c-1234.kyma.ondemand.com
contexts:
- name: my-kyma
  context:
    cluster: my-kyma
    user: my-kyma
users:
- name: my-kyma
  user:
    token: ` + token + "\n"
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
