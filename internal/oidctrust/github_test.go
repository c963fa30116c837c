package oidctrust

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// githubAPI serves GET /repos/OWNER/REPO as GitHub's REST API answers it (ids as JSON
// numbers), and records the last request.
func githubAPI(t *testing.T, handle func(w http.ResponseWriter, r *http.Request)) (*httptest.Server, *http.Request) {
	t.Helper()
	var last http.Request
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		last = *r
		handle(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &last
}

func TestGitHubAPILooksUpTheIDs(t *testing.T) {
	srv, last := githubAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v3/repos/octo-org/octo-repo" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id": 1296269, "name": "octo-repo", "full_name": "octo-org/octo-repo", "owner": {"login": "octo-org", "id": 9919, "type": "Organization"}}`))
	})
	api := GitHubAPI{BaseURL: srv.URL + "/api/v3/", Token: "ghp_secret", Client: srv.Client()}
	repoID, ownerID, err := api.RepositoryIDs(context.Background(), "octo-org/octo-repo")
	if err != nil || repoID != "1296269" || ownerID != "9919" {
		t.Fatalf("ids %q %q (%v), want 1296269 and 9919", repoID, ownerID, err)
	}
	if got := last.Header.Get("Authorization"); got != "Bearer ghp_secret" {
		t.Errorf("Authorization %q, want the token as a bearer token", got)
	}
	if last.Header.Get("Accept") != "application/vnd.github+json" || last.Header.Get("X-GitHub-Api-Version") == "" {
		t.Errorf("headers %v", last.Header)
	}

	// Without a token: no Authorization header at all.
	api.Token = ""
	if _, _, err := api.RepositoryIDs(context.Background(), "octo-org/octo-repo"); err != nil || last.Header.Get("Authorization") != "" {
		t.Errorf("without a token: %v, Authorization %q", err, last.Header.Get("Authorization"))
	}
}

// An id bigger than a float64 holds exactly stays exact: the tokens carry the digits.
func TestGitHubAPIKeepsLargeIDsExact(t *testing.T) {
	srv, _ := githubAPI(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"id": 9007199254740993, "full_name": "a/b", "owner": {"id": 9007199254740995}}`))
	})
	repoID, ownerID, err := GitHubAPI{BaseURL: srv.URL, Client: srv.Client()}.RepositoryIDs(context.Background(), "a/b")
	if err != nil || repoID != "9007199254740993" || ownerID != "9007199254740995" {
		t.Errorf("ids %q %q (%v)", repoID, ownerID, err)
	}
}

func TestGitHubAPIRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, repo string
		status     int
		body       string
		want       string
	}{
		{"renamed: the API redirects", "octo-org/old", http.StatusMovedPermanently, "", "GitHub has renamed or moved octo-org/old"},
		{"another spelling", "Octo-Org/Octo-Repo", 200, `{"id": 1, "full_name": "octo-org/octo-repo", "owner": {"id": 2}}`, "GitHub names the repository octo-org/octo-repo, not Octo-Org/Octo-Repo"},
		{"missing or private", "octo-org/secret", 404, `{"message": "Not Found"}`, "GitHub has no repository octo-org/secret that this look-up may see (a private one needs GH_TOKEN or GITHUB_TOKEN"},
		{"rate limit", "octo-org/octo-repo", 403, `{"message": "API rate limit exceeded"}`, "GitHub answered 403 Forbidden to the look-up of octo-org/octo-repo's ids"},
		{"not JSON", "octo-org/octo-repo", 200, `<html>`, "is not a repository"},
		{"no ids", "octo-org/octo-repo", 200, `{"full_name": "octo-org/octo-repo", "owner": {}}`, "has no numeric id and owner.id"},
		{"string ids", "octo-org/octo-repo", 200, `{"id": "x", "full_name": "octo-org/octo-repo", "owner": {"id": "y"}}`, "is not a repository"},
		{"GitLab path", "group/sub/project", 200, `{}`, "is no GitHub repository"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := githubAPI(t, func(w http.ResponseWriter, _ *http.Request) {
				if tc.status == http.StatusMovedPermanently {
					w.Header().Set("Location", "https://api.github.com/repositories/1")
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			})
			_, _, err := GitHubAPI{BaseURL: srv.URL, Token: "ghp_secret", Client: srv.Client()}.RepositoryIDs(context.Background(), tc.repo)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "ghp_secret") {
				t.Errorf("the token is in the error: %v", err)
			}
		})
	}
}

func TestGitHubAPIURLMustBeHTTPS(t *testing.T) {
	for _, base := range []string{"http://api.github.com", "api.github.com", "https://api.github.com?x=1"} {
		_, _, err := GitHubAPI{BaseURL: base}.RepositoryIDs(context.Background(), "a/b")
		if err == nil || !strings.Contains(err.Error(), "--github-api-url must be an https URL") {
			t.Errorf("%q: %v", base, err)
		}
	}
	// An unreachable API says what to pass instead.
	_, _, err := GitHubAPI{BaseURL: "https://127.0.0.1:1"}.RepositoryIDs(context.Background(), "a/b")
	if err == nil || !strings.Contains(err.Error(), "pass --repository-id and --repository-owner-id instead") {
		t.Errorf("unreachable: %v", err)
	}
}
