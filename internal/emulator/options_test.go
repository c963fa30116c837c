package emulator

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCheckLoopback(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:0": true, "127.0.0.2:8443": true, "[::1]:0": true, "localhost:9000": true,
		":8080": false, "0.0.0.0:0": false, "192.168.1.10:443": false, "example.com:443": false, "127.0.0.1": false,
	} {
		if err := checkLoopback(addr); (err == nil) != ok {
			t.Errorf("checkLoopback(%q) = %v, want ok=%v", addr, err, ok)
		}
	}
}

func TestParseFlags(t *testing.T) {
	o, err := ParseFlags([]string{
		"--kubeconfig", "k", "--state-dir", "s", "--addr", "127.0.0.1:8443", "--provisioning-delay", "0s",
		"--binding-ttl", "30s", "--bind-delay", "2s", "--bindable-plans", "aws, azure", "--region", "cf-us10",
		"--date-skew", "-1h", "--oidc-repository", "acme/site", "--oidc-token-ttl", "90s",
		"--token-webhook-addr", "127.0.0.1:9443", "--token-webhook-cert", "w.crt", "--token-webhook-key", "w.key",
	}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	want := Options{
		Addr: "127.0.0.1:8443", Kubeconfig: "k", StateDir: "s", ProvisioningDelay: 0, BindingTTL: 30 * time.Second,
		BindDelay: 2 * time.Second, BindTimeout: DefaultBindTimeout, BindablePlans: []string{"aws", "azure"}, Region: "cf-us10",
		DateSkew: -time.Hour, OIDCRepository: "acme/site", OIDCTokenTTL: 90 * time.Second,
		TokenWebhookAddr: "127.0.0.1:9443", TokenWebhookCert: "w.crt", TokenWebhookKey: "w.key",
	}
	if diff := cmp.Diff(want, o, cmp.AllowUnexported(Options{}), cmp.Comparer(func(a, b func() time.Time) bool { return a == nil && b == nil })); diff != "" {
		t.Errorf("options (-want +got):\n%s", diff)
	}

	d, err := ParseFlags(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if d.ProvisioningDelay != DefaultProvisioningDelay || d.Addr != DefaultAddr || len(d.BindablePlans) != 5 ||
		d.OIDCRepository != DefaultOIDCRepository || d.OIDCTokenTTL != DefaultOIDCTokenTTL || d.TokenWebhookAddr != "" {
		t.Errorf("defaults = %+v", d)
	}
	if _, err := ParseFlags([]string{"-h"}, &bytes.Buffer{}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

func TestStartRefusals(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no state dir", Options{Backend: newFakeBackend(newFakeClock())}, "--state-dir is required"},
		{"no kubeconfig", Options{StateDir: dir}, "--kubeconfig is required"},
		{"wildcard address", Options{StateDir: dir, Backend: newFakeBackend(newFakeClock()), Addr: "0.0.0.0:0"}, "not a loopback address"},
		{"unknown plan", Options{StateDir: dir, Backend: newFakeBackend(newFakeClock()), BindablePlans: []string{"aws", "huge"}}, `unknown plan "huge"`},
		{"kubeconfig missing", Options{StateDir: dir, Kubeconfig: filepath.Join(dir, "none")}, "load kubeconfig"},
		{"bad OIDC repository", Options{StateDir: dir, Backend: newFakeBackend(newFakeClock()), OIDCRepository: "app"}, "--oidc-repository"},
		{"webhook beyond loopback", Options{StateDir: dir, Backend: newFakeBackend(newFakeClock()), Kubeconfig: "k", TokenWebhookAddr: "0.0.0.0:9443", TokenWebhookCert: "c", TokenWebhookKey: "k"}, "--token-webhook-addr"},
		{"webhook without certificate", Options{StateDir: dir, Backend: newFakeBackend(newFakeClock()), Kubeconfig: "k", TokenWebhookAddr: "127.0.0.1:0"}, "--token-webhook-cert"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Start(context.Background(), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Start: %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

func TestStateFolder(t *testing.T) {
	tt := newTester(t, nil)
	for name, perm := range map[string]os.FileMode{
		".": 0o700, CACertFile: 0o644, caKeyFile: 0o600, secretsFile: 0o600, stateFile: 0o600, ServiceKeyFile: 0o600, BrokerFile: 0o600,
	} {
		fi, err := os.Stat(filepath.Join(tt.dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := fi.Mode().Perm(); got != perm {
			t.Errorf("%s mode = %v, want %v", name, got, perm)
		}
	}
	key := tt.serviceKey()
	if key.Credentials.UAA.URL != tt.e.URL || key.Credentials.Endpoints["provisioning_service_url"] != tt.e.URL ||
		!strings.Contains(key.Credentials.UAA.ClientID, "|cis-local!b4") || key.Credentials.UAA.ClientSecret == "" {
		t.Errorf("service key = %+v", key.Credentials)
	}
	b := tt.brokerConfig()
	if b.URL != tt.e.URL+"/oauth" || b.TokenURL != tt.e.URL+"/oauth/token" || b.Region != "cf-eu10" || b.ServiceID != kymaServiceID ||
		b.Plans["aws"] != awsPlanID || len(b.Plans) != 7 || b.ClientID == "" || b.ClientSecret == "" {
		t.Errorf("broker.json = %+v", b)
	}
	ca, _ := os.ReadFile(tt.e.Path(CACertFile))
	tt.restart(nil)
	if again, _ := os.ReadFile(tt.e.Path(CACertFile)); !bytes.Equal(ca, again) {
		t.Error("the CA changed across a restart")
	}
}

func TestRunPrintsReadyLine(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{StateDir: t.TempDir(), Backend: newFakeBackend(newFakeClock())}, &out)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "\n") {
		if time.Now().After(deadline) {
			t.Fatal("no ready line")
		}
		time.Sleep(10 * time.Millisecond)
	}
	line := out.String()
	if !strings.HasPrefix(line, "kyma-emulator listening on https://127.0.0.1:") || strings.Count(line, "\n") != 1 {
		t.Errorf("stdout = %q", line)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
}
