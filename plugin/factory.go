package plugin

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/adrg/xdg"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/auth"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
	"github.com/kubectl-kyma/kubectl-kyma/internal/httplog"
	"github.com/kubectl-kyma/kubectl-kyma/internal/provisioning"
	"github.com/kubectl-kyma/kubectl-kyma/internal/retry"
)

// Factory gives commands their streams, clock, configuration and clients. The costly
// parts are functions, resolved on first use, so a command pays only for what it uses
// and a test replaces any of them.
type Factory struct {
	IOStreams genericiooptions.IOStreams
	// Clock is the one clock of a command and of the clients the factory builds;
	// tests put a clock.Fake here, so expiry and polling are tested without sleeping.
	Clock clock.Clock

	// ConfigStore is where profiles live.
	ConfigStore func() config.Store
	// CacheDir is where tokens and credentials are cached.
	CacheDir func() (string, error)
	// Profile is the profile the command works with (--profile, KUBECTL_KYMA_PROFILE,
	// the current one, or the seed procedure's environment variables).
	Profile func() (*config.Profile, error)
	// HTTPClient talks to a profile's endpoints: its CA, timeouts and -v logging, no
	// credentials.
	HTTPClient func(p *config.Profile) (*http.Client, error)
	// Provisioning is the Provisioning Service client of a CIS profile.
	Provisioning func() (*provisioning.Client, error)
	// Bindings is the binding service of the profile, CIS or KEB.
	Bindings func() (binding.Service, error)

	profileFlag string
	verbosity   int
	// legacyNames lets a command name a stored profile whose name is not valid (logout,
	// so that such a profile can be removed).
	legacyNames bool
}

// NewFactory returns the factory the real binary uses.
func NewFactory(streams genericiooptions.IOStreams) *Factory {
	f := &Factory{IOStreams: streams, Clock: clock.Real{}}
	f.ConfigStore = func() config.Store {
		return config.Store{Path: filepath.Join(xdg.ConfigHome, "kubectl-kyma", "config.yaml")}
	}
	f.CacheDir = credential.DefaultDir
	f.Profile = sync.OnceValues(f.resolveProfile)
	f.HTTPClient = f.httpClient
	f.Provisioning = sync.OnceValues(f.provisioningClient)
	f.Bindings = sync.OnceValues(f.bindingService)
	return f
}

// AddFlags adds the flags every command shares.
func (f *Factory) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.profileFlag, "profile", "", "the profile to use (default: $KUBECTL_KYMA_PROFILE or the current one)")
	fs.IntVarP(&f.verbosity, "v", "v", 0, "log level: 6 logs requests, 8 also their bodies (secrets redacted)")
}

// ProfileName is the profile a command names (--profile, else KUBECTL_KYMA_PROFILE),
// before it is resolved; empty when it names none. A name that is not valid (see
// credential.CheckProfileName) is an error, whichever of the two gave it.
func (f *Factory) ProfileName() (string, error) {
	name, from := f.profileFlag, "--profile"
	if name == "" {
		name, from = os.Getenv("KUBECTL_KYMA_PROFILE"), "KUBECTL_KYMA_PROFILE"
	}
	if name == "" || f.legacyNames {
		return name, nil
	}
	if err := credential.CheckProfileName(name); err != nil {
		return "", fmt.Errorf("%s: %w", from, err)
	}
	return name, nil
}

