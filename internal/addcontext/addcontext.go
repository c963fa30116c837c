// Package addcontext adds an environment to a kubeconfig (`kubectl kyma kubeconfig`):
// a cluster, a user that runs the credential helper (or a CI job's, or with --static a
// plain token) and a context, merged into the user's kubeconfig or written standalone,
// or with a dry run only shown as a diff. It learns the cluster from the environment's
// cached credential, made as the credential helper would make it when there is none.
package addcontext

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/kubeconfig"
	"github.com/kubectl-kyma/kubectl-kyma/internal/mint"
)

// ExecCommand is what a kubeconfig's user runs: the name on PATH, where Krew links it.
// Never `kubectl` (a whole kubectl start-up before each call) and never an absolute
// path into Krew's store (versioned: an upgrade deletes it).
const ExecCommand = "kubectl-kyma"

// Input is one kubeconfig to write.
type Input struct {
	// Profile and EnvID key the environment's cached credential; EnvName names the
	// environment in errors.
	Profile, EnvID, EnvName string
	// Name names the cluster, user and context.
	Name   string
	Target kubeconfig.Target
	// Static writes the token of a binding made for it instead of the helper's user.
	Static bool
	// DryRun computes the change as a diff and changes nothing: no cache entry, and a
	// binding made only to learn the cluster is deleted again.
	DryRun bool
	// Expiration, Margin and Ahead are the credential helper's flags (Expiration also
	// the lifetime of a binding made here).
	Expiration, Margin time.Duration
	Ahead              float64
	// OIDCExec, when set, is the user stanza of a CI job for the cluster at server,
	// written instead of the helper's.
	OIDCExec func(server string) *clientcmdapi.ExecConfig

	// CacheDir is the credential cache, asked for only when it is read.
	CacheDir func() (string, error)
	// Minter makes the cached credential's binding, as the credential helper does.
	Minter credential.Minter
	// Bindings makes the binding of --static or of a dry run with nothing cached;
	// Record notes it as made here, Explain explains a refused Create.
	Bindings func() (binding.Service, error)
	Record   func(bindingID string)
	Explain  func(ctx context.Context, svc binding.Service, err error) error
	Clock    clock.Clock
	Stderr   io.Writer
}

// Result is what Do wrote, or with a dry run would write.
type Result struct {
	Path string
	// Diff is a dry run's change to Path as a unified diff; empty when there is none.
	Diff string
}

// Do learns the cluster's server and CA from the environment's cached credential when
// it is fresh, or else from a new binding, made under the cache entry's lock and kept
// as the cached credential (so parallel runs make one), then writes the kubeconfig, or
// with a dry run computes the change. Static and dry runs make their own binding when
// they need one.
func Do(ctx context.Context, in Input) (Result, error) {
	var e *credential.Entry
	var err error
	if in.Static || in.DryRun {
		e, err = ownBinding(ctx, in)
	} else {
		e, err = cachedBinding(ctx, in)
	}
	if err != nil {
		return Result{}, err
	}
	cfg := build(in, e)
	if in.DryRun {
		path, diff, err := in.Target.Diff(cfg)
		return Result{Path: path, Diff: diff}, err
	}
	path, err := in.Target.Write(cfg)
	return Result{Path: path}, err
}

// build is the kubeconfig to write: the cluster e reaches, and a user that runs the
// credential helper, or a CI job's (OIDCExec), or with Static holds e's token
// (redacted in a dry run, whose binding is deleted: never print its token).
func build(in Input, e *credential.Entry) *clientcmdapi.Config {
	user := &clientcmdapi.AuthInfo{Exec: CredentialExec(credential.Args{
		Profile: in.Profile, Environment: in.EnvID, Expiration: in.Expiration, Margin: in.Margin, Ahead: in.Ahead})}
	switch {
	case in.OIDCExec != nil:
		user = &clientcmdapi.AuthInfo{Exec: in.OIDCExec(e.Server)}
	case in.Static && in.DryRun:
		user = &clientcmdapi.AuthInfo{Token: "REDACTED"}
	case in.Static:
		user = &clientcmdapi.AuthInfo{Token: e.Token}
	}
	cluster := &clientcmdapi.Cluster{Server: e.Server, CertificateAuthorityData: e.CAData, TLSServerName: e.TLSServerName}
	return kubeconfig.New(in.Name, cluster, user)
}

