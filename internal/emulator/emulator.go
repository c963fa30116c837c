package emulator

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Files an emulator writes into its state folder for its clients.
const (
	// CACertFile is the CA certificate (PEM) that signs the emulator's serving certificate.
	CACertFile = caCertFile
	// ServiceKeyFile is the CIS service key: credentials.uaa and credentials.endpoints.
	ServiceKeyFile = serviceKeyFile
	// BrokerFile is the broker configuration: url, tokenURL, client, region, plan ids.
	BrokerFile = brokerFile
	// OIDCSigningKeyFile is the RSA key (PKCS#8 PEM) that signs the GitHub-shaped ID
	// tokens; the JWKS publishes its public half.
	OIDCSigningKeyFile = oidcKeyFile
)

// server holds what the handlers share.
type server struct {
	opts         Options
	log          *slog.Logger
	store        *store
	secrets      *secrets
	backend      Backend
	baseURL      string
	subaccountID string
	stats        counters
	faults       faultRules
	issuer       *issuer
}

// Emulator is a running emulator.
type Emulator struct {
	// URL is the base URL, https://127.0.0.1:PORT: the UAA, the Provisioning Service and
	// (under /oauth) the broker all live there.
	URL string
	// CACert is the PEM CA certificate clients must trust.
	CACert []byte
	// StateDir is the state folder, where the client files are.
	StateDir string

	s        *server
	srv      *http.Server
	webhook  *http.Server // the token webhook, when Options.TokenWebhookAddr is set
	served   chan error
	stop     context.CancelFunc
	janitor  sync.WaitGroup
	shutdown sync.Once
}

// Start opens the state folder, listens and serves in the background; ctx bounds only the
// start. The caller stops the emulator with Shutdown.
func Start(ctx context.Context, opts Options) (*Emulator, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("create state folder: %w", err)
	}
	if err := os.Chmod(opts.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("restrict state folder: %w", err)
	}
	ca, err := loadOrCreateCA(opts.StateDir)
	if err != nil {
		return nil, err
	}
	cert, err := ca.servingCertificate()
	if err != nil {
		return nil, err
	}
	sec, err := loadOrCreateSecrets(opts.StateDir)
	if err != nil {
		return nil, err
	}
	st, err := openStore(opts.StateDir)
	if err != nil {
		return nil, err
	}
	iss, err := loadOrCreateIssuer(opts.StateDir)
	if err != nil {
		return nil, err
	}
	backend := opts.Backend
	if backend == nil {
		if backend, err = NewKubeBackend(opts.Kubeconfig); err != nil {
			return nil, err
		}
	}
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", opts.Addr, err)
	}
	_, subaccountID, _ := st.ids()
	s := &server{
		opts: opts, log: opts.Logger, store: st, secrets: sec, backend: backend,
		baseURL: "https://" + ln.Addr().String(), subaccountID: subaccountID, issuer: iss,
	}
	if err := writeClientFiles(opts.StateDir, s.baseURL, opts.Region, sec, subaccountID); err != nil {
		ln.Close()
		return nil, err
	}
	if err := writeGitHubActionsEnv(opts.StateDir, s.baseURL, iss.newJob(s.defaultJob())); err != nil {
		ln.Close()
		return nil, err
	}
	webhook, err := startTokenWebhook(ctx, opts)
	if err != nil {
		ln.Close()
		return nil, err
	}
	e := &Emulator{
		URL: s.baseURL, CACert: ca.certPEM, StateDir: opts.StateDir, s: s,
		served: make(chan error, 1), webhook: webhook,
		srv: &http.Server{
			Handler:           s.skewDate(s.injectFaults(s.logRequests(s.routes()))),
			TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
		},
	}
	// The janitor outlives ctx: it stops with the server, in Shutdown.
	jctx, stop := context.WithCancel(context.Background())
	e.stop = stop
	e.janitor.Go(func() { s.janitor(jctx) })
	go func() { e.served <- e.srv.ServeTLS(ln, "", "") }()
	s.log.Info("emulator started", "url", s.baseURL, "stateDir", opts.StateDir, "cluster", serverOf(backend))
	return e, nil
}

func serverOf(b Backend) string {
	server, _ := b.Cluster()
	return server
}

// Shutdown stops serving (letting requests in flight finish until ctx ends) and stops the
// janitor. The state is on disk already: every change is written when it is made.
func (e *Emulator) Shutdown(ctx context.Context) error {
	var err error
	e.shutdown.Do(func() {
		err = e.srv.Shutdown(ctx)
		if e.webhook != nil {
			err = errors.Join(err, e.webhook.Shutdown(ctx))
		}
		e.stop()
		e.janitor.Wait()
		if serr := <-e.served; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		e.s.log.Info("emulator stopped")
	})
	return err
}

// HTTPClient returns a client that trusts the emulator's CA.
func (e *Emulator) HTTPClient() *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(e.CACert)
	return &http.Client{
		Timeout:   time.Minute,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
	}
}

// Path returns the path of a file in the state folder, e.g. Path(ServiceKeyFile).
func (e *Emulator) Path(name string) string { return filepath.Join(e.StateDir, name) }

