// Package testcluster starts a real Kubernetes control plane (etcd and kube-apiserver,
// built from the Go module proxy by `make tools`) on 127.0.0.1 for the e2e tests, the
// demo and `make dev-up`.
//
// The apiserver runs with TLS, RBAC, service-account token signing (so TokenRequest
// works, as KEB's bindings need) and a static admin token. Every listener is on the
// loopback interface and on a free port, so several clusters can run side by side.
//
// Like a Kyma cluster, it trusts the OpenID Connect issuers its OpenIDConnect resources
// (authentication.gardener.cloud/v1alpha1, whose CRD Start installs) name, through a
// token webhook (package oidcwebhook): served in the caller's process for an attached
// cluster, by kyma-emulator --token-webhook-addr for a detached one.
package testcluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Cluster is a running etcd + kube-apiserver pair.
type Cluster struct {
	// Server is the apiserver's URL, https://127.0.0.1:PORT.
	Server string
	// CAData is the PEM CA that signed the apiserver's serving certificate.
	CAData []byte
	// AdminToken authenticates as a member of system:masters.
	AdminToken string
	// Kubeconfig is the path of an admin kubeconfig for the cluster.
	Kubeconfig string
	// Dir holds the cluster's certificates, keys, data and logs.
	Dir string
	// TokenWebhook is where the apiserver asks about tokens it does not know itself.
	TokenWebhook TokenWebhook

	procs   []*os.Process // apiserver first: it is stopped before etcd
	webhook *http.Server  // the in-process token webhook of an attached cluster
	logFile *os.File      // its log
}

// TokenWebhook is the token webhook the apiserver is configured with.
type TokenWebhook struct {
	// Addr is its loopback address, host:port.
	Addr string
	// CertFile and KeyFile are its serving certificate and key (PEM), signed by the
	// cluster CA, which the apiserver trusts for it.
	CertFile, KeyFile string
	// Served says the cluster serves it itself (attached); a detached cluster leaves it
	// to kyma-emulator --token-webhook-addr Addr --token-webhook-cert CertFile
	// --token-webhook-key KeyFile.
	Served bool
}

// Cache TTL of the apiserver's token webhook answers, accepted and refused alike: short,
// so that deleting an OpenIDConnect resource (oidc untrust) bites within seconds.
const tokenWebhookCacheTTL = "10s"

// Options tune Start.
type Options struct {
	// BinDir holds etcd and kube-apiserver; empty means BinDir().
	BinDir string
	// Detach starts the processes in their own process group and does not tie their
	// life to the caller's, for `make dev-up`. Tests leave it false.
	Detach bool
	// Ready bounds the wait for /readyz; zero means two minutes.
	Ready time.Duration
}

// BinDir is where `make tools` puts the binaries: $KUBECTL_KYMA_BIN_DIR, or .cache/bin
// at the root of the module that contains the working directory.
func BinDir() (string, error) {
	if d := os.Getenv("KUBECTL_KYMA_BIN_DIR"); d != "" {
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "tools")); err == nil {
				return filepath.Join(dir, ".cache", "bin"), nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the repository root (a go.mod beside tools/) above the working directory")
		}
		dir = parent
	}
}

