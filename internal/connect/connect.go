// Package connect turns a profile (internal/config) into the clients that talk to its
// services: an HTTP client that trusts the profile's CA, refuses plain http off this
// machine, retries and logs at -v; an OAuth2 client whose token is cached on disk
// (internal/auth); and the Provisioning Service, Kyma Environment Broker and binding
// clients on top of it.
package connect

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/auth"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/broker"
	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
	"github.com/kubectl-kyma/kubectl-kyma/internal/httplog"
	"github.com/kubectl-kyma/kubectl-kyma/internal/provisioning"
	"github.com/kubectl-kyma/kubectl-kyma/internal/retry"
)

// HTTPClient is the client for a profile's endpoints: the system's CAs and the
// profile's, TLS 1.2 or later, retries, and the request log on log at verbosity 6 and
// above. It sends no credentials. A URL of the profile that may not carry secrets (see
// CheckURL) is an error here, before any request.
func HTTPClient(p *config.Profile, log io.Writer, verbosity int) (*http.Client, error) {
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	if p.CertificateAuthority != "" && !roots.AppendCertsFromPEM([]byte(p.CertificateAuthority)) {
		return nil, fmt.Errorf("profile %q: its certificate authority holds no PEM certificate", p.Name)
	}
	for _, u := range []string{p.UAAURL, p.ProvisioningURL, p.BrokerURL, p.TokenURL} {
		if err := CheckURL(u); err != nil {
			return nil, fmt.Errorf("profile %q: %w", p.Name, err)
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	// Each attempt waits at most 30 s for an answer (KEB gives up on a bind after
	// 15 s); the whole call, retries included, at most two minutes.
	tr.ResponseHeaderTimeout = 30 * time.Second
	return &http.Client{
		Timeout:   2 * time.Minute,
		Transport: retry.New(httplog.New(tr, log, verbosity), retry.Defaults),
	}, nil
}

// CheckURL refuses plain http except to the loopback interface: tokens and secrets
// cross these connections. An empty URL (a field the profile's kind has not) passes.
func CheckURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not a URL", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if ip := net.ParseIP(u.Hostname()); (ip != nil && ip.IsLoopback()) || u.Hostname() == "localhost" {
			return nil
		}
		return fmt.Errorf("%s uses plain http: only https is allowed, except to localhost", raw)
	}
	return fmt.Errorf("%q is not an http(s) URL", raw)
}

// TokenURL is where a profile's client asks for its OAuth2 token: the UAA of a
// Cloud Management profile, the token URL of a broker profile.
func TokenURL(p *config.Profile) string {
	if p.Kind == config.KindBroker {
		return p.TokenURL
	}
	return p.UAAURL
}

// TokenFile is where a profile's OAuth2 token is cached under the cache folder dir.
func TokenFile(dir, profile string) string {
	return credential.ProfilePath(dir, "tokens", profile) + ".json"
}

// Connector builds the API clients of one profile. Its parts are functions so that
// the caller decides what is cached and a test replaces any of them.
type Connector struct {
	Profile *config.Profile
	// HTTPClient is the profile's client without credentials (see HTTPClient).
	HTTPClient func(p *config.Profile) (*http.Client, error)
	// CacheDir is the folder of the credential cache, where the token is kept.
	CacheDir func() (string, error)
	// Clock is the clients' and the token source's clock.
	Clock clock.Clock
}

// TokenClient is an HTTP client that sends the profile's OAuth2 token, cached on disk
// under the cache folder.
func (c Connector) TokenClient() (*http.Client, error) {
	hc, err := c.HTTPClient(c.Profile)
	if err != nil {
		return nil, err
	}
	dir, err := c.CacheDir()
	if err != nil {
		return nil, err
	}
	p := c.Profile
	src := auth.NewTokenSource(auth.Config{UAAURL: TokenURL(p), ClientID: p.ClientID, ClientSecret: p.ClientSecret},
		TokenFile(dir, p.Name), hc)
	src.Root, src.Clock = dir, c.Clock
	return auth.NewHTTPClient(src, hc), nil
}

// Provisioning is the Provisioning Service client of a Cloud Management profile; a
// broker profile has none.
func (c Connector) Provisioning() (*provisioning.Client, error) {
	if c.Profile.Kind != config.KindCIS {
		return nil, fmt.Errorf("profile %q talks to the Kyma Environment Broker directly, which has no environment list: use a profile made from a Cloud Management service key", c.Profile.Name)
	}
	hc, err := c.TokenClient()
	if err != nil {
		return nil, err
	}
	pc := provisioning.New(c.Profile.ProvisioningURL, hc)
	pc.Clock = c.Clock
	return pc, nil
}

// Broker is the OSB client of a profile that talks to KEB directly, at /oauth or
// /oauth/{region}.
func (c Connector) Broker() (*broker.Client, error) {
	hc, err := c.TokenClient()
	if err != nil {
		return nil, err
	}
	u := c.Profile.BrokerURL
	if c.Profile.Region != "" {
		u += "/" + c.Profile.Region
	}
	bc := broker.New(u, hc)
	bc.Clock = c.Clock
	return bc, nil
}

// BrokerBindings is the binding service of a broker profile, sending its service and
// plan ids.
func (c Connector) BrokerBindings() (binding.Service, error) {
	bc, err := c.Broker()
	if err != nil {
		return nil, err
	}
	return bc.Bindings(broker.BindingConfig{ServiceID: c.Profile.ServiceID, PlanID: c.Profile.PlanID}), nil
}
