package plugin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-kyma/kubectl-kyma/internal/auth"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
	"github.com/kubectl-kyma/kubectl-kyma/internal/connect"
)

// KEB's service id and the aws plan id: a broker profile's defaults. KEB does not check
// them against the instance on bind, but requires both.
const (
	kebServiceID  = "47c9dcbf-ff30-448e-ab36-d3bad66ba281"
	kebAWSPlanID  = "361c511f-f939-4621-b228-d0fb79a1fe15"
	defaultRegion = ""
)

// LoginOptions stores a profile after one token request proves its credentials.
type LoginOptions struct {
	IO         genericiooptions.IOStreams
	Store      config.Store
	HTTPClient func(p *config.Profile) (*http.Client, error)

	ServiceKeyFile       string
	CertificateAuthority string

	BrokerURL        string
	TokenURL         string
	ClientID         string
	ClientSecretFile string
	Region           string
	ServiceID        string
	PlanID           string

	// profile is the one to store: named by --profile or KUBECTL_KYMA_PROFILE
	// ("default" when neither names one), filled from the files the flags name.
	profile *config.Profile
}

// NewCmdLogin builds `kubectl kyma login`; runF, when set, replaces Run (tests).
func NewCmdLogin(f *Factory, runF func(*LoginOptions) error) *cobra.Command {
	o := &LoginOptions{}
	cmd := &cobra.Command{
		Use:   "login (--service-key FILE | --broker-url URL --token-url URL --client-id ID --client-secret-file FILE)",
		Short: "Store a profile from a Cloud Management service key, or for the Kyma Environment Broker",
		Example: `  # A service key of the Cloud Management service (plan local), as 'btp get services/binding' prints it
  kubectl kyma login --service-key cis-key.json --profile dev

  # Talk to the Kyma Environment Broker's OSB API directly (operators)
  kubectl kyma login --profile keb --broker-url https://kyma-env-broker.example/oauth \
      --token-url https://oauth.example/oauth/token --client-id ID --client-secret-file secret.txt`,
		Args: cobra.NoArgs,
		RunE: runE(f, o, runF),
	}
	fl := cmd.Flags()
	fl.StringVar(&o.ServiceKeyFile, "service-key", "", "a Cloud Management (cis) service key: the JSON of its binding, or its credentials object")
	fl.StringVar(&o.CertificateAuthority, "certificate-authority", "", "a PEM file of CAs to trust for this profile's endpoints, besides the system's")
	fl.StringVar(&o.BrokerURL, "broker-url", "", "the Kyma Environment Broker's OSB URL, ending in /oauth")
	fl.StringVar(&o.TokenURL, "token-url", "", "the OAuth2 token URL for the broker's client")
	fl.StringVar(&o.ClientID, "client-id", "", "the broker client's id")
	fl.StringVar(&o.ClientSecretFile, "client-secret-file", "", "a file holding the broker client's secret (never pass a secret as an argument)")
	fl.StringVar(&o.Region, "region", defaultRegion, "the broker region, as in /oauth/{region} (default: the broker's default region)")
	fl.StringVar(&o.ServiceID, "service-id", kebServiceID, "the OSB service id sent on bind")
	fl.StringVar(&o.PlanID, "plan-id", kebAWSPlanID, "the OSB plan id sent on bind")
	cmd.MarkFlagsMutuallyExclusive("service-key", "broker-url")
	return cmd
}

// Complete takes the streams, the store and the HTTP client, and reads the service key
// or the secret file into a profile.
func (o *LoginOptions) Complete(f *Factory, _ []string) error {
	o.IO, o.Store, o.HTTPClient = f.IOStreams, f.ConfigStore(), f.HTTPClient
	name, err := f.ProfileName()
	if err != nil {
		return err
	}
	if name == "" {
		name = "default"
	}
	p := &config.Profile{Name: name}
	switch {
	case o.ServiceKeyFile != "":
		data, err := os.ReadFile(o.ServiceKeyFile)
		if err != nil {
			return fmt.Errorf("read the service key: %w", err)
		}
		key, err := config.ParseServiceKey(data)
		if err != nil {
			return fmt.Errorf("service key %s: %w", o.ServiceKeyFile, err)
		}
		p = key.Profile(name)
	case o.BrokerURL != "":
		if o.ClientSecretFile == "" {
			return errors.New("--client-secret-file is required with --broker-url")
		}
		secret, err := os.ReadFile(o.ClientSecretFile)
		if err != nil {
			return fmt.Errorf("read the client secret: %w", err)
		}
		p.Kind = config.KindBroker
		p.BrokerURL, p.TokenURL, p.Region = strings.TrimRight(o.BrokerURL, "/"), o.TokenURL, o.Region
		p.ClientID, p.ClientSecret = o.ClientID, strings.TrimSpace(string(secret))
		p.ServiceID, p.PlanID = o.ServiceID, o.PlanID
	default:
		return errors.New("say what to log in with: --service-key FILE, or --broker-url with --token-url, --client-id and --client-secret-file")
	}
	if o.CertificateAuthority != "" {
		ca, err := os.ReadFile(o.CertificateAuthority)
		if err != nil {
			return fmt.Errorf("read --certificate-authority: %w", err)
		}
		p.CertificateAuthority = string(ca)
	}
	o.profile = p
	return nil
}

// Validate checks the profile has every field, and the URLs are fit to carry secrets.
func (o *LoginOptions) Validate() error {
	if o.profile.Name == config.EnvProfile {
		return fmt.Errorf("the profile name %q is kept for the environment variables of the seed procedure", config.EnvProfile)
	}
	if err := o.profile.Validate(); err != nil {
		if o.profile.Kind == config.KindCIS {
			return fmt.Errorf("the service key lacks a field: %w", err)
		}
		return err
	}
	_, err := o.HTTPClient(o.profile)
	return err
}

// Run asks for one token, then saves the profile and makes it the current one.
func (o *LoginOptions) Run(ctx context.Context) error {
	hc, err := o.HTTPClient(o.profile)
	if err != nil {
		return err
	}
	src := auth.NewClientCredentials(auth.Config{UAAURL: connect.TokenURL(o.profile), ClientID: o.profile.ClientID, ClientSecret: o.profile.ClientSecret}, hc)
	if _, err := src.TokenContext(ctx); err != nil {
		return fmt.Errorf("check the credentials: %w", err)
	}
	if err := o.Store.Put(o.profile); err != nil {
		return err
	}
	fmt.Fprintf(o.IO.Out, "Logged in: profile %q saved to %s and made current.\n", o.profile.Name, o.Store.Path)
	return nil
}