// Start starts etcd and kube-apiserver with their state in dir and waits until the
// apiserver reports ready. On error nothing is left running.
func Start(ctx context.Context, dir string, opts ...Options) (c *Cluster, err error) {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.BinDir == "" {
		if o.BinDir, err = BinDir(); err != nil {
			return nil, err
		}
	}
	if o.Ready == 0 {
		o.Ready = 2 * time.Minute
	}
	for _, b := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(o.BinDir, b)); err != nil {
			return nil, fmt.Errorf("%s is not built in %s: run `make tools` first", b, o.BinDir)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create cluster folder: %w", err)
	}
	p, err := writePKI(dir)
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	peerURL := "http://127.0.0.1:" + strconv.Itoa(ports[1])
	c = &Cluster{
		Server:     "https://127.0.0.1:" + strconv.Itoa(ports[2]),
		CAData:     p.caPEM,
		AdminToken: p.adminToken,
		Kubeconfig: filepath.Join(dir, "admin.kubeconfig"),
		Dir:        dir,
	}
	// started, not c: a `return nil, err` below sets c to nil before this runs, and
	// what was started must still be stopped.
	started := c
	defer func() {
		if err != nil {
			_ = started.Stop()
			c = nil
		}
	}()

	if err := c.setUpTokenWebhook(p, !o.Detach); err != nil {
		return nil, err
	}

	etcd, err := start(o, dir, "etcd", filepath.Join(o.BinDir, "etcd"),
		"--name=default",
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL,
		"--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=default="+peerURL,
		"--unsafe-no-fsync", // a throwaway test store: durability costs seconds per test run
		"--log-level=warn",
	)
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, etcd)

	apiserver, err := start(o, dir, "kube-apiserver", filepath.Join(o.BinDir, "kube-apiserver"),
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(ports[2]),
		"--tls-cert-file="+p.servingCert,
		"--tls-private-key-file="+p.servingKey,
		"--token-auth-file="+p.tokenFile,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+p.saKey,
		"--service-account-signing-key-file="+p.saKey,
		"--service-cluster-ip-range=10.0.0.0/24",
		"--authentication-token-webhook-config-file="+filepath.Join(dir, tokenWebhookKubeconfig),
		"--authentication-token-webhook-version=v1",
		"--authentication-token-webhook-cache-ttl="+tokenWebhookCacheTTL,
		"--cert-dir="+filepath.Join(dir, "certs"),
		"--profiling=false",
		"--v=0",
	)
	if err != nil {
		return nil, err
	}
	// Stop the apiserver before etcd, so it never logs a storm of etcd errors.
	c.procs = append([]*os.Process{apiserver}, c.procs...)

	if err := c.writeKubeconfig(); err != nil {
		return nil, err
	}
	if err := c.waitReady(ctx, o.Ready); err != nil {
		return nil, fmt.Errorf("%w (logs in %s)", err, dir)
	}
	if err := c.installCRDs(ctx); err != nil {
		return nil, err
	}
	if err := c.aggregateClusterRoles(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// start runs one binary with its output in dir/<name>.log.
func start(o Options, dir, name, bin string, args ...string) (*os.Process, error) {
	logf, err := os.OpenFile(filepath.Join(dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s log: %w", name, err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr(o.Detach)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".pid"), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o600); err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("write %s pid file: %w", name, err)
	}
	// Reap the child when it exits, so a stopped server leaves no zombie behind.
	go func() { _ = cmd.Wait() }()
	return cmd.Process, nil
}

func (c *Cluster) writeKubeconfig() error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: c.Server, CertificateAuthorityData: c.CAData}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: c.AdminToken}
	cfg.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "admin"}
	cfg.CurrentContext = "local"
	if err := clientcmd.WriteToFile(*cfg, c.Kubeconfig); err != nil {
		return fmt.Errorf("write admin kubeconfig: %w", err)
	}
	return os.Chmod(c.Kubeconfig, 0o600)
}

// RESTConfig returns an admin client configuration for the cluster.
func (c *Cluster) RESTConfig() *rest.Config {
	return &rest.Config{
		Host:            c.Server,
		BearerToken:     c.AdminToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: c.CAData},
	}
}

func (c *Cluster) waitReady(ctx context.Context, limit time.Duration) error {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.CAData)
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		for _, p := range c.procs {
			if !alive(p) {
				return fmt.Errorf("process %d exited before the apiserver was ready", p.Pid)
			}
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.Server+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+c.AdminToken)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("/readyz answered %s", resp.Status)
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kube-apiserver not ready within %s: %w", limit, last)
		case <-tick.C:
		}
	}
}

// Stop ends the apiserver, then etcd, by PID: SIGTERM, then SIGKILL after 10 s; then
// the in-process token webhook.
func (c *Cluster) Stop() error {
	var errs []error
	defer func() {
		if c.webhook != nil {
			_ = c.webhook.Close()
			c.webhook = nil
		}
		if c.logFile != nil {
			_ = c.logFile.Close()
			c.logFile = nil
		}
	}()
	for _, p := range c.procs {
		if err := StopPID(p.Pid, 10*time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	c.procs = nil
	return errors.Join(errs...)
}

// StopPID ends one process: SIGTERM, then SIGKILL once grace has passed. A process that
// is already gone is not an error.
func StopPID(pid int, grace time.Duration) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return nil
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return nil // already gone
	}
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if !alive(p) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := p.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill process %d: %w", pid, err)
	}
	return nil
}

// alive reports whether p still runs and is not a zombie waiting to be reaped.
func alive(p *os.Process) bool {
	if p.Signal(syscall.Signal(0)) != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(p.Pid) + "/stat")
	if err != nil {
		return true // no procfs (macOS): signal 0 is all we can tell
	}
	// The state follows the command name in parentheses: "pid (comm) S ...".
	for i := len(stat) - 1; i > 0; i-- {
		if stat[i] == ')' && i+2 < len(stat) {
			return stat[i+2] != 'Z'
		}
	}
	return true
}

// freePorts asks the kernel for n distinct free loopback ports.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
