package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// failsNaming runs kubectl kyma ARGS, which must exit non-zero with one error line that
// names state and the emulator's message for it, and no stack trace.
func failsNaming(t *testing.T, u *user, state, message string, args ...string) {
	t.Helper()
	out, errOut, err := u.kyma(args...)
	if exitCodeOf(err) == 0 {
		t.Fatalf("kubectl kyma %s succeeded, want it to fail with %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), state, out, errOut)
	}
	var errLine string
	for _, l := range strings.Split(errOut, "\n") {
		if strings.HasPrefix(l, "error: ") {
			errLine = l
		}
	}
	if !strings.Contains(errLine, state) || !strings.Contains(errLine, message) || strings.Contains(errOut, "goroutine") {
		t.Errorf("kubectl kyma %s: error line %q, want it to name %s and %q\nstderr: %s", strings.Join(args, " "), errLine, state, message, errOut)
	}
}

// environmentJSON is `kubectl kyma get NAME -o json` decoded, with the parameters the
// service sends as a string holding JSON.
func environmentJSON(t *testing.T, u *user, name string) (state string, params map[string]any) {
	t.Helper()
	var e struct {
		State      string `json:"state"`
		Parameters string `json:"parameters"`
	}
	if err := json.Unmarshal([]byte(u.mustKyma("get", name, "-o", "json")), &e); err != nil {
		t.Fatalf("get %s -o json: %v", name, err)
	}
	if err := json.Unmarshal([]byte(e.Parameters), &params); err != nil {
		t.Fatalf("get %s -o json: parameters %q: %v", name, e.Parameters, err)
	}
	return e.State, params
}

// TestLifecycleFailedStates: the three failed states, each made by its magic name, end
// --wait with a non-zero exit that names the state and the service's message; list and
// get show them; KEB's last_operation says "failed" to a KEB-direct profile.
func TestLifecycleFailedStates(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t)
	u := newUser(t)
	u.login(emu)
	provision := func(name string, extra ...string) []string {
		return append([]string{"provision", name, "--plan", "aws", "--region", "eu-central-1", "--user", "e2e@example.com"}, extra...)
	}

	failsNaming(t, u, "CREATION_FAILED", "kyma-emulator fails the creation of every environment whose name starts with fail-",
		provision("fail-x", "--wait")...)
	if list := u.mustKyma("list"); !lineHas(list, "fail-x", "CREATION_FAILED") {
		t.Errorf("list does not show fail-x CREATION_FAILED:\n%s", list)
	}
	if wide := u.mustKyma("get", "fail-x", "-o", "wide"); !strings.Contains(wide, "Provisioning failed: kyma-emulator") {
		t.Errorf("get -o wide does not show the message:\n%s", wide)
	}

	u.mustKyma(provision("fail-delete-x", "--wait")...)
	failsNaming(t, u, "DELETION_FAILED", "kyma-emulator fails the deletion of every environment whose name starts with fail-delete-",
		"deprovision", "fail-delete-x", "--wait", "--yes")
	if state, _ := environmentJSON(t, u, "fail-delete-x"); state != "DELETION_FAILED" {
		t.Errorf("fail-delete-x after deprovision --wait: %s", state)
	}

	u.mustKyma(provision("fail-update-x", "--wait")...)
	failsNaming(t, u, "UPDATE_FAILED", "kyma-emulator fails every update of an environment whose name starts with fail-update-",
		"update", "fail-update-x", "--parameters", `{"autoScalerMax":7}`, "--wait")
	state, params := environmentJSON(t, u, "fail-update-x")
	if state != "UPDATE_FAILED" || params["autoScalerMax"] != nil {
		t.Errorf("fail-update-x after the failed update: %s %v", state, params)
	}
	if list := u.mustKyma("list"); !lineHas(list, "fail-update-x", "UPDATE_FAILED") || !lineHas(list, "fail-delete-x", "DELETION_FAILED") {
		t.Errorf("list does not show the failed states:\n%s", list)
	}

	// The same environment through KEB's OSB API: its last_operation says "failed".
	id := strings.TrimSpace(u.mustKyma("get", "fail-update-x", "-o", "jsonpath={.id}"))
	loginBroker(t, u, emu)
	out, errOut, err := u.kyma("--profile", "keb", "update", id, "--parameters", `{"autoScalerMax":8}`, "--wait")
	if exitCodeOf(err) == 0 || !strings.Contains(errOut, `last_operation state "failed"`) || !strings.Contains(errOut, "fail-update-") {
		t.Errorf("KEB update of fail-update-x: %v\nstdout: %s\nstderr: %s", err, out, errOut)
	}
}