// Run starts an emulator, prints its ready line to stdout once it serves and its files
// are written, and serves until ctx ends (SIGINT or SIGTERM in kyma-emulator), then shuts
// down cleanly.
func Run(ctx context.Context, opts Options, stdout io.Writer) error {
	e, err := Start(ctx, opts)
	if err != nil {
		return err
	}
	// Scripts and tests wait for exactly this line.
	if _, err := fmt.Fprintf(stdout, "kyma-emulator listening on %s\n", e.URL); err != nil {
		_ = e.Shutdown(context.Background())
		return fmt.Errorf("write ready line: %w", err)
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-e.served:
		e.served <- serveErr // for Shutdown
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Shutdown(sctx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", serveErr)
	}
	return nil
}

// routes wires the three APIs, the admin endpoint and KEB's kubeconfig URL.
func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", s.handleToken)

	cis := func(h http.HandlerFunc) http.Handler { return s.requireToken(cisXSAppName, h) }
	const envs = "/provisioning/v1/environments"
	mux.Handle("GET /provisioning/v1/availableEnvironments", cis(s.handleAvailableEnvironments))
	mux.Handle("POST "+envs, cis(s.handleCreateEnvironment))
	mux.Handle("GET "+envs, cis(s.handleListEnvironments))
	mux.Handle("GET "+envs+"/{id}", cis(s.handleGetEnvironment))
	mux.Handle("PATCH "+envs+"/{id}", cis(s.handleUpdateEnvironment))
	mux.Handle("DELETE "+envs+"/{id}", cis(s.handleDeleteEnvironment))
	mux.Handle("PUT "+envs+"/{id}/bindings", cis(s.handleCreateBinding))
	mux.Handle("GET "+envs+"/{id}/bindings", cis(s.handleListBindings))
	mux.Handle("GET "+envs+"/{id}/bindings/{bindingId}", cis(s.handleGetBinding))
	mux.Handle("DELETE "+envs+"/{id}/bindings/{bindingId}", cis(s.handleDeleteBinding))

	// KEB serves the broker under /oauth (the default region) and /oauth/{region}; the
	// OAuth check comes first, as KEB's proxy does it, then brokerapi's version check.
	osb := func(h http.Handler) http.Handler { return s.requireToken(brokerXSAppName, checkAPIVersion(h)) }
	bindTimeout := fmt.Sprintf("request timeout: time exceeded %s", s.opts.BindTimeout)
	for _, prefix := range []string{"/oauth", "/oauth/{region}"} {
		const si = "/v2/service_instances/{instance_id}"
		const sb = si + "/service_bindings/{binding_id}"
		mux.Handle("GET "+prefix+"/v2/catalog", osb(http.HandlerFunc(s.handleCatalog)))
		mux.Handle("PUT "+prefix+si, osb(http.HandlerFunc(s.handleProvision)))
		mux.Handle("PATCH "+prefix+si, osb(http.HandlerFunc(s.handleUpdate)))
		mux.Handle("GET "+prefix+si, osb(http.HandlerFunc(s.handleGetInstance)))
		mux.Handle("DELETE "+prefix+si, osb(http.HandlerFunc(s.handleDeprovision)))
		mux.Handle("GET "+prefix+si+"/last_operation", osb(http.HandlerFunc(s.handleLastOperation)))
		mux.Handle("PUT "+prefix+sb, osb(http.TimeoutHandler(http.HandlerFunc(s.handleBind), s.opts.BindTimeout, bindTimeout)))
		mux.Handle("GET "+prefix+sb, osb(http.HandlerFunc(s.handleGetOSBBinding)))
		mux.Handle("DELETE "+prefix+sb, osb(http.HandlerFunc(s.handleUnbind)))
		mux.Handle("GET "+prefix+sb+"/last_operation", osb(http.HandlerFunc(s.handleBindingLastOperation)))
	}
	mux.HandleFunc("GET /kubeconfig/{instance_id}", s.handleRuntimeKubeconfig)
	mux.HandleFunc("GET /emulator/v1/stats", s.handleStats)
	// The GitHub Actions OIDC provider: the issuer is the emulator's URL.
	mux.HandleFunc("GET "+oidcDiscoveryPath, s.handleOIDCDiscovery)
	mux.HandleFunc("GET "+oidcJWKSPath, s.handleJWKS)
	mux.HandleFunc("GET "+oidcTokenPath, s.handleIDToken)
	mux.HandleFunc("POST "+oidcJobsPath, s.handleNewJob)
	mux.HandleFunc("GET /repos/{owner}/{repo}", s.handleGitHubRepository)
	for _, m := range []string{"GET", "POST", "DELETE"} {
		mux.HandleFunc(m+" /emulator/v1/faults", s.handleFaults)
	}
	return mux
}

// logRequests logs each request's method, path and status; never headers or bodies,
// which carry secrets and tokens.
func (s *server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		s.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration", time.Since(start).Round(time.Millisecond))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// skewDate sets every answer's Date header, offset by --date-skew. net/http writes Date
// only when the handler did not set it, so setting it first is enough.
func (s *server) skewDate(next http.Handler) http.Handler {
	if s.opts.DateSkew == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", time.Now().Add(s.opts.DateSkew).UTC().Format(http.TimeFormat))
		next.ServeHTTP(w, r)
	})
}