// CredentialExec is the user stanza that runs the credential helper with a's
// arguments: it never prompts (interactiveMode Never) and holds no secret.
func CredentialExec(a credential.Args) *clientcmdapi.ExecConfig {
	return &clientcmdapi.ExecConfig{
		APIVersion:      "client.authentication.k8s.io/v1",
		Command:         ExecCommand,
		Args:            append([]string{"credential"}, a.Render()...),
		InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
		// kubectl then says which cluster it calls, and the helper refuses to hand a
		// token to any other.
		ProvideClusterInfo: true,
		InstallHint: `kubectl-kyma is not installed: install it with
  kubectl krew install kyma
and log in with 'kubectl kyma login --service-key FILE'.`,
	}
}

// cachedBinding is the environment's cached credential, fresh, made under the entry's
// lock when there is none, exactly as the credential helper would: the binding is in
// the made record before it is stored, and the helper's budget holds.
func cachedBinding(ctx context.Context, in Input) (*credential.Entry, error) {
	dir, err := in.CacheDir()
	if err != nil {
		return nil, err
	}
	r := &credential.Refresher{Cache: credential.Cache{Dir: dir}, Minter: in.Minter}
	e, err := r.Ensure(ctx, credential.Input{
		Key:    credential.Key{Profile: in.Profile, Environment: in.EnvID},
		Margin: in.Margin, Ahead: in.Ahead, Clock: in.Clock, Stderr: in.Stderr,
	})
	if err != nil {
		return nil, fmt.Errorf("bind %q: %w", in.EnvName, err)
	}
	return e, nil
}

// ownBinding is the binding of Static (a plain token for the kubeconfig) or of a dry
// run (to learn the cluster when nothing is cached; deleted again).
func ownBinding(ctx context.Context, in Input) (*credential.Entry, error) {
	e, err := dryRunEntry(in)
	if err != nil || e != nil {
		return e, err
	}
	svc, err := in.Bindings()
	if err != nil {
		return nil, err
	}
	b, err := svc.Create(ctx, in.EnvID, in.Expiration)
	if err != nil {
		var made *binding.MadeError
		if errors.As(err, &made) {
			in.Record(made.ID)
			_ = deleteBinding(ctx, svc, in.EnvID, made.ID)
		}
		return nil, in.Explain(ctx, svc, fmt.Errorf("bind %q: %w", in.EnvName, err))
	}
	if !in.DryRun {
		in.Record(b.ID)
	}
	e, err = mint.EntryOf(b, in.Clock.Now(), in.Expiration)
	if in.DryRun || err != nil {
		_ = deleteBinding(ctx, svc, in.EnvID, b.ID)
	}
	return e, err
}

// dryRunEntry is, for a dry run, the cached credential of the environment: its server
// and CA are all the kubeconfig needs, so a dry run makes no binding when there is one.
func dryRunEntry(in Input) (*credential.Entry, error) {
	if !in.DryRun || in.Static {
		return nil, nil
	}
	dir, err := in.CacheDir()
	if err != nil {
		return nil, err
	}
	return (credential.Cache{Dir: dir}).Load(credential.Key{Profile: in.Profile, Environment: in.EnvID}), nil
}

// deleteBinding deletes the binding a dry run made to learn the cluster, or one made
// and not used.
func deleteBinding(ctx context.Context, svc binding.Service, envID, bindingID string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return svc.Delete(ctx, envID, bindingID)
}
