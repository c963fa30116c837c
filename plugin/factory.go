package plugin

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"

	"github.com/adrg/xdg"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/broker"
	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
	"github.com/kubectl-kyma/kubectl-kyma/internal/connect"
	"github.com/kubectl-kyma/kubectl-kyma/internal/provisioning"
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
	f.HTTPClient = func(p *config.Profile) (*http.Client, error) {
		return connect.HTTPClient(p, f.IOStreams.ErrOut, f.verbosity)
	}
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
	return f.ConfigStore().Resolve(name, f.legacyNames, os.Getenv)
}

// connector builds the clients of the command's profile.
func (f *Factory) connector() (connect.Connector, error) {
	p, err := f.Profile()
	return connect.Connector{Profile: p, HTTPClient: f.HTTPClient, CacheDir: f.CacheDir, Clock: f.Clock}, err
}

func (f *Factory) provisioningClient() (*provisioning.Client, error) {
	c, err := f.connector()
	if err != nil {
		return nil, err
	}
	return c.Provisioning()
}

// brokerClient is the OSB client of a profile that talks to KEB directly.
func (f *Factory) brokerClient() (*broker.Client, error) {
	c, err := f.connector()
	if err != nil {
		return nil, err
	}
	return c.Broker()
}

// bindingService is KEB's for a broker profile; a Cloud Management profile's shares
// the command's one Provisioning Service client.
func (f *Factory) bindingService() (binding.Service, error) {
	c, err := f.connector()
	if err != nil {
		return nil, err
	}
	if c.Profile.Kind == config.KindBroker {
		return c.BrokerBindings()
	}
	pc, err := f.Provisioning()
	if err != nil {
		return nil, err
	}
	return pc.Bindings(), nil
}
