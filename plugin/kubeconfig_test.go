package plugin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The dry run through the command: nothing cached, nothing recorded, the binding made
// to learn the cluster deleted, no token printed.
func TestKubeconfigDryRun(t *testing.T) {
	svc := newFakeBindings()
	e := newTestEnv(t, svc)
	path := filepath.Join(t.TempDir(), "config")
	for _, static := range []bool{false, true} {
		args := []string{"kubeconfig", "env-1", "--kubeconfig", path, "--dry-run"}
		if static {
			args = append(args, "--static")
		}
		if err := e.run(args...); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		out := e.out.String()
		if !strings.Contains(out, "+current-context: kyma-env-1") || strings.Contains(out, "tok\n") {
			t.Errorf("%v printed:\n%s", args, out)
		}
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("the dry run wrote the kubeconfig")
	}
	if entries, _ := os.ReadDir(e.cache); len(entries) != 0 {
		t.Errorf("the dry run wrote to the cache: %v", entries)
	}
	if svc.made != 2 || len(svc.liveIDs()) != 0 {
		t.Errorf("made %d bindings, live %v: a dry run deletes the one it made", svc.made, svc.liveIDs())
	}
}
