// Package config stores kubectl-kyma's profiles: which service to talk to and with
// which client credentials. The file is $XDG_CONFIG_HOME/kubectl-kyma/config.yaml:
//
//	current: dev
//	profiles:
//	  dev:
//	    kind: cis
//	    uaaURL: https://sub.authentication.eu10.hana.ondemand.com
//	    provisioningURL: https://provisioning-service.cfapps.eu10.hana.ondemand.com
//	    clientID: sb-...
//	    clientSecret: ...
//	  keb:
//	    kind: broker
//	    brokerURL: https://kyma-env-broker.example/oauth
//	    tokenURL: https://oauth.example/oauth2/token
//	    region: cf-eu10
//	    serviceID: 47c9dcbf-ff30-448e-ab36-d3bad66ba281
//	    planID: 361c511f-f939-4621-b228-d0fb79a1fe15
//	    clientID: ...
//	    clientSecret: ...
//
// It holds client secrets, so it is written 0600 in a 0700 folder, and a file that
// others can read is refused rather than used.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"

	"github.com/kubectl-kyma/kubectl-kyma/internal/privfile"
	"sigs.k8s.io/yaml"
)

// Profile kinds: which API a profile talks to.
const (
	// KindCIS talks to the SAP Cloud Management service's Provisioning API.
	KindCIS = "cis"
	// KindBroker talks to the Kyma Environment Broker's OSB API directly.
	KindBroker = "broker"
)

// EnvProfile names the profile made from the seed procedure's environment variables.
const EnvProfile = "env"

// Profile is one set of credentials for one service.
type Profile struct {
	// Name is the profile's key in Config.Profiles.
	Name string `json:"-"`
	Kind string `json:"kind"`

	ClientID     string `json:"clientID"`
	ClientSecret string `json:"clientSecret"`
	// CertificateAuthority is PEM data trusted, besides the system's roots, for every
	// endpoint of this profile (the emulator's CA, a company proxy's).
	CertificateAuthority string `json:"certificateAuthority,omitempty"`

	// KindCIS
	UAAURL          string `json:"uaaURL,omitempty"`
	ProvisioningURL string `json:"provisioningURL,omitempty"`

	// KindBroker
	BrokerURL string `json:"brokerURL,omitempty"`
	TokenURL  string `json:"tokenURL,omitempty"`
	Region    string `json:"region,omitempty"`
	ServiceID string `json:"serviceID,omitempty"`
	PlanID    string `json:"planID,omitempty"`
}

// Validate reports the first missing field of p, naming it.
func (p *Profile) Validate() error {
	need := map[string]string{"clientID": p.ClientID, "clientSecret": p.ClientSecret}
	switch p.Kind {
	case KindCIS:
		need["uaaURL"], need["provisioningURL"] = p.UAAURL, p.ProvisioningURL
	case KindBroker:
		need["brokerURL"], need["tokenURL"], need["serviceID"], need["planID"] = p.BrokerURL, p.TokenURL, p.ServiceID, p.PlanID
	default:
		return fmt.Errorf("profile %q has kind %q; want %q or %q", p.Name, p.Kind, KindCIS, KindBroker)
	}
	keys := make([]string, 0, len(need))
	for k := range need {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if need[k] == "" {
			return fmt.Errorf("profile %q has no %s", p.Name, k)
		}
	}
	return nil
}

// Config is the whole file.
type Config struct {
	Current  string              `json:"current,omitempty"`
	Profiles map[string]*Profile `json:"profiles,omitempty"`
}

// Names lists the profiles in order.
func (c *Config) Names() []string {
	names := make([]string, 0, len(c.Profiles))
	for n := range c.Profiles {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Store reads and writes the config file.
type Store struct {
	// Path is the config file's path.
	Path string
}

// Load reads the config; a missing file is an empty config.
func (s Store) Load() (*Config, error) {
	c := &Config{Profiles: map[string]*Profile{}}
	data, err := privfile.ReadFile(filepath.Dir(s.Path), s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	var unsafe *privfile.UnsafeError
	if errors.As(err, &unsafe) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if err := yaml.UnmarshalStrict(data, c); err != nil {
		return nil, fmt.Errorf("config file %s is not valid: %w", s.Path, err)
	}
	if c.Profiles == nil {
		c.Profiles = map[string]*Profile{}
	}
	for name, p := range c.Profiles {
		if p == nil {
			return nil, fmt.Errorf("config file %s: profile %q is empty", s.Path, name)
		}
		p.Name = name
	}
	return c, nil
}

// Save writes the config atomically, 0600 in a 0700 folder.
func (s Store) Save(c *Config) error {
	data, err := yaml.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	return privfile.WriteAtomic(filepath.Dir(s.Path), s.Path, data)
}

// Put stores p under its name and makes it the current profile.
func (s Store) Put(p *Profile) error {
	c, err := s.Load()
	if err != nil {
		return err
	}
	c.Profiles[p.Name] = p
	c.Current = p.Name
	return s.Save(c)
}

// Delete removes the profile name; when it was the current one, none is current.
func (s Store) Delete(name string) error {
	c, err := s.Load()
	if err != nil {
		return err
	}
	delete(c.Profiles, name)
	if c.Current == name {
		c.Current = ""
	}
	return s.Save(c)
}
