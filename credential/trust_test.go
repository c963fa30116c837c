package credential

import (
	"strings"
	"testing"
)

// A token goes only to the binding's server, over TLS checked as the binding's
// kubeconfig checks it.
func TestClusterMismatch(t *testing.T) {
	e := &Entry{Environment: "env-1", Server: "https://api.example", CAData: []byte("ca")}
	for _, tc := range []struct {
		name string
		info ExecInfo
		want string // empty: the same cluster
	}{
		{"no cluster info", ExecInfo{}, ""},
		{"same", ExecInfo{Server: e.Server, CAData: e.CAData}, ""},
		{"same, through a proxy", ExecInfo{Server: e.Server, CAData: e.CAData, ProxyURL: "socks5://127.0.0.1:1080"}, ""},
		{"insecure", ExecInfo{Server: e.Server, CAData: e.CAData, InsecureSkipTLSVerify: true}, "insecure-skip-tls-verify"},
		{"insecure without an entry yet", ExecInfo{Server: e.Server, InsecureSkipTLSVerify: true}, "insecure-skip-tls-verify"},
		{"no CA", ExecInfo{Server: e.Server}, "no certificate-authority-data"},
		{"another CA", ExecInfo{Server: e.Server, CAData: []byte("other")}, "another CA"},
		{"another tls-server-name", ExecInfo{Server: e.Server, CAData: e.CAData, TLSServerName: "evil.example"}, `tls-server-name "evil.example"`},
		{"another server", ExecInfo{Server: "https://other.example", CAData: e.CAData}, "are for the cluster at https://api.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entry := e
			if strings.Contains(tc.name, "without an entry") {
				entry = nil
			}
			got := clusterMismatch(entry, tc.info)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("clusterMismatch = %q, want %q", got, tc.want)
			}
		})
	}
}