func (f *Factory) resolveProfile() (*config.Profile, error) {
	name, err := f.ProfileName()
	if err != nil {
		return nil, err
	}
	if name == config.EnvProfile {
		return envProfile()
	}
	cfg, err := f.ConfigStore().Load()
	if err != nil {
		return nil, err
	}
	if name == "" {
		name = cfg.Current
	}
	if name == "" {
		if len(cfg.Profiles) == 0 {
			if p, err := envProfile(); err == nil {
				return p, nil
			}
			return nil, errors.New("no profile: run 'kubectl kyma login --service-key FILE', or set CLIENT_ID, CLIENT_SECRET, UAA_URL and PROVISIONING_SERVICE_URL")
		}
		return nil, fmt.Errorf("no current profile: pick one with --profile (have: %v)", cfg.Names())
	}
	p, ok := cfg.Profiles[name]
	if !ok {
		return nil, fmt.Errorf("no profile %q (have: %v): run 'kubectl kyma login --profile %s ...'", name, cfg.Names(), name)
	}
	if err := credential.CheckProfileName(name); err != nil && !f.legacyNames {
		// Stored by an earlier version, which took any name.
		return nil, fmt.Errorf("%w; an earlier version stored it: run 'kubectl kyma logout --profile %s --forget' and log in again under another name", err, name)
	}
	return p, p.Validate()
}

// envProfile is the seed procedure's environment variables as a profile, so a CI
// pipeline needs no login step.
func envProfile() (*config.Profile, error) {
	p := &config.Profile{
		Name:            config.EnvProfile,
		Kind:            config.KindCIS,
		ClientID:        os.Getenv("CLIENT_ID"),
		ClientSecret:    os.Getenv("CLIENT_SECRET"),
		UAAURL:          os.Getenv("UAA_URL"),
		ProvisioningURL: os.Getenv("PROVISIONING_SERVICE_URL"),
	}
	if p.ClientID == "" || p.ClientSecret == "" || p.UAAURL == "" || p.ProvisioningURL == "" {
		return nil, errors.New("the env profile needs CLIENT_ID, CLIENT_SECRET, UAA_URL and PROVISIONING_SERVICE_URL")
	}
	return p, nil
}

func (f *Factory) httpClient(p *config.Profile) (*http.Client, error) {
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	if p.CertificateAuthority != "" && !roots.AppendCertsFromPEM([]byte(p.CertificateAuthority)) {
		return nil, fmt.Errorf("profile %q: its certificate authority holds no PEM certificate", p.Name)
	}
	for _, u := range []string{p.UAAURL, p.ProvisioningURL, p.BrokerURL, p.TokenURL} {
		if err := checkURL(u); err != nil {
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
		Transport: retry.New(httplog.New(tr, f.IOStreams.ErrOut, f.verbosity), retry.Defaults),
	}, nil
}

// checkURL refuses plain http except to the loopback interface: tokens and secrets
// cross these connections.
func checkURL(raw string) error {
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

// tokenClient is an HTTP client that sends the profile's OAuth2 token, cached on disk.
func (f *Factory) tokenClient(p *config.Profile) (*http.Client, error) {
	hc, err := f.HTTPClient(p)
	if err != nil {
		return nil, err
	}
	dir, err := f.CacheDir()
	if err != nil {
		return nil, err
	}
	uaa := p.UAAURL
	if p.Kind == config.KindBroker {
		uaa = p.TokenURL
	}
	src := auth.NewTokenSource(auth.Config{UAAURL: uaa, ClientID: p.ClientID, ClientSecret: p.ClientSecret},
		credential.ProfilePath(dir, "tokens", p.Name)+".json", hc)
	src.Root, src.Clock = dir, f.Clock
	return auth.NewHTTPClient(src, hc), nil
}

func (f *Factory) provisioningClient() (*provisioning.Client, error) {
	p, err := f.Profile()
	if err != nil {
		return nil, err
	}
	if p.Kind != config.KindCIS {
		return nil, fmt.Errorf("profile %q talks to the Kyma Environment Broker directly, which has no environment list: use a profile made from a Cloud Management service key", p.Name)
	}
	hc, err := f.tokenClient(p)
	if err != nil {
		return nil, err
	}
	c := provisioning.New(p.ProvisioningURL, hc)
	c.Clock = f.Clock
	return c, nil
}

func (f *Factory) bindingService() (binding.Service, error) {
	p, err := f.Profile()
	if err != nil {
		return nil, err
	}
	if p.Kind == config.KindBroker {
		return f.brokerBindings(p)
	}
	c, err := f.Provisioning()
	if err != nil {
		return nil, err
	}
	return c.Bindings(), nil
}
