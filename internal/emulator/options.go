package emulator

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"
)

// Defaults of the options, as KEB and CIS have them.
const (
	DefaultAddr              = "127.0.0.1:0"
	DefaultProvisioningDelay = 5 * time.Second
	DefaultRegion            = "cf-eu10"
	// DefaultBindTimeout is KEB's CreateBindingTimeout default.
	DefaultBindTimeout = 15 * time.Second
)

// DefaultBindablePlans returns the plans that allow bindings unless told otherwise: all
// but azure and azure_lite, so that KEB's 422 BindingNotSupported can be tested. (KEB's
// own default is aws only.)
func DefaultBindablePlans() []string {
	return []string{"aws", "gcp", "sap-converged-cloud", "trial", "free"}
}

// Options configure an emulator. A zero Addr, BindTimeout, Region or Logger, or a nil
// BindablePlans, means the default; ParseFlags fills in the defaults of the others.
type Options struct {
	// Addr is the listen address; it must be a loopback address ("127.0.0.1:0" picks a
	// free port).
	Addr string
	// Kubeconfig is the path of an admin kubeconfig for the Kubernetes API server that
	// backs every binding.
	Kubeconfig string
	// StateDir keeps the CA, credentials, token key and the environments and bindings.
	StateDir string
	// ProvisioningDelay is how long an environment stays CREATING (and DELETING); zero
	// makes it OK (and gone) at once.
	ProvisioningDelay time.Duration
	// BindingTTL, when set, replaces the expiry the emulator reports for a new binding;
	// a shorter one than the token's lifetime makes the janitor revoke the token when it
	// passes.
	BindingTTL time.Duration
	// BindDelay is slept before a binding's Kubernetes objects are made, for tests of
	// slow or concurrent binds.
	BindDelay time.Duration
	// BindTimeout bounds a bind as KEB's CreateBindingTimeout does.
	BindTimeout time.Duration
	// DateSkew offsets the Date header of every answer, and the rate-limit reset time
	// of a 429 (told on the same clock), to try a client against a service whose
	// clock, or whose Date, is off.
	DateSkew time.Duration
	// BindablePlans are the plan names that allow bindings.
	BindablePlans []string
	// Region is the platform region (the BTP subaccount's region), KEB's default request
	// region; it picks each plan's cluster regions.
	Region string
	// Logger receives the emulator's logs; nil discards them.
	Logger *slog.Logger

	// OIDCRepository (OWNER/REPO) is the repository of the default GitHub Actions job,
	// the one github-actions.env is for; empty means DefaultOIDCRepository.
	OIDCRepository string
	// OIDCTokenTTL is the lifetime of the ID tokens the token endpoint issues; zero
	// means DefaultOIDCTokenTTL.
	OIDCTokenTTL time.Duration
	// TokenWebhookAddr, when set, is a loopback address where the emulator serves the
	// cluster's token webhook (package oidcwebhook), with TokenWebhookCert and
	// TokenWebhookKey (PEM files) as its serving certificate. testcluster writes all
	// three for a detached cluster (make dev-up); an attached one serves its own.
	TokenWebhookAddr string
	TokenWebhookCert string
	TokenWebhookKey  string

	// Backend replaces the client-go back end built from Kubeconfig (unit tests).
	Backend Backend
	// now replaces time.Now (unit tests).
	now func() time.Time
}

// withDefaults returns o with every unset field at its default.
func (o Options) withDefaults() Options {
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	if o.BindTimeout == 0 {
		o.BindTimeout = DefaultBindTimeout
	}
	if o.BindablePlans == nil {
		o.BindablePlans = DefaultBindablePlans()
	}
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.OIDCRepository == "" {
		o.OIDCRepository = DefaultOIDCRepository
	}
	if o.OIDCTokenTTL == 0 {
		o.OIDCTokenTTL = DefaultOIDCTokenTTL
	}
	if o.now == nil {
		o.now = time.Now
	}
	return o
}

// validate checks the options that have no usable default.
func (o Options) validate() error {
	if o.StateDir == "" {
		return errors.New("--state-dir is required")
	}
	if o.Backend == nil && o.Kubeconfig == "" {
		return errors.New("--kubeconfig is required: the emulator backs its bindings with a real Kubernetes API server")
	}
	if err := checkLoopback(o.Addr); err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	if err := checkRepository(o.OIDCRepository); err != nil {
		return fmt.Errorf("--oidc-repository: %w", err)
	}
	if o.TokenWebhookAddr != "" {
		if err := checkLoopback(o.TokenWebhookAddr); err != nil {
			return fmt.Errorf("--token-webhook-addr: %w", err)
		}
		if o.TokenWebhookCert == "" || o.TokenWebhookKey == "" {
			return errors.New("--token-webhook-addr needs --token-webhook-cert and --token-webhook-key")
		}
		if o.Backend != nil && o.Kubeconfig == "" {
			return errors.New("--token-webhook-addr needs --kubeconfig: the webhook reads the OpenIDConnect resources from the API server")
		}
	}
	if o.ProvisioningDelay < 0 || o.BindingTTL < 0 || o.BindDelay < 0 || o.BindTimeout < 0 || o.OIDCTokenTTL < 0 {
		return errors.New("durations must not be negative")
	}
	for _, p := range o.BindablePlans {
		if planByName(p) == nil {
			return fmt.Errorf("--bindable-plans: unknown plan %q (known: %s)", p, strings.Join(planNames(), ", "))
		}
	}
	return nil
}

// checkLoopback refuses an address that would listen beyond this machine: the emulator
// hands out cluster-admin kubeconfigs to anyone holding its (test) credentials.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address: the emulator listens on 127.0.0.1, ::1 or localhost only", addr)
	}
	return nil
}
