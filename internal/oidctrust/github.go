package oidctrust

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// GitHubAPIURL is GitHub's REST API, where `oidc trust` looks up a repository's ids.
const GitHubAPIURL = "https://api.github.com"

// GitHubAPI looks up a repository's immutable ids with GitHub's REST API: GET
// /repos/OWNER/REPO answers the repository's id, its owner's id and its full name.
type GitHubAPI struct {
	// BaseURL is the API's URL: GitHubAPIURL, or a GitHub Enterprise Server's
	// https://HOST/api/v3.
	BaseURL string
	// Token, when set, is sent as a bearer token: a private repository is a 404
	// without one that may read it. It never reaches an error.
	Token string
	// Client is the HTTP client; nil means one with a 30 s timeout.
	Client *http.Client
}

// RepositoryIDs returns the ids of the repository named OWNER/REPO, exactly as
// GitHub's tokens carry them (decimal strings). A repository GitHub knows under
// another name (renamed or transferred: the API redirects, or answers a full name
// spelled otherwise) is refused, since the tokens carry the name GitHub gives it now,
// which a trust of the old name never matches.
func (g GitHubAPI) RepositoryIDs(ctx context.Context, repository string) (repositoryID, ownerID string, err error) {
	if err := CheckRepository(repository); err != nil {
		return "", "", err
	}
	base := strings.TrimSuffix(g.BaseURL, "/")
	if base == "" {
		base = GitHubAPIURL
	}
	if u, err := url.Parse(base); err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", "", fmt.Errorf("--github-api-url must be an https URL without query or fragment, not %q", g.BaseURL)
	}
	owner, name, _ := strings.Cut(repository, "/")
	if strings.Contains(name, "/") {
		return "", "", fmt.Errorf("%s is no GitHub repository (OWNER/REPO has one slash)", repository)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/repos/"+url.PathEscape(owner)+"/"+url.PathEscape(name), nil)
	if err != nil {
		return "", "", fmt.Errorf("look up %s on GitHub: %w", repository, err)
	}
	// The headers GitHub's REST documentation asks for.
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("User-Agent", "kubectl-kyma")
	if g.Token != "" {
		req.Header.Set("Authorization", "Bearer "+g.Token)
	}
	client := g.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	c := *client
	// A redirect means GitHub knows the repository under another name now; it is
	// reported, not followed (and the token never goes to another host).
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the URL is in the sentence below already
		}
		return "", "", fmt.Errorf("look up %s's ids at %s: %w; pass --repository-id and --repository-owner-id instead", repository, base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", "", fmt.Errorf("look up %s's ids at %s: %w", repository, base, err)
	}
	switch {
	case resp.StatusCode == http.StatusMovedPermanently || resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusTemporaryRedirect || resp.StatusCode == http.StatusPermanentRedirect:
		return "", "", fmt.Errorf("GitHub has renamed or moved %s (the API redirects it): trust the repository under the name it has now", repository)
	case resp.StatusCode == http.StatusNotFound:
		return "", "", fmt.Errorf("GitHub has no repository %s that this look-up may see (a private one needs GH_TOKEN or GITHUB_TOKEN set to a token that may read it); or pass --repository-id and --repository-owner-id", repository)
	case resp.StatusCode != http.StatusOK:
		return "", "", fmt.Errorf("GitHub answered %s to the look-up of %s's ids (a rate limit, a bad token?); pass --repository-id and --repository-owner-id instead", resp.Status, repository)
	}
	var repo struct {
		ID       json.Number `json:"id"`
		FullName string      `json:"full_name"`
		Owner    struct {
			ID json.Number `json:"id"`
		} `json:"owner"`
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	if err := dec.Decode(&repo); err != nil {
		return "", "", fmt.Errorf("GitHub's answer for %s is not a repository: %w", repository, err)
	}
	if repo.FullName != repository {
		return "", "", fmt.Errorf("GitHub names the repository %s, not %s, and its tokens carry that name: trust --repository %s", repo.FullName, repository, repo.FullName)
	}
	if CheckID("id", repo.ID.String()) != nil || CheckID("owner.id", repo.Owner.ID.String()) != nil {
		return "", "", fmt.Errorf("GitHub's answer for %s has no numeric id and owner.id", repository)
	}
	return repo.ID.String(), repo.Owner.ID.String(), nil
}
