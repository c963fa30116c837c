// Package e2e runs kubectl-kyma as a user does: the built binaries, the real kubectl,
// a real kube-apiserver and etcd on 127.0.0.1, and the emulator in front of them.
//
// TestMain starts one cluster for the whole package and builds the binaries once;
// each test starts the emulator processes it needs, with its own state and flags.
package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/testcluster"
)

var (
	cluster *testcluster.Cluster
	binDir  string // holds kubectl-kyma, kyma-cli, kyma-emulator built for this run
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		fmt.Println("e2e: skipped in -short mode: these tests need a real cluster")
		return 0
	}
	tmp, err := os.MkdirTemp("", "kubectl-kyma-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)

	binDir = filepath.Join(tmp, "bin")
	build := exec.Command("go", "build", "-o", binDir+"/",
		"-ldflags", "-X github.com/kubectl-kyma/kubectl-kyma/internal/version.Version=v0.0.0-e2e",
		"../cmd/...")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build the binaries:", err)
		return 1
	}

	ctx := context.Background()
	cluster, err = testcluster.Start(ctx, filepath.Join(tmp, "cluster"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: start the cluster:", err)
		return 1
	}
	defer cluster.Stop()
	return m.Run()
}

// emulator is one running kyma-emulator process.
type emulator struct {
	URL      string
	StateDir string
	// Cluster backs the emulator: the package's shared one unless a test needs its own.
	Cluster *testcluster.Cluster
	cmd     *exec.Cmd
	client  *http.Client
}

// startEmulator runs kyma-emulator against the package's cluster with extra flags and
// stops it (by PID) when the test ends.
func startEmulator(t testing.TB, args ...string) *emulator {
	t.Helper()
	return startEmulatorOn(t, cluster, args...)
}

// startEmulatorOn runs kyma-emulator in front of cluster c.
func startEmulatorOn(t testing.TB, c *testcluster.Cluster, args ...string) *emulator {
	t.Helper()
	e := &emulator{StateDir: filepath.Join(t.TempDir(), "emulator"), Cluster: c}
	e.start(t, args...)
	return e
}

func (e *emulator) start(t testing.TB, args ...string) {
	t.Helper()
	all := append([]string{"--kubeconfig", e.Cluster.Kubeconfig, "--state-dir", e.StateDir, "--provisioning-delay", "1s"}, args...)
	cmd := exec.Command(filepath.Join(binDir, "kyma-emulator"), all...)
	cmd.Stderr = &testWriter{t: t, prefix: "emulator: "}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start kyma-emulator: %v", err)
	}
	e.cmd = cmd
	t.Cleanup(func() { e.stop(t) })

	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "kyma-emulator listening on "); ok {
				lines <- u
			}
		}
		close(lines)
	}()
	select {
	case u, ok := <-lines:
		if !ok {
			t.Fatal("kyma-emulator exited before it was ready")
		}
		e.URL = u
	case <-time.After(30 * time.Second):
		t.Fatal("kyma-emulator not ready within 30s")
	}
	ca, err := os.ReadFile(filepath.Join(e.StateDir, "ca.crt"))
	if err != nil {
		t.Fatalf("read the emulator's CA: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	e.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// stop ends the emulator by PID and waits for it.
func (e *emulator) stop(t testing.TB) {
	if e.cmd == nil {
		return
	}
	if err := testcluster.StopPID(e.cmd.Process.Pid, 10*time.Second); err != nil {
		t.Errorf("stop kyma-emulator: %v", err)
	}
	_ = e.cmd.Wait()
	e.cmd = nil
}

// restart stops the emulator and starts it again on the same state.
func (e *emulator) restart(t testing.TB, args ...string) {
	t.Helper()
	e.stop(t)
	e.start(t, args...)
}

// Stats is the emulator's count of what it did since it started.
type Stats struct {
	BindingsCreated int `json:"bindingsCreated"`
	BindingRequests int `json:"bindingRequests"`
	LiveBindings    int `json:"liveBindings"`
	TokensIssued    int `json:"tokensIssued"`
	FaultedRequests int `json:"faultedRequests"`
}

func (e *emulator) stats(t testing.TB) Stats {
	t.Helper()
	resp, err := e.client.Get(e.URL + "/emulator/v1/stats")
	if err != nil {
		t.Fatalf("read emulator stats: %v", err)
	}
	defer resp.Body.Close()
	var s Stats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatalf("decode emulator stats: %v", err)
	}
	return s
}

// testWriter sends a child's stderr to the test log, line by line.
type testWriter struct {
	t      testing.TB
	prefix string
}

func (w *testWriter) Write(p []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		w.t.Log(w.prefix + l)
	}
	return len(p), nil
}

var _ io.Writer = (*testWriter)(nil)

// ownCluster starts a cluster for one test, for counting what is on it.
func ownCluster(t testing.TB) *testcluster.Cluster {
	t.Helper()
	c, err := testcluster.Start(context.Background(), filepath.Join(t.TempDir(), "cluster"))
	if err != nil {
		t.Fatalf("start a cluster: %v", err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	return c
}

// kubectl runs the real kubectl binary and returns its combined output.
func kubectl(t testing.TB, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("kubectl", args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestClusterIsUp(t *testing.T) {
	out, err := kubectl(t, nil, "--kubeconfig", cluster.Kubeconfig, "get", "ns", "-o", "name")
	if err != nil {
		t.Fatalf("kubectl get ns: %v\n%s", err, out)
	}
	if !strings.Contains(out, "namespace/default") {
		t.Errorf("kubectl get ns did not list the default namespace:\n%s", out)
	}
}
