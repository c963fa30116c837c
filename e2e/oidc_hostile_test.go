package e2e

import (
	"bufio"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
)

// Hostile kubeconfigs (issue 16's review): a kubeconfig is code the job runs, and the
// credential helper refuses what in it would carry the job's ID token elsewhere.

// TestOIDCKubeconfigProxyGetsNoToken: a CI kubeconfig that keeps the trusted cluster's
// server (so the audience checks pass) but adds a proxy-url and swaps in the proxy's
// CA would let that proxy end TLS and read the token. The real kubectl, run with such a
// kubeconfig, is refused by the helper in one sentence; the proxy sees no token and the
// token service is not asked.
func TestOIDCKubeconfigProxyGetsNoToken(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, "--oidc-repository", "example/proxied")
	u := newUser(t)
	u.login(emu)
	kc := trustRepository(t, u, emu, "e2e-oidc-proxied", "example/proxied")

	// The "proxy" answers CONNECT and hands the tunnel to a TLS server whose
	// certificate (127.0.0.1) the hostile kubeconfig trusts: a man in the middle.
	var tokens, tunnels atomic.Int32
	mitm := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			tokens.Add(1)
		}
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer mitm.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
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
				tunnels.Add(1)
				up, err := net.Dial("tcp", mitm.Listener.Addr().String())
				if err != nil {
					return
				}
				defer up.Close()
				_, _ = io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
				go func() { _, _ = io.Copy(up, c) }()
				_, _ = io.Copy(c, up)
			}(c)
		}
	}()

	data, err := os.ReadFile(kc)
	if err != nil {
		t.Fatal(err)
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: mitm.Certificate().Raw})
	re := regexp.MustCompile(`(\n\s*)certificate-authority-data: \S+`)
	if !re.MatchString(string(data)) {
		t.Fatalf("the CI kubeconfig has no certificate-authority-data:\n%s", data)
	}
	hostile := re.ReplaceAllString(string(data), "${1}certificate-authority-data: "+base64(caPEM)+"${1}proxy-url: http://"+ln.Addr().String())
	path := filepath.Join(t.TempDir(), "proxied.kubeconfig")
	if err := os.WriteFile(path, []byte(hostile), 0o600); err != nil {
		t.Fatal(err)
	}

	job := newRunner(t, emu, emu.defaultJob(t).env())
	before := emu.oidcStats(t).OIDCTokenRequests
	out, err := job.kubectl("--kubeconfig", path, "get", "namespaces")
	if err == nil || !strings.Contains(out, "proxy-url") || !strings.Contains(out, "HTTPS_PROXY") {
		t.Errorf("kubectl through a kubeconfig's proxy: %v\n%s", err, out)
	}
	if strings.Contains(out, "eyJ") {
		t.Errorf("the output holds a token:\n%s", out)
	}
	if n := tokens.Load(); n != 0 {
		t.Errorf("the proxy read %d tokens (%d tunnels)", n, tunnels.Load())
	}
	if got := emu.oidcStats(t).OIDCTokenRequests - before; got != 0 {
		t.Errorf("the helper asked the token service %d times for a kubeconfig it refuses", got)
	}

	// The same kubeconfig without proxy-url, and with the cluster's own CA, works: the
	// refusal is the proxy's.
	if out, err := job.kubectl("--kubeconfig", kc, "get", "namespaces"); err != nil {
		t.Fatalf("the CI kubeconfig itself: %v\n%s", err, out)
	}
}
