package credential

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// A token goes only to the binding's server, over TLS checked as the binding's
// kubeconfig checks it.
func TestClusterMismatch(t *testing.T) {
	e := &Entry{Environment: "env-1", Server: "https://api.example", CAData: []byte("ca")}
	// entry nil and entry without a CA are chosen by the case's name below.
	for _, tc := range []struct {
		name string
		info ExecInfo
		want string // empty: the same cluster
	}{
		{"run by hand", ExecInfo{}, ""},
		{"kubectl without provideClusterInfo", ExecInfo{NoCluster: true}, "provideClusterInfo: true"},
		{"kubectl without provideClusterInfo, no entry yet", ExecInfo{NoCluster: true}, "provideClusterInfo: true"},
		{"same", ExecInfo{Server: e.Server, CAData: e.CAData}, ""},
		{"same, through a proxy", ExecInfo{Server: e.Server, CAData: e.CAData, ProxyURL: "socks5://127.0.0.1:1080"}, ""},
		{"insecure", ExecInfo{Server: e.Server, CAData: e.CAData, InsecureSkipTLSVerify: true}, "insecure-skip-tls-verify"},
		{"insecure without an entry yet", ExecInfo{Server: e.Server, InsecureSkipTLSVerify: true}, "insecure-skip-tls-verify"},
		{"no CA", ExecInfo{Server: e.Server}, "no certificate-authority-data"},
		{"another CA", ExecInfo{Server: e.Server, CAData: []byte("other")}, "another CA"},
		{"another tls-server-name", ExecInfo{Server: e.Server, CAData: e.CAData, TLSServerName: "evil.example"}, `tls-server-name "evil.example"`},
		{"another server", ExecInfo{Server: "https://other.example", CAData: e.CAData}, "are for the cluster at https://api.example"},
		// A binding whose kubeconfig trusts the system's roots (no CA).
		{"roots: same", ExecInfo{Server: e.Server}, ""},
		{"roots: same, through a proxy", ExecInfo{Server: e.Server, ProxyURL: "http://127.0.0.1:3128"}, ""},
		{"roots: own CA", ExecInfo{Server: e.Server, CAData: []byte("attacker")}, "trusts the system's roots"},
		{"roots: own CA through a proxy", ExecInfo{Server: e.Server, CAData: []byte("attacker"), ProxyURL: "http://attacker:3128"}, "trusts the system's roots"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entry := e
			if strings.HasPrefix(tc.name, "roots:") {
				entry = &Entry{Environment: e.Environment, Server: e.Server}
			}
			if strings.Contains(tc.name, "without an entry") || strings.Contains(tc.name, "no entry yet") {
				entry = nil
			}
			got := clusterMismatch(entry, tc.info)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("clusterMismatch = %q, want %q", got, tc.want)
			}
		})
	}
}

// A kubectl that sets KUBERNETES_EXEC_INFO without the cluster (its kubeconfig lacks
// provideClusterInfo: true) may be pointed at any server: it gets no token, neither
// from the cache nor a new binding.
func TestNoClusterInfoGetsNoToken(t *testing.T) {
	h := newHarness(t)
	h.call(t, "by-hand") // a cached binding, made with the variable unset
	info, err := ParseExecInfo(`{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":false}}`)
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Key: h.key, ExecInfo: info, Caller: "kubectl-1", Clock: h.clock}
	var out bytes.Buffer
	if ok, err := h.r.Cache.Hit(in, &out); ok || err != nil || out.Len() > 0 {
		t.Errorf("Hit = %v, %v, printed %q; want no token", ok, err, out.String())
	}
	err = h.r.Do(context.Background(), in, &out)
	if err == nil || !strings.Contains(err.Error(), "set provideClusterInfo: true") || out.Len() > 0 {
		t.Errorf("Do = %v, printed %q; want a refusal naming provideClusterInfo", err, out.String())
	}
	if n := h.minter.minted.Load(); n != 1 {
		t.Errorf("%d bindings made, want 1 (none for the refused kubectl)", n)
	}
}
