package emulator

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// The emulated GitHub Actions OIDC provider: the emulator's URL is the issuer (as
// https://token.actions.githubusercontent.com is GitHub's), with discovery and JWKS under
// /.well-known, and a token endpoint that CI jobs reach through github-actions.env.
const (
	// GitHubActionsEnvFile holds ACTIONS_ID_TOKEN_REQUEST_URL and
	// ACTIONS_ID_TOKEN_REQUEST_TOKEN as KEY=VALUE lines, what a GitHub Actions job with
	// `permissions: id-token: write` finds in its environment.
	GitHubActionsEnvFile = "github-actions.env"
	// DefaultOIDCRepository is the repository the default job runs for.
	DefaultOIDCRepository = "example/app"
	// DefaultOIDCTokenTTL is the lifetime of an issued token.
	DefaultOIDCTokenTTL = 5 * time.Minute

	oidcKeyFile        = "oidc-signing.key"
	oidcDiscoveryPath  = "/.well-known/openid-configuration"
	oidcJWKSPath       = "/.well-known/jwks"
	oidcTokenPath      = "/_apis/github-actions/idtoken"
	oidcJobsPath       = "/emulator/v1/github-actions/jobs"
	oidcTokenAPIQuery  = "?api-version=2.0"
	githubOwnerURLBase = "https://github.com/"
)

// ghJob is a CI job that may ask for tokens: who it runs for, and its request token.
type ghJob struct {
	Repository string `json:"repository"`
	Ref        string `json:"ref"`
	Workflow   string `json:"workflow"`
	// RepositoryID and OwnerID are the immutable ids its tokens carry.
	RepositoryID string `json:"repository_id"`
	OwnerID      string `json:"repository_owner_id"`
}

// githubID is the emulated GitHub's id of the repository or owner named name: a
// number derived from the name (case-insensitive, as GitHub's names are), the same
// on every run, so a trust's looked-up ids match the default job's. A repository
// re-created under a recycled name is played by a job with ids of its own
// (JobRequest.RepositoryID).
func githubID(kind, name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(kind + "\n" + strings.ToLower(name)))
	return 100_000_000 + h.Sum64()%900_000_000
}

// withIDs gives a job without ids those of its repository's name.
func (j ghJob) withIDs() ghJob {
	owner, _, _ := strings.Cut(j.Repository, "/")
	if j.RepositoryID == "" {
		j.RepositoryID = fmt.Sprint(githubID("repository", j.Repository))
	}
	if j.OwnerID == "" {
		j.OwnerID = fmt.Sprint(githubID("owner", owner))
	}
	return j
}

// issuer signs GitHub-shaped ID tokens with an RSA key kept in the state folder, so
// tokens issued before a restart still verify after it.
type issuer struct {
	key *rsa.PrivateKey
	kid string

	mu   sync.Mutex
	jobs map[string]ghJob // by request token
}

// loadOrCreateIssuer reads the signing key from dir, or makes and writes one.
func loadOrCreateIssuer(dir string) (*issuer, error) {
	path := filepath.Join(dir, oidcKeyFile)
	var key *rsa.PrivateKey
	raw, err := os.ReadFile(path)
	switch {
	case err == nil:
		b, _ := pem.Decode(raw)
		if b == nil {
			return nil, fmt.Errorf("read %s: no PEM block", path)
		}
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("read %s: not an RSA key", path)
		}
		key = rk
	case errors.Is(err, fs.ErrNotExist):
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, fmt.Errorf("generate the OIDC signing key: %w", err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, fmt.Errorf("encode the OIDC signing key: %w", err)
		}
		if err := writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("read the OIDC signing key: %w", err)
	}
	thumb, err := (&jose.JSONWebKey{Key: &key.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("key id of the OIDC signing key: %w", err)
	}
	return &issuer{key: key, kid: base64.RawURLEncoding.EncodeToString(thumb), jobs: map[string]ghJob{}}, nil
}

