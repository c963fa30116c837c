package sibling

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/kubectl-kyma/kubectl-kyma/internal/version"
)

func TestCheckHandover(t *testing.T) {
	t.Setenv(VersionEnv, version.Version)
	if err := CheckHandover(); err != nil {
		t.Errorf("same release: %v", err)
	}
	t.Setenv(VersionEnv, "v9.9.9")
	if err := CheckHandover(); err == nil || !strings.Contains(err.Error(), "kubectl-kyma v9.9.9 handed this call to kyma-cli "+version.Version+", from another release: reinstall the plugin") {
		t.Errorf("another release: %v", err)
	}
	if _, ok := os.LookupEnv(VersionEnv); ok {
		t.Error("the variable is left for the commands kyma-cli runs")
	}
	if err := CheckHandover(); err != nil {
		t.Errorf("run directly: %v", err)
	}
}

// TestFindOnPath: an executable that is not beside this one is looked up on PATH, the
// one kubectl itself would run; one on neither is not found.
func TestFindOnPath(t *testing.T) {
	dir := t.TempDir()
	name := "kubectl-kyma-sibling-test"
	file := name
	if runtime.GOOS == "windows" {
		file += ".exe"
	}
	if err := os.WriteFile(filepath.Join(dir, file), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	if got, ok := Find(name); !ok || got != filepath.Join(dir, file) {
		t.Errorf("Find(%q) = %q, %v; want %q", name, got, ok, filepath.Join(dir, file))
	}
	if got, ok := Find(name + "-missing"); ok {
		t.Errorf("Find found %q, which is nowhere", got)
	}
}

// TestFindBesideThisExecutable: the sibling beside the running executable wins over
// one of the same name on PATH.
func TestFindBesideThisExecutable(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Skip("no executable path on this platform")
	}
	name := filepath.Base(exe) // this test binary: beside itself, and on PATH too
	elsewhere := t.TempDir()
	if err := os.WriteFile(filepath.Join(elsewhere, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", elsewhere)
	got, ok := Find(strings.TrimSuffix(name, ".exe"))
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	if !ok || filepath.Dir(got) != filepath.Dir(exe) {
		t.Errorf("Find = %q, %v; want the one in %s", got, ok, filepath.Dir(exe))
	}
}

// TestCheckCredentialOnly: started by kubectl as a credential plugin, the binaries run
// the credential command and nothing else, whatever the kubeconfig's exec args say.
func TestCheckCredentialOnly(t *testing.T) {
	for _, tc := range []struct {
		execInfo string
		args     []string
		ok       bool
	}{
		{"", []string{"kubectl-kyma", "oidc", "trust", "o/r"}, true},
		{"", []string{"kubectl-kyma"}, true},
		{`{"apiVersion":"client.authentication.k8s.io/v1"}`, []string{"kubectl-kyma", "credential", "--environment", "e"}, true},
		{`{"apiVersion":"client.authentication.k8s.io/v1"}`, []string{"kyma-cli", "credential", "--lock-fd", "3"}, true},
		{`{"apiVersion":"client.authentication.k8s.io/v1"}`, []string{"kubectl-kyma", "oidc", "trust", "o/r", "--github-api-url", "https://attacker"}, false},
		{`{"apiVersion":"client.authentication.k8s.io/v1"}`, []string{"kubectl-kyma", "run", "env", "--", "sh"}, false},
		{`{"apiVersion":"client.authentication.k8s.io/v1"}`, []string{"kubectl-kyma", "--profile", "p", "credential"}, false},
		{`{"apiVersion":"client.authentication.k8s.io/v1"}`, []string{"kubectl-kyma"}, false},
	} {
		t.Setenv(EnvExecInfo, tc.execInfo)
		err := CheckCredentialOnly(tc.args)
		if (err == nil) != tc.ok {
			t.Errorf("%q with %s=%q: %v, want ok %v", tc.args, EnvExecInfo, tc.execInfo, err, tc.ok)
		}
		if err != nil && strings.Count(err.Error(), "\n") > 0 {
			t.Errorf("not one sentence: %q", err)
		}
	}
}
