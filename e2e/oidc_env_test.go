package e2e

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// A kubeconfig's exec env: runs the plugin in an environment kubectl does not have.
// Where that environment decides where the job's request token goes (the token-service
// URL, the host opt-in, a proxy and the roots that judge the service's certificate),
// the helper compares it with kubectl's own (Linux: /proc/PPID/environ) and refuses a
// difference (review 16b, finding 1).

// withExecEnv writes a copy of kubeconfig kc whose exec user also sets env.
func withExecEnv(t *testing.T, kc string, env ...clientcmdapi.ExecEnvVar) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(kc)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ai := range cfg.AuthInfos {
		if ai.Exec != nil {
			ai.Exec.Env = append(ai.Exec.Env, env...)
			n++
		}
	}
	if n == 0 {
		t.Fatalf("%s has no exec user", kc)
	}
	path := filepath.Join(t.TempDir(), "hostile.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// setEnv returns env with name set to value (replaced where it was).
func setEnv(env []string, name, value string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return append(out, name+"="+value)
}

// interceptingProxy is a proxy that answers CONNECT and ends TLS itself with a
// certificate for host, signed by a CA it returns (PEM): what a pull request's proxy
// plus a CA file in the checkout make. It records the Authorization of every request
// it reads through a tunnel.
func interceptingProxy(t *testing.T, host string) (addr string, caPEM []byte, seen func() []string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "a pull request's CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf := tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}

	var mu sync.Mutex
	var got []string
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil || req.Method != http.MethodConnect {
					return
				}
				_, _ = c.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
				tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{leaf}, NextProtos: []string{"http/1.1"}})
				r, err := http.ReadRequest(bufio.NewReader(tc))
				if err != nil {
					return
				}
				mu.Lock()
				got = append(got, "CONNECT "+req.Host+" GET "+r.URL.Path+" Authorization: "+r.Header.Get("Authorization"))
				mu.Unlock()
				_, _ = tc.Write([]byte("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"))
			}(c)
		}
	}()
	return ln.Addr().String(), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
}

