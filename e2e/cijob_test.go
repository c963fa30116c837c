package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ciJob is a GitHub Actions job as the emulator plays it: the two variables a job
// with `permissions: id-token: write` finds in its environment. Every e2e test that
// needs a job gets it here: the emulator's default job (github-actions.env, of the
// repository --oidc-repository names) or one the emulator registers (another
// repository, ref or workflow, or a repository made anew under a name).
type ciJob struct {
	RequestURL   string `json:"ACTIONS_ID_TOKEN_REQUEST_URL"`
	RequestToken string `json:"ACTIONS_ID_TOKEN_REQUEST_TOKEN"`
}

// jobSpec is the body of POST /emulator/v1/github-actions/jobs (emulator.JobRequest);
// empty fields take the default job's values (the ids: those of the repository's name).
type jobSpec struct {
	Repository        string `json:"repository,omitempty"`
	Ref               string `json:"ref,omitempty"`
	Workflow          string `json:"workflow,omitempty"`
	RepositoryID      string `json:"repositoryId,omitempty"`
	RepositoryOwnerID string `json:"repositoryOwnerId,omitempty"`
}

// defaultJob is the job the emulator wrote github-actions.env for (KEY=VALUE lines).
func (e *emulator) defaultJob(t testing.TB) ciJob {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(e.StateDir, "github-actions.env"))
	if err != nil {
		t.Fatalf("read github-actions.env: %v", err)
	}
	var j ciJob
	for _, line := range strings.Split(string(raw), "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
		switch k {
		case "ACTIONS_ID_TOKEN_REQUEST_URL":
			j.RequestURL = v
		case "ACTIONS_ID_TOKEN_REQUEST_TOKEN":
			j.RequestToken = v
		}
	}
	if j.RequestURL == "" || j.RequestToken == "" {
		t.Fatalf("github-actions.env lacks a variable:\n%s", raw)
	}
	return j
}

// job registers a job of spec with the emulator.
func (e *emulator) job(t testing.TB, spec jobSpec) ciJob {
	t.Helper()
	body, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.client.Post(e.URL+"/emulator/v1/github-actions/jobs", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var j ciJob
	if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&j) != nil || j.RequestURL == "" || j.RequestToken == "" {
		t.Fatalf("a job of %s: %s", body, resp.Status)
	}
	return j
}

// env is the job's variables as KEY=VALUE, for a runner's environment.
func (j ciJob) env() []string {
	return []string{"ACTIONS_ID_TOKEN_REQUEST_URL=" + j.RequestURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + j.RequestToken}
}

// token fetches the job's ID token for audience from the emulator, as the job does.
func (j ciJob) token(t testing.TB, e *emulator, audience string) string {
	t.Helper()
	return e.ciToken(t, j.RequestURL, j.RequestToken, audience)
}
