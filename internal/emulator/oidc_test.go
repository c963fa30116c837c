package emulator

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// githubEnv reads github-actions.env into a map.
func (tt *tester) githubEnv() map[string]string {
	tt.t.Helper()
	raw, err := os.ReadFile(tt.e.Path(GitHubActionsEnvFile))
	if err != nil {
		tt.t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			tt.t.Fatalf("github-actions.env line %q is not KEY=VALUE", line)
		}
		env[k] = v
	}
	return env
}

// idToken asks the token endpoint as a job does: GET the URL plus &audience=AUD.
func (tt *tester) idToken(url, requestToken, audience string) response {
	tt.t.Helper()
	path := strings.TrimPrefix(url, tt.e.URL)
	if audience != "" {
		path += "&audience=" + audience
	}
	h := map[string]string{}
	if requestToken != "" {
		h["Authorization"] = "bearer " + requestToken
	}
	return tt.do("GET", path, nil, h)
}

// verify checks a token's signature, issuer and expiry through the emulator's own
// discovery document and JWKS, and returns its claims.
func (tt *tester) verify(raw string) map[string]any {
	tt.t.Helper()
	ctx := oidc.ClientContext(context.Background(), tt.client)
	p, err := oidc.NewProvider(ctx, tt.e.URL)
	if err != nil {
		tt.t.Fatalf("discovery: %v", err)
	}
	idt, err := p.Verifier(&oidc.Config{SkipClientIDCheck: true, Now: tt.clock.Now}).Verify(ctx, raw)
	if err != nil {
		tt.t.Fatalf("verify the ID token: %v", err)
	}
	var c map[string]any
	if err := idt.Claims(&c); err != nil {
		tt.t.Fatal(err)
	}
	return c
}

func TestGitHubActionsTokenEndpoint(t *testing.T) {
	tt := newTester(t, nil)
	fi, err := os.Stat(tt.e.Path(GitHubActionsEnvFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("github-actions.env has mode %v, want 0600", fi.Mode().Perm())
	}
	env := tt.githubEnv()
	url, token := env["ACTIONS_ID_TOKEN_REQUEST_URL"], env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]
	if !strings.HasPrefix(url, tt.e.URL+"/") || !strings.Contains(url, "?") || token == "" {
		t.Fatalf("github-actions.env = %v: want the emulator's URL with a query (clients append &audience=) and a request token", env)
	}

	r := tt.idToken(url, token, "kyma-ci")
	if r.status != 200 {
		t.Fatalf("token request: %d %s", r.status, r.body)
	}
	var body struct {
		Value string `json:"value"`
	}
	r.json(t, &body)
	c := tt.verify(body.Value)
	want := map[string]any{
		"iss": tt.e.URL, "aud": "kyma-ci", "sub": "repo:example/app:ref:refs/heads/main",
		"repository": "example/app", "repository_owner": "example", "ref": "refs/heads/main", "workflow": "deploy",
	}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("claim %s = %v, want %v", k, c[k], v)
		}
	}
	now := float64(tt.clock.Now().Unix())
	if c["iat"] != now || c["nbf"] != now || c["exp"] != now+DefaultOIDCTokenTTL.Seconds() {
		t.Errorf("iat, nbf, exp = %v, %v, %v; want %v, %v, %v", c["iat"], c["nbf"], c["exp"], now, now, now+DefaultOIDCTokenTTL.Seconds())
	}
	if jti, _ := c["jti"].(string); jti == "" {
		t.Error("no jti")
	}

	// Without an audience GitHub uses the owner's URL.
	tt.idToken(url, token, "").json(t, &body)
	if c := tt.verify(body.Value); c["aud"] != "https://github.com/example" {
		t.Errorf("default aud = %v, want https://github.com/example", c["aud"])
	}

	for name, reqToken := range map[string]string{"no request token": "", "wrong request token": token + "x"} {
		if r := tt.idToken(url, reqToken, "kyma-ci"); r.status != 401 || !strings.Contains(string(r.body), `"message"`) {
			t.Errorf("%s: %d %s, want 401 with a message", name, r.status, r.body)
		}
	}
	if st := tt.stats(); st.OIDCTokenRequests != 4 || st.OIDCTokensIssued != 2 {
		t.Errorf("stats: %d requests, %d issued; want 4 and 2", st.OIDCTokenRequests, st.OIDCTokensIssued)
	}
}

