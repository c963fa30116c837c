package actionstoken

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

func lookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// A guarded variable the plugin has otherwise than kubectl (set, unset, changed, or
// set empty) refuses the fetch, naming the variable; the same environment passes.
func TestCheckEnvRefusesWhatTheParentDoesNotHave(t *testing.T) {
	parent := map[string]string{
		EnvRequestURL: "https://pipelines.actions.githubusercontent.com/abc/idtoken?api-version=2.0",
		"HTTPS_PROXY": "http://proxy.corp:3128", "PATH": "/usr/bin",
	}
	same := map[string]string{}
	for k, v := range parent {
		same[k] = v
	}
	same["KUBERNETES_EXEC_INFO"] = "{}" // client-go adds it; not guarded
	if err := checkEnv(lookup(same), parent, "/proc/1/environ", nil); err != nil {
		t.Errorf("the same environment: %v", err)
	}
	for _, tc := range []struct{ name, value string }{
		{"HTTPS_PROXY", "http://attacker.example"},
		{"https_proxy", "http://attacker.example"},
		{"SSL_CERT_FILE", "./ci/ca.pem"},
		{"SSL_CERT_DIR", "./ci"},
		{"GODEBUG", "http2debug=2"},
		{EnvAllowHost, "attacker.example"},
		{EnvRequestURL, "http://127.0.0.1:9/collect"},
		{"NO_PROXY", "*"},
		{"HTTPS_PROXY", ""}, // set empty: kubectl's proxy dropped
	} {
		own := map[string]string{}
		for k, v := range same {
			own[k] = v
		}
		own[tc.name] = tc.value
		err := checkEnv(lookup(own), parent, "/proc/1/environ", nil)
		var ns interface{ NotSent() bool }
		if err == nil || !strings.HasPrefix(err.Error(), tc.name+" differs from kubectl's own (/proc/1/environ)") || !errors.As(err, &ns) {
			t.Errorf("%s=%q: %v, want a refusal naming it, marked as not sent", tc.name, tc.value, err)
		}
		if err != nil && (strings.Contains(err.Error(), "attacker") || strings.Contains(err.Error(), "127.0.0.1")) {
			t.Errorf("the refusal shows the value: %v", err)
		}
	}
	unset := map[string]string{}
	for k, v := range same {
		if k != "HTTPS_PROXY" {
			unset[k] = v
		}
	}
	if err := checkEnv(lookup(unset), parent, "/proc/1/environ", nil); err == nil || !strings.HasPrefix(err.Error(), "HTTPS_PROXY differs") {
		t.Errorf("HTTPS_PROXY unset: %v, want a refusal", err)
	}
	// A parent whose environment cannot be read is no pass.
	err := checkEnv(lookup(same), nil, "/proc/1/environ", errors.New("open /proc/1/environ: permission denied"))
	if err == nil || !strings.Contains(err.Error(), "cannot read the environment of kubectl") {
		t.Errorf("an unreadable parent: %v, want a refusal", err)
	}
}

// On Linux CheckEnv reads the real parent's environment: a child started with the
// test's environment passes, one with a proxy added is refused.
func TestCheckEnvReadsTheParentProcess(t *testing.T) {
	if os.Getenv("ACTIONSTOKEN_CHECKENV_CHILD") == "1" {
		if err := CheckEnv(os.LookupEnv); err != nil {
			os.Stdout.WriteString("refused: " + err.Error())
			return
		}
		os.Stdout.WriteString("passed")
		return
	}
	if runtime.GOOS != "linux" {
		if err := CheckEnv(func(string) (string, bool) { return "x", true }); err != nil {
			t.Errorf("CheckEnv off Linux: %v, want nil (no /proc)", err)
		}
		return
	}
	run := func(extra ...string) string {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCheckEnvReadsTheParentProcess$")
		cmd.Env = append(os.Environ(), append([]string{"ACTIONSTOKEN_CHECKENV_CHILD=1"}, extra...)...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return string(out)
	}
	if out := run(); !strings.HasPrefix(out, "passed") {
		t.Errorf("a child with its parent's environment: %s", out)
	}
	if out := run("HTTPS_PROXY=http://attacker.example:3128"); !strings.HasPrefix(out, "refused: HTTPS_PROXY differs from kubectl's own (/proc/") {
		t.Errorf("a child with a proxy of its own: %s", out)
	}
}
