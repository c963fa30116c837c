package credential_test

import (
	"testing"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/oidctrust"
)

// TestClusterAudienceAgreesWithTheTrust: the helper and `oidc trust` name a cluster
// alike, or the helper would ask for tokens the trust refuses. The helper may refuse
// more (it parses without net/url), never accept differently.
func TestClusterAudienceAgreesWithTheTrust(t *testing.T) {
	for _, s := range []string{
		"https://api.c-1a2b3c.kyma.ondemand.com", "HTTPS://API.Example.COM:443/", "https://127.0.0.1:6443", "https://api.example:",
		"https://[::1]:443", "https://[::1]:6443/", "https://[2001:DB8::1]", "http://proxy.example:80/k8s/clusters/c-1/",
		"https://proxy.example/k8s/clusters/C-1", "https://proxy.example/a%2Fb/@x", "https://api.example:0443", "http://a:80",
		"https://a//", "https://a/b/", "https://a/%41", "https://a/~x;y=z", "https://EXAMPLE.com:8443/Path/",
		"", "api.example", "https://user@api.example", "https://api.example?x=1", "https://api.example#f", "https://api.example/a b",
	} {
		mine, err := credential.ClusterAudience(s)
		theirs, terr := oidctrust.ClusterAudience(s)
		if err == nil && (terr != nil || mine != theirs) {
			t.Errorf("%q: the helper says %q, the trust %q (%v)", s, mine, theirs, terr)
		}
	}
}
