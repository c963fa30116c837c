package listing

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/printers"
	"github.com/kubectl-kyma/kubectl-kyma/internal/provisioning"
)

var now = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// columns names a listing's columns, wide ones marked with a "+".
func columns(l printers.Listing) []string {
	var out []string
	for _, c := range l.Columns {
		n := c.Name
		if c.Priority > 0 {
			n = "+" + n
		}
		out = append(out, n)
	}
	return out
}

func TestShortList(t *testing.T) {
	for _, tc := range []struct {
		items []string
		want  string
	}{
		{nil, ""},
		{[]string{"a"}, "a"},
		{[]string{"a", "b", "c"}, "a,b,c"},
		{[]string{"a", "b", "c", "d"}, "a,b,c,+1 more"},
		{[]string{"a", "b", "c", "d", "e", "f"}, "a,b,c,+3 more"},
	} {
		if got := shortList(tc.items, 3); got != tc.want {
			t.Errorf("shortList(%v) = %q, want %q", tc.items, got, tc.want)
		}
	}
}

func TestEnvironments(t *testing.T) {
	var envs []provisioning.Environment
	if err := json.Unmarshal([]byte(`[{"id":"E1","name":"prod","environmentType":"kyma","planName":"aws","state":"OK","stateMessage":"created",
		"subaccountGUID":"sub-1","parameters":"{\"name\":\"prod\",\"region\":\"eu-central-1\"}",
		"labels":"{\"APIServerURL\":\"https://api.c-1.example\"}","createdDate":1795341600000}]`), &envs); err != nil {
		t.Fatal(err)
	}
	l, err := Environments(now, envs, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"NAME", "ID", "STATE", "PLAN", "REGION", "AGE", "+SUBACCOUNT", "+API SERVER", "+MESSAGE"}
	if diff := cmp.Diff(want, columns(l)); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	wantRow := []any{"prod", "E1", "OK", "aws", "eu-central-1", "24h", "sub-1", "https://api.c-1.example", "created"}
	if diff := cmp.Diff([][]any{wantRow}, l.Rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if !l.Single || l.Kind != "Environment" || !cmp.Equal(l.Names, []string{"prod"}) || len(l.Items) != 1 {
		t.Errorf("listing %+v: want one Environment named prod, printed alone", l)
	}
}

func TestAvailableKeepsKymaPlans(t *testing.T) {
	var avail []provisioning.AvailableEnvironment
	if err := json.Unmarshal([]byte(`[
		{"environmentType":"kyma","planName":"aws","description":"AWS","planUpdatable":true,"availabilityLevel":"AVAILABLE",
		 "createSchema":"{\"parameters\":{\"properties\":{\"region\":{\"enum\":[\"us-east-1\",\"eu-central-1\",\"ap-south-1\",\"eu-west-2\"]}}}}"},
		{"environmentType":"cloudfoundry","planName":"standard"}]`), &avail); err != nil {
		t.Fatal(err)
	}
	l, err := Available(avail)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]any{{"aws", "AWS", "ap-south-1,eu-central-1,eu-west-2,+1 more", "ap-south-1,eu-central-1,eu-west-2,us-east-1", "true", "AVAILABLE"}}
	if diff := cmp.Diff(want, l.Rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"PLAN", "DESCRIPTION", "REGIONS", "+ALL REGIONS", "+UPDATABLE", "+AVAILABILITY"}, columns(l)); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
}

// A list of bindings never holds a token; one new binding, printed whole, does.
func TestBindingsHideKubeconfigs(t *testing.T) {
	bs := []binding.Binding{
		{ID: "b1", Kubeconfig: "token: s3cret", CreatedAt: now.Add(-5 * time.Minute), ExpiresAt: now.Add(5 * time.Minute), CreatedBy: "me"},
		{ID: "b2", Kubeconfig: "token: s3cret", CreatedAt: now.Add(-3 * time.Hour), ExpiresAt: now.Add(-time.Hour)},
		{ID: "b3"},
	}
	l, err := Bindings(now, bs)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]any{{"b1", "5m", "in 5m", "me"}, {"b2", "3h", "expired 60m ago", ""}, {"b3", "<unknown>", "<unknown>", ""}}
	if diff := cmp.Diff(want, l.Rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	for _, raw := range l.Items {
		if strings.Contains(string(raw), "s3cret") {
			t.Errorf("a listed binding holds its token: %s", raw)
		}
	}
	if bs[0].Kubeconfig == "" {
		t.Error("listing emptied the caller's binding")
	}
	one, err := Binding(&bs[0])
	if err != nil {
		t.Fatal(err)
	}
	if !one.Single || len(one.Items) != 1 || !strings.Contains(string(one.Items[0]), "s3cret") || !cmp.Equal(one.Names, []string{"b1"}) {
		t.Errorf("bind -o: %+v, want the whole binding alone", one)
	}
}
