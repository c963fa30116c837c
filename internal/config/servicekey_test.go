package config

import (
	"strings"
	"testing"
)

func TestParseServiceKey(t *testing.T) {
	full := `{"credentials":{"uaa":{"clientid":"id","clientsecret":"s3cret","url":"https://uaa"},"endpoints":{"provisioning_service_url":"https://prov"}}}`
	inner := `{"uaa":{"clientid":"id","clientsecret":"s3cret","url":"https://uaa"},"endpoints":{"provisioning_service_url":"https://prov"}}`
	for _, tc := range []struct{ name, in, err string }{
		{"whole binding", full, ""},
		{"credentials only", inner, ""},
		{"not json", "clientid: x", "it is not JSON"},
		{"other service", `{"credentials":{"url":"https://x"}}`, "it has no uaa section"},
		{"no secret", `{"uaa":{"clientid":"id","url":"https://uaa"},"endpoints":{"provisioning_service_url":"https://p"}}`, "it has no uaa.clientsecret"},
		{"no endpoint", `{"uaa":{"clientid":"id","clientsecret":"s","url":"https://uaa"}}`, "it has no endpoints.provisioning_service_url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, err := ParseServiceKey([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Errorf("error leaks the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := &Profile{Name: "dev", Kind: KindCIS, ClientID: "id", ClientSecret: "s3cret", UAAURL: "https://uaa", ProvisioningURL: "https://prov"}
			if got := key.Profile("dev"); *got != *want {
				t.Errorf("profile %+v, want %+v", got, want)
			}
		})
	}
}

// FuzzParseServiceKey: a service key file is whatever the user points at.
func FuzzParseServiceKey(f *testing.F) {
	f.Add(`{"credentials":{"uaa":{"clientid":"id","clientsecret":"s3cret","url":"https://uaa"},"endpoints":{"provisioning_service_url":"https://prov"}}}`)
	f.Add(`{"uaa":{"clientid":"id","clientsecret":"s3cret","url":"https://uaa"},"endpoints":{"provisioning_service_url":"https://prov"}}`)
	f.Add(`{"credentials":null}`)
	f.Add(`{"credentials":{"uaa":"x"}}`)
	f.Fuzz(func(t *testing.T, data string) {
		key, err := ParseServiceKey([]byte(data))
		if err != nil {
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("the error holds the secret: %v", err)
			}
			return
		}
		if key.UAA.ClientID == "" || key.UAA.ClientSecret == "" || key.UAA.URL == "" || key.Endpoints.ProvisioningServiceURL == "" {
			t.Fatalf("accepted a key with a field missing: %+v", key)
		}
	})
}
