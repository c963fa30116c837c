package connect

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
)

func TestCheckURL(t *testing.T) {
	for in, ok := range map[string]bool{
		"https://uaa.example":     true,
		"http://127.0.0.1:8080":   true,
		"http://[::1]:8080":       true,
		"http://localhost:1":      true,
		"http://uaa.example":      false,
		"ftp://x":                 false,
		"uaa.example/oauth/token": false,
		"":                        true,
	} {
		if err := CheckURL(in); (err == nil) != ok {
			t.Errorf("CheckURL(%q) = %v, want ok=%v", in, err, ok)
		}
	}
}

func TestHTTPClientRefuses(t *testing.T) {
	for name, tc := range map[string]struct {
		p    config.Profile
		want string
	}{
		"plain http": {config.Profile{Name: "p", UAAURL: "http://uaa.example"}, `profile "p": http://uaa.example uses plain http`},
		"no PEM":     {config.Profile{Name: "p", CertificateAuthority: "not a certificate"}, `profile "p": its certificate authority holds no PEM certificate`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := HTTPClient(&tc.p, io.Discard, 0)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to start with %q", err, tc.want)
			}
		})
	}
}

// The token goes to the profile's token URL and is sent to its service.
func TestConnectorSendsToken(t *testing.T) {
	var gotAuth string
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"at","token_type":"bearer","expires_in":43199}`)
	})
	mux.HandleFunc("GET /provisioning/v1/environments", func(w http.ResponseWriter, r *http.Request) {
		gotAuth = r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"environmentInstances":[]}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	dir := t.TempDir()
	c := Connector{
		Profile:    &config.Profile{Name: "dev", Kind: config.KindCIS, ClientID: "id", ClientSecret: "secret", UAAURL: srv.URL, ProvisioningURL: srv.URL},
		HTTPClient: func(p *config.Profile) (*http.Client, error) { return HTTPClient(p, io.Discard, 0) },
		CacheDir:   func() (string, error) { return filepath.Join(dir, "cache"), nil },
	}
	pc, err := c.Provisioning()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.ListEnvironments(t.Context()); err != nil {
		t.Fatal(err)
	}
	if gotAuth != "Bearer at" {
		t.Errorf("Authorization = %q, want %q", gotAuth, "Bearer at")
	}
}

func TestConnectorProvisioningNeedsCIS(t *testing.T) {
	c := Connector{Profile: &config.Profile{Name: "keb", Kind: config.KindBroker}}
	_, err := c.Provisioning()
	if err == nil || !strings.Contains(err.Error(), `profile "keb" talks to the Kyma Environment Broker directly`) {
		t.Errorf("error = %v, want the broker profile named", err)
	}
}

func TestTokenURL(t *testing.T) {
	if got := TokenURL(&config.Profile{Kind: config.KindCIS, UAAURL: "u", TokenURL: "t"}); got != "u" {
		t.Errorf("cis: %q, want u", got)
	}
	if got := TokenURL(&config.Profile{Kind: config.KindBroker, UAAURL: "u", TokenURL: "t"}); got != "t" {
		t.Errorf("broker: %q, want t", got)
	}
}
