package rbac

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-kyma/kubectl-kyma/internal/binding/bindingtest"
)

// testResources is what fakeAPIServer's discovery serves.
var testResources = map[string][]string{
	"":                          {"pods", "pods/exec", "pods/log", "secrets", "serviceaccounts", "serviceaccounts/token", "configmaps"},
	"apps":                      {"deployments", "deployments/scale"},
	"rbac.authorization.k8s.io": {"clusterroles", "rolebindings"},
}

func TestRoleRules(t *testing.T) {
	read, write := []string{"get", "list", "watch"}, []string{"create", "update", "patch", "delete", "deletecollection"}
	core := []string{"configmaps", "pods", "pods/log", "serviceaccounts"}
	apps := []string{"deployments", "deployments/scale"}
	rbac := []string{"clusterroles", "rolebindings"}
	view := []policyRule{
		{APIGroups: []string{""}, Resources: core, Verbs: read},
		{APIGroups: []string{"apps"}, Resources: apps, Verbs: read},
		{APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: rbac, Verbs: read},
	}
	if diff := cmp.Diff(view, roleRules(View, testResources)); diff != "" {
		t.Errorf("view (-want +got):\n%s", diff)
	}
	edit := []policyRule{
		{APIGroups: []string{""}, Resources: core, Verbs: read},
		{APIGroups: []string{""}, Resources: core, Verbs: write},
		{APIGroups: []string{"apps"}, Resources: apps, Verbs: read},
		{APIGroups: []string{"apps"}, Resources: apps, Verbs: write},
		{APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: rbac, Verbs: read},
	}
	if diff := cmp.Diff(edit, roleRules(Edit, testResources)); diff != "" {
		t.Errorf("edit (-want +got):\n%s", diff)
	}
	for _, r := range roleRules(Edit, testResources) {
		if slices.Contains(r.Resources, "*") || slices.Contains(r.Verbs, "impersonate") || slices.Contains(r.Verbs, "*") {
			t.Errorf("a wildcard or impersonate in %+v", r)
		}
	}
}

// fakeAPIServer serves what Narrow uses: /apis, one ClusterRole (the first PUT
// conflicts, as when the role changed in between) and SelfSubjectAccessReviews, which
// allow the probe twice before the update takes effect.
type fakeAPIServer struct {
	mu       sync.Mutex
	role     map[string]any
	puts     int
	reviews  int
	bearer   []string
	probeFor map[string]any
}

func (s *fakeAPIServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bearer = append(s.bearer, r.Header.Get("Authorization"))
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/apis":
		_, _ = io.WriteString(w, `{"kind":"APIGroupList","groups":[{"name":"apps","preferredVersion":{"groupVersion":"apps/v1"}},`+
			`{"name":"rbac.authorization.k8s.io","preferredVersion":{"groupVersion":"rbac.authorization.k8s.io/v1"}}]}`)
	case r.Method == http.MethodGet && (r.URL.Path == "/api/v1" || r.URL.Path == "/apis/apps/v1" || r.URL.Path == "/apis/rbac.authorization.k8s.io/v1"):
		group := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/api/v1"), "/apis/"), "/v1")
		var list struct {
			Resources []map[string]string `json:"resources"`
		}
		for _, name := range testResources[group] {
			list.Resources = append(list.Resources, map[string]string{"name": name})
		}
		_ = json.NewEncoder(w).Encode(list)
	case r.URL.Path == "/apis/rbac.authorization.k8s.io/v1/clusterroles/kyma-binding-new-1" && r.Method == http.MethodGet:
		_ = json.NewEncoder(w).Encode(s.role)
	case r.URL.Path == "/apis/rbac.authorization.k8s.io/v1/clusterroles/kyma-binding-new-1" && r.Method == http.MethodPut:
		s.puts++
		if s.puts == 1 {
			w.WriteHeader(http.StatusConflict)
			_, _ = io.WriteString(w, `{"kind":"Status","message":"the object has been modified"}`)
			return
		}
		var role map[string]any
		_ = json.NewDecoder(r.Body).Decode(&role)
		s.role = role
		_ = json.NewEncoder(w).Encode(role)
	case r.URL.Path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews" && r.Method == http.MethodPost:
		s.reviews++
		var review struct {
			Spec struct {
				ResourceAttributes map[string]any `json:"resourceAttributes"`
			} `json:"spec"`
		}
		_ = json.NewDecoder(r.Body).Decode(&review)
		s.probeFor = review.Spec.ResourceAttributes
		fmt.Fprintf(w, `{"status":{"allowed":%v}}`, s.reviews <= 2)
	default:
		http.NotFound(w, r)
	}
}

func TestNarrow(t *testing.T) {
	for _, role := range []string{View, Edit} {
		t.Run(role, func(t *testing.T) {
			api := &fakeAPIServer{role: map[string]any{
				"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
				"metadata": map[string]any{"name": "kyma-binding-new-1", "resourceVersion": "7", "labels": map[string]any{"app": "kyma"}},
				"rules":    []any{map[string]any{"apiGroups": []any{"*"}, "resources": []any{"*"}, "verbs": []any{"*"}}},
			}}
			srv := httptest.NewTLSServer(api) // client-go sends a token over TLS only
			defer srv.Close()
			if err := Narrow(context.Background(), bindingtest.Kubeconfig(srv.URL, srv.Certificate()), "new-1", role); err != nil {
				t.Fatal(err)
			}
			api.mu.Lock()
			defer api.mu.Unlock()
			want := roleRules(role, testResources)
			data, _ := json.Marshal(api.role["rules"])
			var got []policyRule
			_ = json.Unmarshal(data, &got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("rules (-want +got):\n%s", diff)
			}
			if md := api.role["metadata"].(map[string]any); md["labels"] == nil {
				t.Errorf("the update dropped the role's other fields: %v", md)
			}
			if api.reviews != 3 {
				t.Errorf("%d access reviews, want 3: Narrow returns once the API server denies the probe", api.reviews)
			}
			if wantProbe := deniedProbe(role); !cmp.Equal(fmt.Sprint(wantProbe), fmt.Sprint(api.probeFor)) {
				t.Errorf("probe %v, want %v", api.probeFor, wantProbe)
			}
			for _, b := range api.bearer {
				if b != "Bearer tok" {
					t.Fatalf("a request to the API server carried %q, want the binding's token; all: %q", b, api.bearer)
				}
			}
		})
	}
}

// Admin is the binding as made: no request at all. An unknown role is refused before
// any request too.
func TestNarrowAdminAndUnknownRoles(t *testing.T) {
	api := &fakeAPIServer{}
	srv := httptest.NewTLSServer(api)
	defer srv.Close()
	kc := bindingtest.Kubeconfig(srv.URL, srv.Certificate())
	if err := Narrow(context.Background(), kc, "new-1", Admin); err != nil {
		t.Errorf("admin: %v", err)
	}
	if err := Narrow(context.Background(), kc, "new-1", "owner"); err == nil || !strings.Contains(err.Error(), `no role "owner"`) {
		t.Errorf("owner: %v", err)
	}
	if len(api.bearer) != 0 {
		t.Errorf("%d requests reached the API server", len(api.bearer))
	}
}

func TestNarrowUnreachable(t *testing.T) {
	err := Narrow(context.Background(), bindingtest.Kubeconfig("https://127.0.0.1:1"), "new-1", View)
	if err == nil || !strings.Contains(err.Error(), "list the cluster's resources at /api/v1") {
		t.Errorf("error = %v", err)
	}
}
