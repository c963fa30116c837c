package testcluster

import (
	"context"
	"os"
	"os/exec"
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
