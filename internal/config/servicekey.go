package config

import (
	"encoding/json"
	"errors"
)

// ServiceKey is the credentials object of a Cloud Management (cis, plan local)
// binding:
//
//	{"uaa": {"clientid": "...", "clientsecret": "...", "url": "https://..."},
//	 "endpoints": {"provisioning_service_url": "https://..."}, ...}
type ServiceKey struct {
	UAA struct {
		ClientID     string `json:"clientid"`
		ClientSecret string `json:"clientsecret"`
		URL          string `json:"url"`
	} `json:"uaa"`
	Endpoints struct {
		ProvisioningServiceURL string `json:"provisioning_service_url"`
	} `json:"endpoints"`
}

// ParseServiceKey reads a service key the user points at: a whole binding
// ({"credentials": {...}}, as the btp CLI and the BTP cockpit show it) or just its
// credentials object. Its errors never quote the key, which holds a secret.
func ParseServiceKey(data []byte) (*ServiceKey, error) {
	var outer struct {
		Credentials *ServiceKey `json:"credentials"`
	}
	if err := json.Unmarshal(data, &outer); err != nil {
		return nil, errors.New("it is not JSON: pass the service key's JSON as the btp CLI or the BTP cockpit shows it")
	}
	key := outer.Credentials
	if key == nil {
		key = &ServiceKey{}
		if err := json.Unmarshal(data, key); err != nil {
			return nil, errors.New("it is not a service key's JSON")
		}
	}
	switch {
	case key.UAA.ClientID == "" && key.UAA.URL == "":
		return nil, errors.New("it has no uaa section: is it a key of the Cloud Management service (cis)?")
	case key.UAA.ClientID == "":
		return nil, errors.New("it has no uaa.clientid")
	case key.UAA.ClientSecret == "":
		return nil, errors.New("it has no uaa.clientsecret: keys with a certificate (x509) are not supported yet")
	case key.UAA.URL == "":
		return nil, errors.New("it has no uaa.url")
	case key.Endpoints.ProvisioningServiceURL == "":
		return nil, errors.New("it has no endpoints.provisioning_service_url: is it a key of the Cloud Management service (cis) with plan local?")
	}
	return key, nil
}

// Profile is the Cloud Management profile, named name, that the key makes.
func (k *ServiceKey) Profile(name string) *Profile {
	return &Profile{Name: name, Kind: KindCIS, ClientID: k.UAA.ClientID, ClientSecret: k.UAA.ClientSecret,
		UAAURL: k.UAA.URL, ProvisioningURL: k.Endpoints.ProvisioningServiceURL}
}