// newJob registers a job and returns its request token.
func (is *issuer) newJob(j ghJob) string {
	token := randomHex(32)
	is.mu.Lock()
	is.jobs[token] = j
	is.mu.Unlock()
	return token
}

func (is *issuer) job(requestToken string) (ghJob, bool) {
	is.mu.Lock()
	defer is.mu.Unlock()
	for t, j := range is.jobs {
		if subtle.ConstantTimeCompare([]byte(t), []byte(requestToken)) == 1 {
			return j, true
		}
	}
	return ghJob{}, false
}

// checkRepository accepts OWNER/REPO as GitHub names repositories.
func checkRepository(repo string) error {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" || strings.ContainsAny(repo, " :\t\n") || strings.Contains(name, "/") {
		return fmt.Errorf("%q is not OWNER/REPO", repo)
	}
	return nil
}

// writeGitHubActionsEnv writes the default job's variables into the state folder.
func writeGitHubActionsEnv(dir, baseURL, requestToken string) error {
	body := "ACTIONS_ID_TOKEN_REQUEST_URL=" + baseURL + oidcTokenPath + oidcTokenAPIQuery + "\n" +
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + requestToken + "\n"
	return writeFileAtomic(filepath.Join(dir, GitHubActionsEnvFile), []byte(body), 0o600)
}

// handleOIDCDiscovery serves the discovery document, shaped like GitHub's.
func (s *server) handleOIDCDiscovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                s.baseURL,
		"jwks_uri":                              s.baseURL + oidcJWKSPath,
		"subject_types_supported":               []string{"public", "pairwise"},
		"response_types_supported":              []string{"id_token"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid"},
		"claims_supported": []string{"sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "ref_type",
			"repository", "repository_id", "repository_owner", "repository_owner_id", "workflow", "event_name", "actor", "run_id", "runner_environment"},
	})
}

// handleJWKS serves the public signing key.
func (s *server) handleJWKS(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: &s.issuer.key.PublicKey, KeyID: s.issuer.kid, Algorithm: string(jose.RS256), Use: "sig",
	}}})
}

// handleIDToken is the GitHub Actions token endpoint: GET with the job's request token as
// a bearer token and an optional audience, answered {"value": JWT}.
func (s *server) handleIDToken(w http.ResponseWriter, r *http.Request) {
	s.stats.oidcTokenRequests.Add(1)
	scheme, requestToken, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "bearer") || requestToken == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "missing bearer token"})
		return
	}
	job, ok := s.issuer.job(requestToken)
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "invalid bearer token"})
		return
	}
	owner, _, _ := strings.Cut(job.Repository, "/")
	aud := r.URL.Query().Get("audience")
	if aud == "" {
		aud = githubOwnerURLBase + owner // GitHub's default audience: the owner's URL
	}
	now := s.opts.now()
	claims := map[string]any{
		"iss":              s.baseURL,
		"sub":              "repo:" + job.Repository + ":ref:" + job.Ref,
		"aud":              aud,
		"iat":              now.Unix(),
		"nbf":              now.Unix(),
		"exp":              now.Add(s.opts.OIDCTokenTTL).Unix(),
		"jti":              newUUID(),
		"repository":       job.Repository,
		"repository_owner": owner,
		// GitHub's tokens carry the ids as strings of digits, as requiredClaims
		// (string values only) can match them.
		"repository_id":       job.RepositoryID,
		"repository_owner_id": job.OwnerID,
		"ref":                 job.Ref,
		"ref_type":            "branch",
		"workflow":            job.Workflow,
		"event_name":          "push",
		"actor":               owner,
		"run_id":              fmt.Sprint(10000 + randomInt(89999)),
		"runner_environment":  "self-hosted",
	}
	signed, err := s.issuer.sign(claims)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": err.Error()})
		return
	}
	s.stats.oidcTokensIssued.Add(1)
	writeJSON(w, http.StatusOK, map[string]string{"value": signed})
}