func TestOIDCKubeconfigEnvCannotRedirectTheRequestToken(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the helper compares kubectl's environment on Linux only (/proc); README says so")
	}
	t.Parallel()
	emu := startEmulator(t, "--oidc-repository", "example/envd")
	u := newUser(t)
	u.login(emu)
	kc := trustRepository(t, u, emu, "e2e-oidc-envd", "example/envd")

	// (b) The job's own token-service URL on GitHub's host, so the host rule passes;
	// the kubeconfig adds a proxy and a CA file that the pull request ships. Without
	// the check the proxy read `Authorization: bearer <the job's request token>`.
	t.Run("proxy and CA", func(t *testing.T) {
		const host = "pipelines.actions.githubusercontent.com"
		addr, caPEM, seen := interceptingProxy(t, host)
		ca := filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(ca, caPEM, 0o644); err != nil {
			t.Fatal(err)
		}
		hostile := withExecEnv(t, kc,
			clientcmdapi.ExecEnvVar{Name: "HTTPS_PROXY", Value: "http://" + addr},
			clientcmdapi.ExecEnvVar{Name: "SSL_CERT_FILE", Value: ca})
		job := newRunner(t, emu, setEnv(emu.defaultJob(t).env(), "ACTIONS_ID_TOKEN_REQUEST_URL", "https://"+host+"/abc/idtoken?api-version=2.0"))
		out, err := job.kubectl("--kubeconfig", hostile, "get", "namespaces", "--request-timeout=20s")
		if err == nil || !strings.Contains(out, "HTTPS_PROXY differs from kubectl's own") || !strings.Contains(out, "not in the kubeconfig") {
			t.Errorf("kubectl with env: HTTPS_PROXY and SSL_CERT_FILE: %v\n%s", err, out)
		}
		if got := seen(); len(got) != 0 {
			t.Errorf("the kubeconfig's proxy read the request token: %q", got)
		}
	})

	// (a) The URL pointed at a listener of this machine's (another local user's, say),
	// with the host opt-in set as well: the host rule lets both through.
	t.Run("token-service URL and host opt-in", func(t *testing.T) {
		var mu sync.Mutex
		var auths []string
		collect := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			auths = append(auths, r.Header.Get("Authorization"))
			mu.Unlock()
			w.WriteHeader(http.StatusServiceUnavailable)
		})}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = collect.Serve(ln) }()
		defer collect.Close()
		hostile := withExecEnv(t, kc,
			clientcmdapi.ExecEnvVar{Name: "ACTIONS_ID_TOKEN_REQUEST_URL", Value: "http://" + ln.Addr().String() + "/collect?x=1"},
			clientcmdapi.ExecEnvVar{Name: "KUBECTL_KYMA_OIDC_TOKEN_SERVICE_HOST", Value: "attacker.example"})
		job := newRunner(t, emu, emu.defaultJob(t).env())
		before := emu.oidcStats(t).OIDCTokenRequests
		out, err := job.kubectl("--kubeconfig", hostile, "get", "namespaces", "--request-timeout=20s")
		if err == nil || !strings.Contains(out, "ACTIONS_ID_TOKEN_REQUEST_URL differs from kubectl's own") {
			t.Errorf("kubectl with env: ACTIONS_ID_TOKEN_REQUEST_URL: %v\n%s", err, out)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(auths) != 0 {
			t.Errorf("the kubeconfig's URL got the request token: %q", auths)
		}
		if got := emu.oidcStats(t).OIDCTokenRequests - before; got != 0 {
			t.Errorf("the token service was asked %d times", got)
		}
	})

	// The same variables set in the job's own environment are kubectl's too, and
	// the job reaches the cluster (the emulator is on 127.0.0.1, which no proxy takes).
	t.Run("set in the job", func(t *testing.T) {
		env := setEnv(emu.defaultJob(t).env(), "HTTPS_PROXY", "http://127.0.0.1:9")
		env = setEnv(env, "KUBECTL_KYMA_OIDC_TOKEN_SERVICE_HOST", "ghes.example.com")
		job := newRunner(t, emu, env)
		if out, err := job.kubectl("--kubeconfig", kc, "get", "namespaces"); err != nil {
			t.Errorf("a job that sets HTTPS_PROXY itself: %v\n%s", err, out)
		}
	})
}

// TestOIDCKubeconfigArgsRunOnlyTheCredential: a kubeconfig whose exec stanza keeps the
// plugin as its command but names another command in args: (oidc trust with a GitHub
// API URL of the attacker's, which would get the job's GITHUB_TOKEN) is refused, with
// the real kubectl, and the URL hears nothing (review 16c, finding 1).
func TestOIDCKubeconfigArgsRunOnlyTheCredential(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, "--oidc-repository", "example/argsd")
	u := newUser(t)
	u.login(emu)
	kc := trustRepository(t, u, emu, "e2e-oidc-argsd", "example/argsd")
	var mu sync.Mutex
	var heard []string
	listener := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		heard = append(heard, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		mu.Unlock()
	}))
	t.Cleanup(listener.Close)
	cfg, err := clientcmd.LoadFromFile(kc)
	if err != nil {
		t.Fatal(err)
	}
	for _, ai := range cfg.AuthInfos {
		if ai.Exec != nil {
			ai.Exec.Args = []string{"oidc", "trust", "example/argsd", "--github-api-url", listener.URL}
			if ai.Exec.Command == "kubectl" {
				ai.Exec.Args = append([]string{"kyma"}, ai.Exec.Args...)
			}
		}
	}
	hostile := filepath.Join(t.TempDir(), "args.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, hostile); err != nil {
		t.Fatal(err)
	}
	job := newRunner(t, emu, setEnv(emu.defaultJob(t).env(), "GITHUB_TOKEN", "ghs_the-jobs-secret"))
	out, err := job.kubectl("--kubeconfig", hostile, "get", "namespaces", "--request-timeout=20s")
	if err == nil || !strings.Contains(out, "runs only the credential command") {
		t.Errorf("kubectl with exec args naming oidc trust: %v\n%s", err, out)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(heard) != 0 {
		t.Errorf("the kubeconfig's URL heard %q", heard)
	}
}
