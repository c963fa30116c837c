package emulator

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/oidcwebhook"
	"k8s.io/client-go/tools/clientcmd"
)

// startTokenWebhook serves the cluster's token webhook on its own listener when the
// options ask for it (a detached cluster from make dev-up leaves it to the emulator);
// it returns nil otherwise.
func startTokenWebhook(ctx context.Context, opts Options) (*http.Server, error) {
	if opts.TokenWebhookAddr == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(opts.TokenWebhookCert, opts.TokenWebhookKey)
	if err != nil {
		return nil, fmt.Errorf("load the token webhook's certificate: %w", err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", opts.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s: %w", opts.Kubeconfig, err)
	}
	lister, err := oidcwebhook.NewLister(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", opts.TokenWebhookAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s for the token webhook: %w", opts.TokenWebhookAddr, err)
	}
	log := opts.Logger.With("component", "token-webhook")
	mux := http.NewServeMux()
	mux.Handle("POST "+oidcwebhook.Path, oidcwebhook.New(lister, log))
	srv := &http.Server{
		Handler:           mux,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	log.Info("token webhook started", "addr", ln.Addr().String())
	return srv, nil
}
