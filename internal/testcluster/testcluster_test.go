package testcluster

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestStartStop starts a real cluster, asks it who the admin is through the real
// kubectl, and checks Stop leaves no process behind.
func TestStartStop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd and kube-apiserver")
	}
	c, err := Start(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pids := []int{}
	for _, p := range c.procs {
		pids = append(pids, p.Pid)
	}
	out, err := exec.Command("kubectl", "--kubeconfig", c.Kubeconfig, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl auth whoami: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "admin" {
		t.Errorf("kubectl auth whoami = %q, want admin", got)
	}
	// Like a Kyma cluster, it serves OpenIDConnect resources and asks its token webhook
	// about unknown tokens: refused, not an error.
	if out, err := exec.Command("kubectl", "--kubeconfig", c.Kubeconfig, "get", "openidconnects").CombinedOutput(); err != nil {
		t.Errorf("kubectl get openidconnects: %v\n%s", err, out)
	}
	if !c.TokenWebhook.Served {
		t.Error("an attached cluster does not serve its token webhook")
	}
	unknown := "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2V4YW1wbGUuY29tIn0.c2ln" // {"iss":"https://example.com"}
	out, err = exec.Command("kubectl", "--server", c.Server, "--certificate-authority", filepath.Join(c.Dir, "ca.crt"), "--token", unknown, "auth", "whoami").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Unauthorized") {
		t.Errorf("an unknown JWT: %v, %s; want Unauthorized", err, out)
	}
	// The webhook down breaks nothing that does not need it: the admin's token is read
	// from the token file first.
	_ = c.webhook.Close()
	if out, err := exec.Command("kubectl", "--kubeconfig", c.Kubeconfig, "auth", "whoami").CombinedOutput(); err != nil {
		t.Errorf("kubectl auth whoami with the token webhook down: %v\n%s", err, out)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		p, _ := os.FindProcess(pid)
		if alive(p) {
			t.Errorf("process %d still runs after Stop", pid)
			_ = p.Signal(syscall.SIGKILL)
		}
	}
}