// sign makes a compact RS256 JWT with the key id in its header.
func (is *issuer) sign(claims map[string]any) (string, error) {
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), is.kid)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: is.key}, opts)
	if err != nil {
		return "", fmt.Errorf("sign the ID token: %w", err)
	}
	out, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("sign the ID token: %w", err)
	}
	return out, nil
}

// JobRequest is the body of POST /emulator/v1/github-actions/jobs: a job of another
// repository (or ref, or workflow) than the default one; empty fields take the defaults.
type JobRequest struct {
	Repository string `json:"repository"`
	Ref        string `json:"ref,omitempty"`
	Workflow   string `json:"workflow,omitempty"`
	// RepositoryID and RepositoryOwnerID, when set, are the ids of the job's
	// repository and owner (decimal): a repository (or owner) made anew under a name
	// another had before. Unset, the name's own ids, as GET /repos/OWNER/REPO
	// answers them.
	RepositoryID      string `json:"repositoryId,omitempty"`
	RepositoryOwnerID string `json:"repositoryOwnerId,omitempty"`
}

// JobVariables is its answer: the job's variables, as github-actions.env holds them
// for the default job.
type JobVariables struct {
	RequestURL   string `json:"ACTIONS_ID_TOKEN_REQUEST_URL"`
	RequestToken string `json:"ACTIONS_ID_TOKEN_REQUEST_TOKEN"`
}

// handleNewJob registers a job for loopback clients (tests) and returns its variables.
func (s *server) handleNewJob(w http.ResponseWriter, r *http.Request) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		http.Error(w, "the admin endpoint answers loopback clients only", http.StatusForbidden)
		return
	}
	var req JobRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, "the body is not a JSON job: "+err.Error(), http.StatusBadRequest)
		return
	}
	job := s.defaultJob()
	if req.Repository != "" {
		if err := checkRepository(req.Repository); err != nil {
			http.Error(w, "repository: "+err.Error(), http.StatusBadRequest)
			return
		}
		job.Repository = req.Repository
	}
	if req.Ref != "" {
		job.Ref = req.Ref
	}
	if req.Workflow != "" {
		job.Workflow = req.Workflow
	}
	for _, id := range []string{req.RepositoryID, req.RepositoryOwnerID} {
		if id != "" && !isDecimalID(id) {
			http.Error(w, "repositoryId and repositoryOwnerId are positive decimal numbers", http.StatusBadRequest)
			return
		}
	}
	job.RepositoryID, job.OwnerID = req.RepositoryID, req.RepositoryOwnerID
	writeJSON(w, http.StatusCreated, JobVariables{
		RequestURL:   s.baseURL + oidcTokenPath + oidcTokenAPIQuery,
		RequestToken: s.issuer.newJob(job.withIDs()),
	})
}

func isDecimalID(id string) bool {
	ok := id != "" && len(id) <= 19 && id[0] != '0'
	for _, c := range id {
		ok = ok && c >= '0' && c <= '9'
	}
	return ok
}

func (s *server) defaultJob() ghJob {
	return ghJob{Repository: s.opts.OIDCRepository, Ref: "refs/heads/main", Workflow: "deploy"}.withIDs()
}

// handleGitHubRepository is GitHub's REST API GET /repos/{owner}/{repo}, as `oidc
// trust` reads it: the repository's id, full name and owner (login, id), ids as JSON
// numbers. Every OWNER/REPO exists, with the ids of its name (githubID).
func (s *server) handleGitHubRepository(w http.ResponseWriter, r *http.Request) {
	owner, name := r.PathValue("owner"), r.PathValue("repo")
	repo := owner + "/" + name
	if checkRepository(repo) != nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": githubID("repository", repo), "name": name, "full_name": repo, "private": false,
		"owner": map[string]any{"login": owner, "id": githubID("owner", owner), "type": "Organization"},
	})
}
