package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
	"github.com/kubectl-kyma/kubectl-kyma/internal/connect"
	"github.com/kubectl-kyma/kubectl-kyma/internal/emulator"
	"github.com/kubectl-kyma/kubectl-kyma/internal/follow"
	"github.com/kubectl-kyma/kubectl-kyma/internal/provisioning"
)

// noCluster is the emulator's cluster side, which environments do not need.
type noCluster struct{}

func (noCluster) CreateBinding(context.Context, string, time.Duration) (string, time.Time, error) {
	return "", time.Time{}, errors.New("no cluster")
}
func (noCluster) DeleteBinding(context.Context, string) error { return nil }
func (noCluster) RevokeToken(context.Context, string) error   { return nil }
func (noCluster) Cluster() (string, []byte)                   { return "", nil }

// provisioningClient starts the emulator (environments are OK, and gone, at once) and
// returns a client made from its service key, as login makes one.
func provisioningClient(t *testing.T) *provisioning.Client {
	t.Helper()
	dir := t.TempDir()
	e, err := emulator.Start(t.Context(), emulator.Options{Addr: "127.0.0.1:0", StateDir: filepath.Join(dir, "state"), Backend: noCluster{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Shutdown(context.Background()) })
	data, err := os.ReadFile(e.Path(emulator.ServiceKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	key, err := config.ParseServiceKey(data)
	if err != nil {
		t.Fatal(err)
	}
	p := key.Profile("test")
	p.CertificateAuthority = string(e.CACert)
	c, err := connect.Connector{Profile: p, Clock: clock.Real{},
		HTTPClient: func(p *config.Profile) (*http.Client, error) { return connect.HTTPClient(p, io.Discard, 0) },
		CacheDir:   func() (string, error) { return filepath.Join(dir, "cache"), nil },
	}.Provisioning()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The life of one environment on the emulator: created and ready, updated keeping its
// plan, deleted and gone; each step says what it started, and --wait how it ended.
func TestLifecycle(t *testing.T) {
	c := provisioningClient(t)
	ctx := t.Context()
	var out bytes.Buffer
	r := Runner{Out: &out, Timeout: time.Minute,
		Wait: &follow.Follower{Clock: clock.NewFake(time.Now()), Out: &out, ErrOut: io.Discard}}

	err := r.Provision(ctx, c, provisioning.CreateEnvironmentRequest{EnvironmentType: provisioning.EnvironmentTypeKyma,
		ServiceName: provisioning.ServiceNameKyma, PlanName: "aws", Name: "t1", User: "me@example.com",
		Parameters: map[string]any{"name": "t1", "region": "eu-central-1"}})
	if err != nil {
		t.Fatal(err)
	}
	envs, err := c.ListEnvironments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	env, err := provisioning.FindKyma(envs, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Update(ctx, c, env, "", map[string]any{"autoScalerMax": 7}); err != nil {
		t.Fatal(err)
	}
	if after, err := c.GetEnvironment(ctx, env.ID); err != nil || after.PlanName != "aws" || after.Parameters["autoScalerMax"] == nil {
		t.Errorf("after the update: %+v (%v), want plan aws kept and autoScalerMax set", after, err)
	}
	if err := r.Deprovision(ctx, c, env); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"environment/t1 created (id " + env.ID + ")", "environment/t1 is ready",
		"environment/t1 updating (id " + env.ID + ")", "environment/t1 is updated",
		"environment/t1 deprovisioning (id " + env.ID + ")", "environment/t1 is gone",
	}
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(got) != len(want) {
		t.Fatalf("output:\n%s\nwant lines starting with:\n%s", out.String(), strings.Join(want, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("line %d = %q, want it to start with %q", i+1, got[i], want[i])
		}
	}
}

// Without --wait each step only says what it started; an error names the environment.
func TestNoWait(t *testing.T) {
	c := provisioningClient(t)
	var out bytes.Buffer
	r := Runner{Out: &out}
	err := r.Provision(t.Context(), c, provisioning.CreateEnvironmentRequest{EnvironmentType: provisioning.EnvironmentTypeKyma,
		ServiceName: provisioning.ServiceNameKyma, PlanName: "aws", Name: "t2", User: "me@example.com",
		Parameters: map[string]any{"name": "t2", "region": "eu-central-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "environment/t2 created (id ") || strings.Count(out.String(), "\n") != 1 {
		t.Errorf("output %q, want the one line of the start", out.String())
	}
	err = r.Deprovision(t.Context(), c, &provisioning.Environment{ID: "no-such-id", Name: "gone"})
	if err == nil || !strings.HasPrefix(err.Error(), `deprovision "gone": `) {
		t.Errorf("error = %v, want one naming the environment", err)
	}
}
