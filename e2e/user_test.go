package e2e

import (
	"bytes"
	stdbase64 "encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// user is a person at a terminal: their own home, config, cache and kubeconfig, the
// built plugin on PATH, and the real kubectl.
type user struct {
	t    testing.TB
	home string
	env  []string
}

// newUser makes a user with an empty home. Variables that would change what the plugin
// does (a profile, the seed procedure's credentials) are not inherited.
func newUser(t testing.TB) *user {
	t.Helper()
	home := t.TempDir()
	u := &user{t: t, home: home}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "HOME", "PATH", "KUBECONFIG", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "KUBECTL_KYMA_PROFILE",
			"CLIENT_ID", "CLIENT_SECRET", "UAA_URL", "PROVISIONING_SERVICE_URL", "KUBERNETES_EXEC_INFO":
			continue
		}
		u.env = append(u.env, kv)
	}
	u.env = append(u.env,
		"HOME="+home,
		"PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
	)
	return u
}

// run runs a command as the user, with extra environment variables.
func (u *user) run(extraEnv []string, name string, args ...string) (stdout, stderr string, err error) {
	u.t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(append([]string{}, u.env...), extraEnv...)
	cmd.Dir = u.home
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// kyma runs `kubectl kyma ARGS` through the real kubectl, which finds the plugin on
// PATH.
func (u *user) kyma(args ...string) (string, string, error) {
	u.t.Helper()
	return u.run(nil, "kubectl", append([]string{"kyma"}, args...)...)
}

// mustKyma runs `kubectl kyma ARGS` and fails the test if it fails.
func (u *user) mustKyma(args ...string) string {
	u.t.Helper()
	out, errOut, err := u.kyma(args...)
	if err != nil {
		u.t.Fatalf("kubectl kyma %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// kubectl runs the real kubectl as the user; stdout and stderr come back together.
func (u *user) kubectl(args ...string) (string, error) {
	u.t.Helper()
	out, errOut, err := u.run(nil, "kubectl", args...)
	return out + errOut, err
}

// login stores a profile from the service key the emulator wrote.
func (u *user) login(e *emulator, extra ...string) {
	u.t.Helper()
	u.mustKyma(append([]string{"login", "--service-key", filepath.Join(e.StateDir, "service-key.json"),
		"--certificate-authority", filepath.Join(e.StateDir, "ca.crt")}, extra...)...)
}

// provision makes a ready environment and returns its id.
func (u *user) provision(name string) string {
	u.t.Helper()
	u.mustKyma("provision", name, "--plan", "aws", "--region", "eu-central-1", "--user", "e2e@example.com", "--wait")
	return strings.TrimSpace(u.mustKyma("get", name, "-o", "jsonpath={.id}"))
}

// eventually polls f every second until it returns true or limit passes.
func eventually(t testing.TB, limit time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(time.Second)
	}
}

// refused reports whether kubectl output says the server refused the credentials.
func refused(out string) bool {
	return strings.Contains(out, "Unauthorized") || strings.Contains(out, "must be logged in")
}

func base64(b []byte) string { return stdbase64.StdEncoding.EncodeToString(b) }