func TestGitHubActionsJobOfAnotherRepository(t *testing.T) {
	tt := newTester(t, func(o *Options) { o.OIDCRepository = "acme/site"; o.OIDCTokenTTL = time.Minute })
	var job JobVariables
	r := tt.do("POST", oidcJobsPath, JobRequest{Repository: "mallory/fork", Ref: "refs/heads/dev"}, nil)
	if r.status != 201 {
		t.Fatalf("new job: %d %s", r.status, r.body)
	}
	r.json(t, &job)
	var body struct {
		Value string `json:"value"`
	}
	tt.idToken(job.RequestURL, job.RequestToken, "kyma-ci").json(t, &body)
	c := tt.verify(body.Value)
	if c["repository"] != "mallory/fork" || c["sub"] != "repo:mallory/fork:ref:refs/heads/dev" || c["repository_owner"] != "mallory" {
		t.Errorf("other job's claims: %v", c)
	}
	forkID, _ := c["repository_id"].(string)
	if c["exp"].(float64)-c["iat"].(float64) != 60 {
		t.Errorf("token lives %vs, want the 60s of OIDCTokenTTL", c["exp"].(float64)-c["iat"].(float64))
	}
	// The default job is still the configured repository's.
	env := tt.githubEnv()
	tt.idToken(env["ACTIONS_ID_TOKEN_REQUEST_URL"], env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"], "kyma-ci").json(t, &body)
	if c := tt.verify(body.Value); c["repository"] != "acme/site" || c["repository_id"] == forkID {
		t.Errorf("default job's repository = %v (id %v), want acme/site with an id other than mallory/fork's %s", c["repository"], c["repository_id"], forkID)
	}
	if r := tt.do("POST", oidcJobsPath, JobRequest{Repository: "no-slash"}, nil); r.status != 400 {
		t.Errorf("job of repository %q: %d, want 400", "no-slash", r.status)
	}
}

func TestOIDCSigningKeySurvivesRestart(t *testing.T) {
	tt := newTester(t, func(o *Options) { o.Addr = "127.0.0.1:0" })
	env := tt.githubEnv()
	var body struct {
		Value string `json:"value"`
	}
	tt.idToken(env["ACTIONS_ID_TOKEN_REQUEST_URL"], env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"], "a").json(t, &body)
	fi, err := os.Stat(tt.e.Path(OIDCSigningKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("signing key file: %v, mode %v; want 0600", err, fi)
	}
	before, err := os.ReadFile(tt.e.Path(OIDCSigningKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	tt.restart(nil)
	after, err := os.ReadFile(tt.e.Path(OIDCSigningKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if string(before) != string(after) {
		t.Error("the signing key changed across a restart")
	}
}

func TestOIDCRepositoryOption(t *testing.T) {
	for _, bad := range []string{"app", "/app", "example/", "a/b/c", "a b/c"} {
		if err := (Options{StateDir: "x", Kubeconfig: "k", OIDCRepository: bad}).withDefaults().validate(); err == nil || !strings.Contains(err.Error(), "--oidc-repository") {
			t.Errorf("OIDCRepository %q: %v, want an --oidc-repository error", bad, err)
		}
	}
}

// The tokens carry repository_id and repository_owner_id as GitHub's do: strings of
// digits. GET /repos/OWNER/REPO answers the same ids (as JSON numbers, as GitHub's
// REST API does), and a job of a repository made anew under the name has its own.
func TestGitHubActionsRepositoryIDs(t *testing.T) {
	tt := newTester(t, func(o *Options) { o.OIDCRepository = "acme/site" })
	var body struct {
		Value string `json:"value"`
	}
	env := tt.githubEnv()
	tt.idToken(env["ACTIONS_ID_TOKEN_REQUEST_URL"], env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"], "kyma-ci").json(t, &body)
	c := tt.verify(body.Value)
	repoID, rok := c["repository_id"].(string)
	ownerID, ook := c["repository_owner_id"].(string)
	if !rok || !ook || !isDecimalID(repoID) || !isDecimalID(ownerID) || repoID == ownerID {
		t.Fatalf("repository_id %#v, repository_owner_id %#v: want two strings of digits", c["repository_id"], c["repository_owner_id"])
	}

	r := tt.do("GET", "/repos/acme/site", nil, nil)
	if r.status != 200 {
		t.Fatalf("GET /repos/acme/site: %d %s", r.status, r.body)
	}
	var repo struct {
		ID       json.Number `json:"id"`
		FullName string      `json:"full_name"`
		Owner    struct {
			Login string      `json:"login"`
			ID    json.Number `json:"id"`
		} `json:"owner"`
	}
	dec := json.NewDecoder(strings.NewReader(string(r.body)))
	dec.UseNumber()
	if err := dec.Decode(&repo); err != nil {
		t.Fatal(err)
	}
	if repo.ID.String() != repoID || repo.Owner.ID.String() != ownerID || repo.FullName != "acme/site" || repo.Owner.Login != "acme" {
		t.Errorf("GET /repos/acme/site = %s, want id %s and owner.id %s as the token's", r.body, repoID, ownerID)
	}
	if _, err := repo.ID.Int64(); err != nil {
		t.Errorf("id %q is not a JSON number: %v", repo.ID, err)
	}

	// Another repository of the same owner: its own id, the owner's id.
	var job JobVariables
	tt.do("POST", oidcJobsPath, JobRequest{Repository: "acme/blog"}, nil).json(t, &job)
	tt.idToken(job.RequestURL, job.RequestToken, "kyma-ci").json(t, &body)
	if c := tt.verify(body.Value); c["repository_id"] == repoID || c["repository_owner_id"] != ownerID {
		t.Errorf("acme/blog: repository_id %v, repository_owner_id %v; want an id of its own and acme's %s", c["repository_id"], c["repository_owner_id"], ownerID)
	}
	// acme/site deleted and made again (by acme, or by whoever took the name acme):
	// same name, new ids.
	r = tt.do("POST", oidcJobsPath, JobRequest{Repository: "acme/site", RepositoryID: "555", RepositoryOwnerID: "666"}, nil)
	if r.status != 201 {
		t.Fatalf("job of the re-created repository: %d %s", r.status, r.body)
	}
	r.json(t, &job)
	tt.idToken(job.RequestURL, job.RequestToken, "kyma-ci").json(t, &body)
	if c := tt.verify(body.Value); c["repository"] != "acme/site" || c["repository_id"] != "555" || c["repository_owner_id"] != "666" {
		t.Errorf("re-created repository's claims: %v", c)
	}
	for _, bad := range []string{"0", "-1", "12a", "0555"} {
		if r := tt.do("POST", oidcJobsPath, JobRequest{Repository: "acme/site", RepositoryID: bad}, nil); r.status != 400 {
			t.Errorf("repositoryId %q: %d, want 400", bad, r.status)
		}
	}
}
