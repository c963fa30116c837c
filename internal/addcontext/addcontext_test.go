package addcontext

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding/bindingtest"
	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/kubeconfig"
)

var now = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// build is the whole kubeconfig a run writes: the cluster of the entry, and a user that
// runs the credential helper with the flags it takes, or a CI job's, or holds the token
// (Static), never the token of a dry run.
func TestBuild(t *testing.T) {
	entry := &credential.Entry{Server: "https://api.example", CAData: []byte("CA"), TLSServerName: "api.internal", Token: "tok"}
	cluster := &clientcmdapi.Cluster{Server: "https://api.example", CertificateAuthorityData: []byte("CA"), TLSServerName: "api.internal"}
	execUser := func(args ...string) *clientcmdapi.AuthInfo {
		return &clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{
			APIVersion:         "client.authentication.k8s.io/v1",
			Command:            "kubectl-kyma",
			Args:               append([]string{"credential", "--profile", "p", "--environment", "env-1"}, args...),
			InteractiveMode:    clientcmdapi.NeverExecInteractiveMode,
			ProvideClusterInfo: true,
			InstallHint:        "kubectl-kyma is not installed: install it with\n  kubectl krew install kyma\nand log in with 'kubectl kyma login --service-key FILE'.",
		}}
	}
	ciJob := func(server string) *clientcmdapi.ExecConfig {
		return &clientcmdapi.ExecConfig{Command: "kubectl-kyma", Args: []string{"credential", "--oidc", "github", "--audience", server}}
	}
	for _, tc := range []struct {
		name     string
		in       Input
		wantUser *clientcmdapi.AuthInfo
	}{
		{"exec user", Input{}, execUser()},
		{"exec user of a dry run", Input{DryRun: true}, execUser()},
		{"the credential's flags", Input{Expiration: time.Hour, Margin: 2 * time.Minute, Ahead: 0.9},
			execUser("--expiration", "3600", "--refresh-margin", "2m0s", "--refresh-ahead", "0.9")},
		{"static", Input{Static: true}, &clientcmdapi.AuthInfo{Token: "tok"}},
		{"static dry run", Input{Static: true, DryRun: true}, &clientcmdapi.AuthInfo{Token: "REDACTED"}},
		{"a CI job's user, for the cluster", Input{OIDCExec: ciJob}, &clientcmdapi.AuthInfo{Exec: ciJob("https://api.example")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Profile, tc.in.EnvID, tc.in.Name = "p", "env-1", "kyma-prod"
			want := kubeconfig.New("kyma-prod", cluster, tc.wantUser)
			if diff := cmp.Diff(want, build(tc.in, entry)); diff != "" {
				t.Errorf("kubeconfig (-want +got):\n%s", diff)
			}
		})
	}
}

// input is an Input of env-1 that writes a standalone kubeconfig, with its own cache,
// making bindings through svc and listing those it records.
func input(t *testing.T, svc *bindingtest.Fake, recorded *[]string) Input {
	cache := filepath.Join(t.TempDir(), "cache")
	return Input{
		Profile: "p", EnvID: "env-1", EnvName: "prod", Name: "kyma-prod",
		Target:   kubeconfig.Target{Standalone: filepath.Join(t.TempDir(), "kyma.yaml")},
		CacheDir: func() (string, error) { return cache, nil },
		Bindings: func() (binding.Service, error) { return svc, nil },
		Record:   func(id string) { *recorded = append(*recorded, id) },
		Explain:  func(_ context.Context, _ binding.Service, err error) error { return err },
		Clock:    clock.NewFake(now), Stderr: &strings.Builder{},
	}
}

// --static writes the token of a binding made for it, noted as made here; a dry run
// makes one only to learn the cluster, deletes it, notes nothing and writes nothing.
func TestDoOwnBinding(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		static, dryRun         bool
		wantRecorded, wantLive []string
		wantToken              bool
	}{
		{"static", true, false, []string{"new-1"}, []string{"new-1"}, true},
		{"dry run", false, true, nil, nil, false},
		{"static dry run", true, true, nil, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := bindingtest.New(now)
			var recorded []string
			in := input(t, svc, &recorded)
			in.Static, in.DryRun = tc.static, tc.dryRun
			r, err := Do(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantRecorded, recorded); diff != "" {
				t.Errorf("recorded (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantLive, svc.LiveIDs(), cmpEmpty); diff != "" {
				t.Errorf("live bindings (-want +got):\n%s", diff)
			}
			data, err := os.ReadFile(in.Target.Standalone)
			if tc.dryRun {
				if err == nil || !strings.Contains(r.Diff, "+current-context: kyma-prod") || strings.Contains(r.Diff, "tok\n") {
					t.Errorf("a dry run wrote the file (%v) or shows %q", err, r.Diff)
				}
				return
			}
			if err != nil || strings.Contains(string(data), "token: tok") != tc.wantToken || r.Path != in.Target.Standalone {
				t.Errorf("wrote %s (%v):\n%s", r.Path, err, data)
			}
		})
	}
}

var cmpEmpty = cmp.Comparer(func(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") })

// A refused Create is explained; a binding the service made but did not answer for
// is noted as made here and deleted.
func TestDoOwnBindingFailures(t *testing.T) {
	svc := bindingtest.New(now, "half")
	svc.CreateErr = &binding.MadeError{ID: "half", Err: errors.New("the answer was cut")}
	var recorded []string
	in := input(t, svc, &recorded)
	in.Static = true
	in.Explain = func(_ context.Context, _ binding.Service, err error) error {
		return errors.New("explained: " + err.Error())
	}
	if _, err := Do(context.Background(), in); err == nil || err.Error() != `explained: bind "prod": the answer was cut` {
		t.Errorf("error = %v", err)
	}
	if diff := cmp.Diff([]string{"half"}, recorded); diff != "" || len(svc.LiveIDs()) != 0 {
		t.Errorf("recorded %v, live %v: want the half-made binding noted and deleted", recorded, svc.LiveIDs())
	}
}

// Without --static the cluster comes from the cached credential, made by the minter
// once and reused: a second run makes no binding.
func TestDoCachedBinding(t *testing.T) {
	minted := 0
	var recorded []string
	in := input(t, bindingtest.New(now), &recorded)
	in.Minter = minterFunc(func(context.Context) (*credential.Entry, error) {
		minted++
		return &credential.Entry{Environment: "env-1", BindingID: "b-1", Token: "tok", Server: "https://api.example",
			IssuedAt: now, ExpiresAt: now.Add(time.Hour)}, nil
	})
	for range 2 {
		if _, err := Do(context.Background(), in); err != nil {
			t.Fatal(err)
		}
	}
	data, _ := os.ReadFile(in.Target.Standalone)
	if minted != 1 || !strings.Contains(string(data), "server: https://api.example") || strings.Contains(string(data), "tok\n") {
		t.Errorf("minted %d, wrote:\n%s", minted, data)
	}
}

type minterFunc func(context.Context) (*credential.Entry, error)

func (f minterFunc) Mint(ctx context.Context) (*credential.Entry, error) { return f(ctx) }
func (minterFunc) Revoke(context.Context, string) error                  { return nil }
