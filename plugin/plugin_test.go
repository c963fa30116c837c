package plugin

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
	"github.com/kubectl-kyma/kubectl-kyma/internal/golden"
)

// now is the fake clock of every run test: ages in tables are stable.
var now = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// fakeService answers like the Provisioning Service, from canned JSON: for testing
// how commands print, not the client (which has its own tests) nor the product (e2e).
func fakeService(t *testing.T, routes map[string]string) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"at","token_type":"bearer","expires_in":43199}`))
	})
	for route, body := range routes {
		mux.HandleFunc(route, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(body))
		})
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// runCmd runs kubectl kyma in process against url and returns stdout, stderr, error.
func runCmd(t *testing.T, url string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	f := NewFactory(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	f.Clock = clock.NewFake(now)
	dir := t.TempDir()
	f.ConfigStore = func() config.Store { return config.Store{Path: filepath.Join(dir, "config", "config.yaml")} }
	f.CacheDir = func() (string, error) { return filepath.Join(dir, "cache"), nil }
	f.Profile = func() (*config.Profile, error) {
		return &config.Profile{Name: "test", Kind: config.KindCIS, ClientID: "id", ClientSecret: "secret", UAAURL: url, ProvisioningURL: url}, nil
	}
	cmd := NewRootCmd(f)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

const environmentsJSON = `{"environmentInstances":[
 {"id":"5A0F3E41-1111","name":"prod","environmentType":"kyma","planName":"aws","state":"OK","stateMessage":"Environment created.",
  "subaccountGUID":"sub-1","parameters":"{\"name\":\"prod\",\"region\":\"eu-central-1\"}",
  "labels":"{\"Name\":\"prod\",\"APIServerURL\":\"https://api.c-1.kyma.ondemand.com\"}","createdDate":1795341600000},
 {"id":"7B2C9D00-2222","name":"dev","environmentType":"kyma","planName":"trial","state":"CREATING",
  "parameters":{"name":"dev","region":"westeurope"},"createdDate":1795420800000},
 {"id":"cf-1","name":"cf","environmentType":"cloudfoundry","state":"OK"}]}`

func TestListGolden(t *testing.T) {
	srv := fakeService(t, map[string]string{"GET /provisioning/v1/environments": environmentsJSON})
	for _, tc := range []struct{ name, output string }{
		{"default", ""}, {"wide", "wide"}, {"name", "name"}, {"jsonpath", "jsonpath={.items[*].id}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"list"}
			if tc.output != "" {
				args = append(args, "-o", tc.output)
			}
			out, errOut, err := runCmd(t, srv.URL, args...)
			if err != nil {
				t.Fatalf("list: %v\n%s", err, errOut)
			}
			golden.Assert(t, "list/"+tc.name, out)
		})
	}
}

func TestGetByNameGolden(t *testing.T) {
	srv := fakeService(t, map[string]string{"GET /provisioning/v1/environments": environmentsJSON})
	out, errOut, err := runCmd(t, srv.URL, "get", "prod", "-o", "yaml")
	if err != nil {
		t.Fatalf("get: %v\n%s", err, errOut)
	}
	golden.Assert(t, "get/yaml", out)
}

func TestGetUnknownNameListsWhatExists(t *testing.T) {
	srv := fakeService(t, map[string]string{"GET /provisioning/v1/environments": environmentsJSON})
	_, _, err := runCmd(t, srv.URL, "get", "staging")
	want := `no Kyma environment "staging"; the subaccount has: dev (7B2C9D00-2222), prod (5A0F3E41-1111)`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant    %s", err, want)
	}
}

func TestAvailableGolden(t *testing.T) {
	srv := fakeService(t, map[string]string{"GET /provisioning/v1/availableEnvironments": `{"availableEnvironments":[
	 {"environmentType":"kyma","serviceName":"kymaruntime","planName":"aws","description":"Kyma on AWS","planUpdatable":true,"availabilityLevel":"Standard",
	  "createSchema":"{\"parameters\":{\"properties\":{\"region\":{\"enum\":[\"eu-central-1\",\"us-east-1\"]}}}}"},
	 {"environmentType":"cloudfoundry","planName":"standard"}]}`})
	out, errOut, err := runCmd(t, srv.URL, "available")
	if err != nil {
		t.Fatalf("available: %v\n%s", err, errOut)
	}
	golden.Assert(t, "available/default", out)
}

func TestBindingsGolden(t *testing.T) {
	srv := fakeService(t, map[string]string{
		"GET /provisioning/v1/environments": environmentsJSON,
		"GET /provisioning/v1/environments/5A0F3E41-1111/bindings": `{"bindings":[
		 {"bindingId":"b-1","instanceId":"5A0F3E41-1111","createdBy":"sb-client","createdDate":1795427400000,"expiresAt":"2026-11-23T10:05:00Z"},
		 {"bindingId":"b-0","instanceId":"5A0F3E41-1111","createdBy":"sb-client","createdDate":1795421400000,"expiresAt":"2026-11-23T08:20:00Z"}]}`,
	})
	out, errOut, err := runCmd(t, srv.URL, "bindings", "prod")
	if err != nil {
		t.Fatalf("bindings: %v\n%s", err, errOut)
	}
	golden.Assert(t, "bindings/default", out)
}

func TestEmptyListSaysSo(t *testing.T) {
	srv := fakeService(t, map[string]string{"GET /provisioning/v1/environments": `{"environmentInstances":[]}`})
	out, errOut, err := runCmd(t, srv.URL, "list")
	if err != nil || out != "" || errOut != "No resources found.\n" {
		t.Errorf("list of nothing: out %q, stderr %q, err %v", out, errOut, err)
	}
}

// Flags are checked before any network call: these run against no server at all.
func TestFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"list", "-o", "xml"}, `unknown output format "xml"`},
		{[]string{"bind", "x", "--expiration", "100"}, "a binding lives from 600 to 7200 seconds (10m to 2h), not 100"},
		{[]string{"bind", "x", "--expiration", "9000"}, "not 9000"},
		{[]string{"bind", "x", "--expiration", "soon"}, `"soon" is neither seconds nor a duration`},
		{[]string{"provision", "x", "--plan", "aws"}, "provision needs --region, --user"},
		{[]string{"get"}, "kubectl kyma get takes NAME|ID, got 0 arguments"},
		{[]string{"unbind", "x"}, "kubectl kyma unbind takes NAME|ID BINDING_ID, got 1 arguments"},
		{[]string{"login"}, "say what to log in with"},
		{[]string{"credential"}, "--environment is required"},
		{[]string{"kubeconfig", "x", "--static", "--refresh-margin", "1m"}, "--refresh-margin goes with the exec credential"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, _, err := runCmd(t, "http://127.0.0.1:1", tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// Completion runs through cobra's hidden __complete command, as shells call it.
func TestCompletion(t *testing.T) {
	srv := fakeService(t, map[string]string{"GET /provisioning/v1/environments": environmentsJSON})
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"__complete", "get", ""}, []string{"prod\tOK", "dev\tCREATING"}},
		{[]string{"__complete", "get", "pr"}, []string{"prod\tOK"}},
		{[]string{"__complete", "bin"}, []string{"bind\tMake a binding and print its kubeconfig, which holds a short-lived token", "bindings\tList an environment's bindings"}},
	} {
		out, _, err := runCmd(t, srv.URL, tc.args...)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if diff := cmp.Diff(tc.want, lines[:len(lines)-1]); diff != "" {
			t.Errorf("%v (-want +got):\n%s", tc.args, diff)
		}
	}
}
