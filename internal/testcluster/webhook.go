package testcluster

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	_ "embed"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/oidcwebhook"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"
)

// Files of the token webhook in the cluster folder, beside token-webhook.crt and .key.
const (
	tokenWebhookKubeconfig = "token-webhook.kubeconfig"
	// TokenWebhookAddrFile holds the webhook's host:port, for scripts (make dev-up)
	// that start kyma-emulator --token-webhook-addr.
	TokenWebhookAddrFile = "token-webhook.addr"
)

//go:embed openidconnect-crd.yaml
var openIDConnectCRD []byte

// setUpTokenWebhook picks the webhook's address and writes the kubeconfig the apiserver
// reads it from; both must exist before the apiserver starts. When serve is set, the
// webhook is served here, on the listener that picked the address (so no other process
// can take the port in between); otherwise the port is freed for kyma-emulator.
func (c *Cluster) setUpTokenWebhook(p *pki, serve bool) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for the token webhook: %w", err)
	}
	c.TokenWebhook = TokenWebhook{Addr: ln.Addr().String(), CertFile: p.webhookCert, KeyFile: p.webhookKey, Served: serve}

	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["token-webhook"] = &clientcmdapi.Cluster{
		Server:                   "https://" + c.TokenWebhook.Addr + oidcwebhook.Path,
		CertificateAuthorityData: p.caPEM,
	}
	cfg.AuthInfos["kube-apiserver"] = &clientcmdapi.AuthInfo{}
	cfg.Contexts["webhook"] = &clientcmdapi.Context{Cluster: "token-webhook", AuthInfo: "kube-apiserver"}
	cfg.CurrentContext = "webhook"
	if err := clientcmd.WriteToFile(*cfg, filepath.Join(c.Dir, tokenWebhookKubeconfig)); err != nil {
		ln.Close()
		return fmt.Errorf("write the token webhook kubeconfig: %w", err)
	}
	if err := os.WriteFile(filepath.Join(c.Dir, TokenWebhookAddrFile), []byte(c.TokenWebhook.Addr+"\n"), 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("write %s: %w", TokenWebhookAddrFile, err)
	}
	if !serve {
		return ln.Close()
	}

	cert, err := tls.LoadX509KeyPair(p.webhookCert, p.webhookKey)
	if err != nil {
		ln.Close()
		return fmt.Errorf("load the token webhook certificate: %w", err)
	}
	lister, err := oidcwebhook.NewLister(c.RESTConfig())
	if err != nil {
		ln.Close()
		return err
	}
	c.logFile, err = os.OpenFile(filepath.Join(c.Dir, "token-webhook.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		ln.Close()
		return fmt.Errorf("open the token webhook log: %w", err)
	}
	log := slog.New(slog.NewTextHandler(c.logFile, nil))
	mux := http.NewServeMux()
	mux.Handle("POST "+oidcwebhook.Path, oidcwebhook.New(lister, log))
	c.webhook = &http.Server{
		Handler:           mux,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go func() { _ = c.webhook.ServeTLS(ln, "", "") }()
	return nil
}

// installCRDs installs the OpenIDConnect CRD and waits until the apiserver serves the
// resource.
func (c *Cluster) installCRDs(ctx context.Context) error {
	body, err := yaml.YAMLToJSON(openIDConnectCRD)
	if err != nil {
		return fmt.Errorf("read the OpenIDConnect CRD: %w", err)
	}
	client := c.adminHTTPClient()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	status, answer, err := c.adminDo(ctx, client, http.MethodPost, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body)
	if err != nil {
		return fmt.Errorf("install the OpenIDConnect CRD: %w", err)
	}
	if status != http.StatusCreated && status != http.StatusConflict {
		// The answer names the rule the apiserver refused (a CEL rule over its cost
		// budget, say): the CRD is ours, so this is a bug to read, not a secret.
		return fmt.Errorf("install the OpenIDConnect CRD: the apiserver answered %d: %.2000s", status, answer)
	}
	for {
		status, _, err := c.adminDo(ctx, client, http.MethodGet, oidcwebhook.ListPath, nil)
		if err == nil && status == http.StatusOK {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the apiserver does not serve %s within a minute (last: %d %v)", oidcwebhook.ListPath, status, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *Cluster) adminHTTPClient() *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.CAData)
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
	}
}

// adminDo sends one request as the admin and returns the status and up to 64 KiB of
// the answer.
func (c *Cluster) adminDo(ctx context.Context, client *http.Client, method, path string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.Server+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, answer, err
}
