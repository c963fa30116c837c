package plugin

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
	"github.com/kubectl-kyma/kubectl-kyma/internal/golden"
)

// answer is one canned HTTP answer.
type answer struct {
	status int
	header map[string]string
	body   string
}

// scriptedService answers each route with its answers in turn, the last one again
// and again, and records the request bodies. The token endpoint always answers.
type scriptedService struct {
	mu      sync.Mutex
	script  map[string][]answer
	next    map[string]int
	bodies  map[string][]string
	methods []string
}

func newScriptedService(t *testing.T, script map[string][]answer) (*scriptedService, string) {
	t.Helper()
	s := &scriptedService{script: script, next: map[string]int{}, bodies: map[string][]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"at","token_type":"bearer","expires_in":43199}`))
	})
	for route := range script {
		mux.HandleFunc(route, func(w http.ResponseWriter, r *http.Request) {
			var b bytes.Buffer
			_, _ = b.ReadFrom(r.Body)
			s.mu.Lock()
			as := s.script[route]
			a := as[min(s.next[route], len(as)-1)]
			s.next[route]++
			s.bodies[route] = append(s.bodies[route], b.String())
			s.methods = append(s.methods, r.Method+" "+r.URL.Path)
			s.mu.Unlock()
			for k, v := range a.header {
				w.Header().Set(k, v)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(a.status)
			_, _ = w.Write([]byte(a.body))
		})
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return s, srv.URL
}

// runWithClock runs kubectl kyma in process with a fake clock and an HTTP client
// without retries, so every answer reaches the command as the service gave it.
func runWithClock(t *testing.T, url string, clk *clock.Fake, profile *config.Profile, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	f := NewFactory(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	f.Clock = clk
	dir := t.TempDir()
	f.ConfigStore = func() config.Store { return config.Store{Path: filepath.Join(dir, "config", "config.yaml")} }
	f.CacheDir = func() (string, error) { return filepath.Join(dir, "cache"), nil }
	if profile == nil {
		profile = &config.Profile{Name: "test", Kind: config.KindCIS, ClientID: "id", ClientSecret: "secret", UAAURL: url, ProvisioningURL: url}
	}
	f.Profile = func() (*config.Profile, error) { return profile, nil }
	f.HTTPClient = func(*config.Profile) (*http.Client, error) { return &http.Client{Timeout: 10 * time.Second}, nil }
	cmd := NewRootCmd(f)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func env(state, message string, modified time.Time) answer {
	return answer{status: 200, body: fmt.Sprintf(`{"id":"E1","name":"t1","environmentType":"kyma","planName":"aws","state":%q,"stateMessage":%q,"modifiedDate":%d}`,
		state, message, modified.UnixMilli())}
}

// --wait checks after 2 s, then twice as long each time up to 30 s; a change of state
// brings the next check back to 2 s; a 429 is waited out, as long as the service
// asks when it says (X-Ratelimit-Reset, measured from the answer's Date), and the
// progress line shows all of it.
func TestWaitBacksOffAndWaitsOutRateLimits(t *testing.T) {
	clk := clock.NewFake(now)
	rateLimited := `{"error":{"code":11006,"message":"Request rate limit exceeded","target":"/provisioning/v1/environments/E1"}}`
	reset := strconv.FormatInt(now.Add(60*time.Second+45*time.Second).UnixMilli(), 10)
	_, url := newScriptedService(t, map[string][]answer{
		"POST /provisioning/v1/environments": {{status: 202, body: `{"id":"E1"}`}},
		"GET /provisioning/v1/environments/E1": {
			env("CREATING", "", now), env("CREATING", "", now), env("CREATING", "", now),
			{status: 429, body: rateLimited},
			env("CREATING", "", now),
			// The service's clock is the fake one: its Date is when this answer comes.
			{status: 429, body: rateLimited, header: map[string]string{"X-Ratelimit-Reset": reset, "Date": now.Add(60 * time.Second).Format(http.TimeFormat)}},
			env("UPDATING", "", now), env("OK", "Environment instance created.", now),
		},
	})
	out, errOut, err := runWithClock(t, url, clk, nil, "provision", "t1", "--plan", "aws", "--region", "eu-central-1", "--user", "me@example.com", "--wait")
	if err != nil {
		t.Fatalf("provision --wait: %v\n%s", err, errOut)
	}
	s := time.Second
	if diff := cmp.Diff([]time.Duration{2 * s, 4 * s, 8 * s, 16 * s, 30 * s, 45 * s, 2 * s}, clk.Waits()); diff != "" {
		t.Errorf("waits between checks (-want +got):\n%s", diff)
	}
	if out != "environment/t1 created (id E1)\nenvironment/t1 is ready after 1m47s\n" {
		t.Errorf("stdout = %q", out)
	}
	golden.Assert(t, "wait/backoff", errOut)
}

// Each failed state ends the wait with an error that names it and gives the service's
// message; an answer that still shows the state from before the request does not.
func TestWaitEndsOnFailedStates(t *testing.T) {
	t0 := now.Add(-time.Hour)
	for _, tc := range []struct {
		name   string
		script map[string][]answer
		args   []string
		want   string
	}{
		{"creation", map[string][]answer{
			"POST /provisioning/v1/environments":   {{status: 202, body: `{"id":"E1"}`}},
			"GET /provisioning/v1/environments/E1": {env("CREATING", "", now), env("CREATION_FAILED", "Provisioning failed: no capacity", now)},
		}, []string{"provision", "t1", "--plan", "aws", "--region", "eu-central-1", "--user", "me@example.com", "--wait"},
			`provisioning of "t1" ended in CREATION_FAILED: Provisioning failed: no capacity`},
		{"deletion", map[string][]answer{
			"GET /provisioning/v1/environments": {{status: 200, body: `{"environmentInstances":[{"id":"E1","name":"t1","environmentType":"kyma","state":"DELETION_FAILED","modifiedDate":` +
				strconv.FormatInt(t0.UnixMilli(), 10) + `}]}`}},
			"DELETE /provisioning/v1/environments/E1": {{status: 202, body: `{}`}},
			// The first answer still shows the earlier failure: not the end.
			"GET /provisioning/v1/environments/E1": {env("DELETION_FAILED", "old", t0), env("DELETING", "", now), env("DELETION_FAILED", "Deprovisioning failed: cluster locked", now)},
		}, []string{"deprovision", "t1", "--wait", "--yes"},
			`deprovisioning of "t1" ended in DELETION_FAILED: Deprovisioning failed: cluster locked`},
		{"update", map[string][]answer{
			"GET /provisioning/v1/environments": {{status: 200, body: `{"environmentInstances":[{"id":"E1","name":"t1","environmentType":"kyma","planName":"aws","state":"UPDATE_FAILED","modifiedDate":` +
				strconv.FormatInt(t0.UnixMilli(), 10) + `}]}`}},
			"PATCH /provisioning/v1/environments/E1": {{status: 202, body: `{}`}},
			"GET /provisioning/v1/environments/E1":   {env("UPDATE_FAILED", "old", t0), env("UPDATE_FAILED", "Update failed: quota", now)},
		}, []string{"update", "t1", "--parameters", `{"autoScalerMax":7}`, "--wait"},
			`update of "t1" ended in UPDATE_FAILED: Update failed: quota`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc, url := newScriptedService(t, tc.script)
			_, errOut, err := runWithClock(t, url, clock.NewFake(now), nil, tc.args...)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error = %v\nwant    %s\nstderr: %s", err, tc.want, errOut)
			}
			for route, as := range tc.script {
				if strings.HasPrefix(route, "GET ") && strings.HasSuffix(route, "/E1") && svc.next[route] < len(as) {
					t.Errorf("%s: the wait ended after %d of %d answers", route, svc.next[route], len(as))
				}
			}
		})
	}
}