// loginBroker stores a KEB-direct profile "keb" from the broker.json the emulator wrote.
func loginBroker(t *testing.T, u *user, emu *emulator) {
	t.Helper()
	var b struct {
		URL, TokenURL, ClientID, ClientSecret, Region, ServiceID string
		Plans                                                    map[string]string
	}
	readJSON(t, filepath.Join(emu.StateDir, "broker.json"), &b)
	secret := filepath.Join(u.home, "broker-secret")
	if err := os.WriteFile(secret, []byte(b.ClientSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	u.mustKyma("login", "--profile", "keb", "--broker-url", b.URL, "--token-url", b.TokenURL, "--client-id", b.ClientID,
		"--client-secret-file", secret, "--region", b.Region, "--service-id", b.ServiceID, "--plan-id", b.Plans["aws"],
		"--certificate-authority", filepath.Join(emu.StateDir, "ca.crt"))
}

// TestLifecycleParametersRoundTrip: provision --parameters and update --parameters
// reach the service and come back through get -o json, merged.
func TestLifecycleParametersRoundTrip(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t)
	u := newUser(t)
	u.login(emu)

	u.mustKyma("provision", "params", "--plan", "aws", "--region", "eu-central-1", "--user", "e2e@example.com",
		"--parameters", `{"machineType":"m6i.xlarge"}`, "--wait")
	if _, params := environmentJSON(t, u, "params"); params["machineType"] != "m6i.xlarge" || params["name"] != "params" || params["region"] != "eu-central-1" {
		t.Errorf("parameters after provision: %v", params)
	}

	out := u.mustKyma("update", "params", "--parameters", `{"autoScalerMax":7}`, "--wait")
	if !strings.Contains(out, "environment/params is updated") {
		t.Errorf("update --wait:\n%s", out)
	}
	state, params := environmentJSON(t, u, "params")
	if state != "OK" || params["autoScalerMax"] != float64(7) || params["machineType"] != "m6i.xlarge" {
		t.Errorf("after update --wait: %s %v", state, params)
	}

	// A parameter the service's schema refuses: its message, one line.
	_, errOut, err := u.kyma("update", "params", "--parameters", `{"autoScalerMax":301}`)
	if exitCodeOf(err) == 0 || !strings.Contains(errOut, "maximum: got 301, want 300") {
		t.Errorf("update with a refused parameter: %v %s", err, errOut)
	}
	// A flag and a parameter that disagree: refused before any request.
	_, errOut, err = u.kyma("provision", "other", "--plan", "aws", "--region", "eu-central-1", "--user", "e2e@example.com",
		"--parameters", `{"region":"us-east-1"}`)
	if exitCodeOf(err) == 0 || !strings.Contains(errOut, `--parameters sets region to "us-east-1" but --region says "eu-central-1"`) {
		t.Errorf("disagreeing flag and parameter: %v %s", err, errOut)
	}
}

// TestLifecycleWaitOutlastsRateLimit: the service answers the polls 429 (code 11006,
// no rate headers) more often than the HTTP client retries; --wait waits it out, says
// so on the progress line, and ends ready.
// TestLifecycleWaitUnderRateLimitOfASkewedService: the Provisioning Service says when
// its rate limit resets as a time on its own clock (X-Ratelimit-Reset, epoch ms), here
// two hours ahead of this machine's. The client measures it from the answer's Date, so
// it waits the seconds the service meant, not two hours (or until --timeout).
func TestLifecycleWaitUnderRateLimitOfASkewedService(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, "--date-skew", "2h")
	u := newUser(t)
	u.login(emu)
	// Every attempt of the client and of its retries, for a while.
	emu.fault(t, `{"route":"GET /provisioning/v1/environments/{id}","count":8,"status":429,"retryAfter":"3","resetOnly":true,"emptyBody":true}`)
	out, errOut, err := u.kyma("provision", "skewed", "--plan", "aws", "--region", "eu-central-1", "--user", "e2e@example.com", "--wait", "--timeout", "3m")
	if err != nil || !strings.Contains(out, "environment/skewed is ready") {
		t.Fatalf("provision --wait under the rate limit of a service two hours ahead: %v\nstdout: %s\nstderr: %s", err, out, errOut)
	}
	if strings.Contains(errOut, "next check in 1h") || strings.Contains(errOut, "next check in 2h") {
		t.Errorf("the wait took the service's clock for this machine's:\n%s", errOut)
	}
	if got := emu.stats(t).FaultedRequests; got != 8 {
		t.Errorf("faulted requests = %d, want 8", got)
	}
}

func TestLifecycleWaitOutlastsRateLimit(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t)
	u := newUser(t)
	u.login(emu)
	// The first attempt and the client's four retries.
	emu.fault(t, `{"route":"GET /provisioning/v1/environments/{id}","count":5,"status":429,"noRateHeaders":true,"message":"Request rate limit exceeded"}`)
	out, errOut, err := u.kyma("provision", "limited", "--plan", "aws", "--region", "eu-central-1", "--user", "e2e@example.com", "--wait")
	if err != nil || !strings.Contains(out, "environment/limited is ready") {
		t.Fatalf("provision --wait under a rate limit: %v\nstdout: %s\nstderr: %s", err, out, errOut)
	}
	if !strings.Contains(errOut, "limited: rate-limited (") || !strings.Contains(errOut, "next check in 2s") {
		t.Errorf("the progress lines do not show the rate limit and the next check:\n%s", errOut)
	}
	if got := emu.stats(t).FaultedRequests; got != 5 {
		t.Errorf("faulted requests = %d, want 5", got)
	}
}
