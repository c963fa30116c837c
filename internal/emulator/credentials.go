package emulator

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Files in the state folder; all but ca.crt are secrets (0600).
const (
	secretsFile    = "secrets.json"
	serviceKeyFile = "service-key.json"
	brokerFile     = "broker.json"
)

// xsappnames of the two OAuth clients: the CIS "local" plan and KEB's broker. Tokens carry
// them as audience, and each API accepts only its own.
const (
	cisXSAppName    = "cis-local!b4"
	brokerXSAppName = "kyma-env-broker!b5"
)

// secrets are made once per state folder and kept: client credentials and the key that
// signs access tokens, so that issued tokens survive a restart.
type secrets struct {
	CISClientID        string `json:"cisClientId"`
	CISClientSecret    string `json:"cisClientSecret"`
	BrokerClientID     string `json:"brokerClientId"`
	BrokerClientSecret string `json:"brokerClientSecret"`
	TokenKey           []byte `json:"tokenKey"`
}

// loadOrCreateSecrets reads secrets.json from dir, or makes and writes it.
func loadOrCreateSecrets(dir string) (*secrets, error) {
	path := filepath.Join(dir, secretsFile)
	raw, err := os.ReadFile(path)
	if err == nil {
		var s secrets
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		return &s, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read secrets: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate token key: %w", err)
	}
	// Client ids shaped like XSUAA's, "!" and "|" included: a client that sends them
	// URL-encoded in a Basic header without X-CF-ENCODED-CREDENTIALS fails here as it
	// would against XSUAA.
	s := &secrets{
		CISClientID:        fmt.Sprintf("sb-ut-%s!b%d|%s", newUUID(), 10000+randomInt(89999), cisXSAppName),
		CISClientSecret:    randomSecret(),
		BrokerClientID:     fmt.Sprintf("sb-%s!b%d|%s", newUUID(), 10000+randomInt(89999), brokerXSAppName),
		BrokerClientSecret: randomSecret(),
		TokenKey:           key,
	}
	raw, err = json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode secrets: %w", err)
	}
	return s, writeFileAtomic(path, raw, 0o600)
}

// randomSecret returns a secret in XSUAA's style: a UUID, "$", then base64 text, ending
// in "=". It always holds "$", "+", "/" and "=", the characters that a client must not
// send URL-encoded in a Basic header without X-CF-ENCODED-CREDENTIALS, and that a
// client sending them raw in a form body would garble ("+" reads as a space).
func randomSecret() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	text := []byte(base64.StdEncoding.EncodeToString(b))
	text[7], text[19] = '+', '/'
	return newUUID() + "$" + string(text) + "="
}

func randomInt(n int) int {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return int(uint32(b[0])<<24|uint32(b[1])<<16|uint32(b[2])<<8|uint32(b[3])) % n
}

// serviceKey is a CIS (plan local) service binding as `btp get services/binding` prints
// it; credentials.uaa and credentials.endpoints are what clients read.
type serviceKey struct {
	ID                  string                `json:"id"`
	Name                string                `json:"name"`
	ServiceInstanceID   string                `json:"service_instance_id"`
	ServiceInstanceName string                `json:"service_instance_name"`
	Ready               bool                  `json:"ready"`
	CreatedAt           string                `json:"created_at"`
	Credentials         serviceKeyCredentials `json:"credentials"`
}

type serviceKeyCredentials struct {
	Endpoints       map[string]string `json:"endpoints"`
	GrantType       string            `json:"grant_type"`
	SAPCloudService string            `json:"sap.cloud.service"`
	UAA             serviceKeyUAA     `json:"uaa"`
}

type serviceKeyUAA struct {
	APIURL         string `json:"apiurl"`
	ClientID       string `json:"clientid"`
	ClientSecret   string `json:"clientsecret"`
	CredentialType string `json:"credential-type"`
	IdentityZone   string `json:"identityzone"`
	IdentityZoneID string `json:"identityzoneid"`
	SubaccountID   string `json:"subaccountid"`
	TenantID       string `json:"tenantid"`
	TenantMode     string `json:"tenantmode"`
	UAADomain      string `json:"uaadomain"`
	URL            string `json:"url"`
	XSAppName      string `json:"xsappname"`
}

// brokerConfig is what an operator needs to talk to KEB directly.
type brokerConfig struct {
	URL          string            `json:"url"`
	TokenURL     string            `json:"tokenURL"`
	ClientID     string            `json:"clientID"`
	ClientSecret string            `json:"clientSecret"`
	Region       string            `json:"region"`
	ServiceID    string            `json:"serviceID"`
	Plans        map[string]string `json:"plans"`
}

// writeClientFiles writes ca.crt's companions that name the listening URL: the CIS
// service key and the broker configuration. They are rewritten on every start because
// the port may change.
func writeClientFiles(dir, baseURL, region string, sec *secrets, subaccountID string) error {
	host := strings.TrimPrefix(baseURL, "https://")
	key := serviceKey{
		ID:                  subaccountID,
		Name:                "kyma-emulator-key",
		ServiceInstanceID:   subaccountID,
		ServiceInstanceName: "kyma-emulator-cis-local",
		Ready:               true,
		CreatedAt:           time.Now().UTC().Format(time.RFC3339),
		Credentials: serviceKeyCredentials{
			Endpoints: map[string]string{
				"provisioning_service_url": baseURL,
			},
			GrantType:       "client_credentials",
			SAPCloudService: "com.sap.core.commercial.service.local",
			UAA: serviceKeyUAA{
				APIURL:         baseURL,
				ClientID:       sec.CISClientID,
				ClientSecret:   sec.CISClientSecret,
				CredentialType: "binding-secret",
				IdentityZone:   "kyma-emulator",
				IdentityZoneID: subaccountID,
				SubaccountID:   subaccountID,
				TenantID:       subaccountID,
				TenantMode:     "dedicated",
				UAADomain:      host,
				URL:            baseURL,
				XSAppName:      cisXSAppName,
			},
		},
	}
	planIDs := map[string]string{}
	for _, p := range plans() {
		planIDs[p.name] = p.id
	}
	broker := brokerConfig{
		URL:          baseURL + "/oauth",
		TokenURL:     baseURL + "/oauth/token",
		ClientID:     sec.BrokerClientID,
		ClientSecret: sec.BrokerClientSecret,
		Region:       region,
		ServiceID:    kymaServiceID,
		Plans:        planIDs,
	}
	for name, v := range map[string]any{serviceKeyFile: key, brokerFile: broker} {
		raw, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("encode %s: %w", name, err)
		}
		if err := writeFileAtomic(filepath.Join(dir, name), append(raw, '\n'), 0o600); err != nil {
			return err
		}
	}
	return nil
}
