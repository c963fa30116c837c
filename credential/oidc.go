package credential

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"time"
)

// A CI job can reach a cluster with its own OIDC identity instead of a binding: the
// cluster trusts the CI's issuer for one repository (an OpenIDConnect resource, see
// `kubectl kyma oidc trust`), and the plugin hands kubectl the job's ID token. No
// profile, no binding and no client secret take part. The token comes from one of:
//
//   - github: the runner's token service. A job with `permissions: id-token: write` has
//     ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN; a GET of the URL
//     plus `&audience=AUD`, with `Authorization: bearer TOKEN`, answers
//     {"value": "<JWT>"} (docs.github.com, "About security hardening with OpenID
//     Connect", and actions/toolkit's core.getIDToken). That is a network call, so the
//     token is cached (OIDCCache) and fetched by the full CLI on a miss.
//   - gitlab: a variable the job's `id_tokens:` keyword defines holds the JWT
//     (docs.gitlab.com, "OpenID Connect (OIDC) Authentication Using ID Tokens").
//   - file: a file holds the JWT, such as a projected service-account token, which the
//     kubelet replaces before it expires.
//
// A variable or a file costs what a cache entry costs to read, so those two are read
// on every call: a replaced file is picked up at once.

// OIDC sources (--oidc).
const (
	OIDCGitHub = "github"
	OIDCGitLab = "gitlab"
	OIDCFile   = "file"
)

// The GitHub Actions runner's token service, as the runner sets it for a job with
// `permissions: id-token: write`.
const (
	EnvActionsRequestURL   = "ACTIONS_ID_TOKEN_REQUEST_URL"
	EnvActionsRequestToken = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
)

// DefaultGitLabTokenEnv is the variable --oidc gitlab reads when --token-env is not
// given; the job defines it with `id_tokens: KYMA_ID_TOKEN: aud: AUD`.
const DefaultGitLabTokenEnv = "KYMA_ID_TOKEN"

// OIDC says where the credential plugin gets a CI job's OIDC token: the --oidc,
// --audience, --token-env and --token-file flags.
type OIDC struct {
	// Source is OIDCGitHub, OIDCGitLab or OIDCFile.
	Source string
	// Audience is the aud the token must carry: asked of GitHub's token service, and
	// checked in a token read from a variable or a file. Empty: GitHub's default, and
	// no check.
	Audience string
	// TokenEnv names the variable that holds a GitLab token (DefaultGitLabTokenEnv).
	TokenEnv string
	// TokenFile is the file that holds the token for OIDCFile.
	TokenFile string
}

// WithAudience is o with audience when it names none: the default of a trust and of
// its kubeconfig is the cluster's API server URL.
func (o OIDC) WithAudience(audience string) OIDC {
	if o.Audience == "" {
		o.Audience = audience
	}
	return o
}

// Check refuses a combination of flags that cannot work, in one sentence.
func (o OIDC) Check() error {
	switch o.Source {
	case OIDCGitHub:
		if o.TokenEnv != "" || o.TokenFile != "" {
			return errors.New("--oidc github fetches the token from the runner's token service: drop --token-env and --token-file")
		}
	case OIDCGitLab:
		if o.TokenFile != "" {
			return errors.New("--oidc gitlab reads the token from a variable (--token-env), not --token-file")
		}
	case OIDCFile:
		if o.TokenFile == "" {
			return errors.New("--oidc file needs --token-file PATH")
		}
		if o.TokenEnv != "" {
			return errors.New("--oidc file reads the token from --token-file, not --token-env")
		}
	default:
		return fmt.Errorf("--oidc must be github, gitlab or file, not %q", o.Source)
	}
	return nil
}

// render writes o's flags for Args.Render, absent ones left out.
func (o OIDC) render() []string {
	var out []string
	for _, f := range []struct{ name, value string }{
		{FlagOIDC, o.Source}, {FlagAudience, o.Audience}, {FlagTokenEnv, o.TokenEnv}, {FlagTokenFile, o.TokenFile},
	} {
		if f.value != "" {
			out = append(out, "--"+f.name, f.value)
		}
	}
	return out
}

// validateOIDC checks Args that ask for an ID token: the OIDC flags make sense
// together, and no binding's flag comes with them.
func (a Args) validateOIDC() error {
	if err := a.OIDC.Check(); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		set  bool
	}{
		{FlagProfile, a.Profile != ""}, {FlagEnvironment, a.Environment != ""}, {FlagExpiration, a.Expiration != 0},
		{FlagMargin, a.Margin != 0}, {FlagAhead, a.Ahead != 0},
	} {
		if f.set {
			return fmt.Errorf("--%s is for bindings, and --%s uses the job's own ID token: drop --%s", f.name, FlagOIDC, f.name)
		}
	}
	return nil
}

// OIDCInput is one run of the plugin for an OIDC token.
type OIDCInput struct {
	OIDC
	// ExecInfo is what kubectl passed in KUBERNETES_EXEC_INFO.
	ExecInfo ExecInfo
	// RequestURL and RequestToken are the runner's token service (github), from the
	// environment; EnvToken is the value of TokenEnv (gitlab). See ReadOIDCEnv.
	RequestURL, RequestToken string
	EnvToken                 string
	EnvTokenSet              bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (in OIDCInput) now() time.Time {
	if in.Now != nil {
		return in.Now()
	}
	return time.Now()
}

// ReadOIDCEnv is the one place the OIDC path reads the environment: it returns the
// input for o with what getenv (os.LookupEnv) says.
func ReadOIDCEnv(o OIDC, getenv func(string) (string, bool)) OIDCInput {
	in := OIDCInput{OIDC: o}
	switch o.Source {
	case OIDCGitHub:
		in.RequestURL, _ = getenv(EnvActionsRequestURL)
		in.RequestToken, _ = getenv(EnvActionsRequestToken)
	case OIDCGitLab:
		in.EnvToken, in.EnvTokenSet = getenv(in.tokenEnv())
	}
	return in
}

func (o OIDC) tokenEnv() string {
	if o.TokenEnv != "" {
		return o.TokenEnv
	}
	return DefaultGitLabTokenEnv
}

// ErrNoIDTokenPermission says a GitHub Actions job cannot get an ID token.
var ErrNoIDTokenPermission = errors.New(EnvActionsRequestURL + " and " + EnvActionsRequestToken + " are not set: the job has no `permissions: id-token: write` (or this is not a GitHub Actions job)")

// checkGitHub refuses a github input whose job cannot ask for a token.
func (in OIDCInput) checkGitHub() error {
	if in.RequestURL == "" || in.RequestToken == "" {
		return ErrNoIDTokenPermission
	}
	return nil
}

// readLocal reads the token of a gitlab or file input.
func (in OIDCInput) readLocal() (string, error) {
	switch in.Source {
	case OIDCGitLab:
		name := in.tokenEnv()
		if !in.EnvTokenSet || strings.TrimSpace(in.EnvToken) == "" {
			return "", fmt.Errorf("the variable %s that should hold the job's ID token is not set: define it with the job's id_tokens: keyword (%s: aud: AUDIENCE), or name another with --token-env", name, name)
		}
		return strings.TrimSpace(in.EnvToken), nil
	case OIDCFile:
		data, err := os.ReadFile(in.TokenFile)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return "", fmt.Errorf("the token file %s does not exist: check --token-file (a projected service-account token is mounted where the pod spec says)", in.TokenFile)
			}
			return "", fmt.Errorf("read the token file: %w", err)
		}
		if strings.TrimSpace(string(data)) == "" {
			return "", fmt.Errorf("the token file %s is empty", in.TokenFile)
		}
		return strings.TrimSpace(string(data)), nil
	}
	return "", fmt.Errorf("--oidc %s has no local token", in.Source)
}

// where names the token's origin for messages.
func (in OIDCInput) where() string {
	switch in.Source {
	case OIDCGitLab:
		return "the variable " + in.tokenEnv()
	case OIDCFile:
		return "the token file " + in.TokenFile
	}
	return "GitHub's token service"
}

// jwtClaims are the claims of an ID token the plugin reads; it never checks the
// signature (the cluster does), and uses them only to schedule the next fetch and to
// catch a token for another audience before the cluster refuses it.
type jwtClaims struct {
	Exp time.Time
	Iat time.Time
	Aud []string
}

// parseJWT decodes the payload of a JWT without checking its signature.
func parseJWT(token string) (jwtClaims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return jwtClaims{}, errors.New("it is not a JWT (three dot-separated parts)")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return jwtClaims{}, errors.New("its JWT payload is not base64url")
	}
	var raw struct {
		Exp *json.Number    `json:"exp"`
		Iat *json.Number    `json:"iat"`
		Aud json.RawMessage `json:"aud"`
	}
	if err := json.Unmarshal(payload, &raw); err != nil {
		return jwtClaims{}, errors.New("its JWT payload is not a JSON object")
	}
	var c jwtClaims
	if c.Exp = unixTime(raw.Exp); c.Exp.IsZero() {
		return jwtClaims{}, errors.New("its JWT has no exp claim with a time")
	}
	c.Iat = unixTime(raw.Iat)
	var one string
	if json.Unmarshal(raw.Aud, &one) == nil {
		c.Aud = []string{one}
	} else {
		_ = json.Unmarshal(raw.Aud, &c.Aud) // a list, or absent
	}
	return c, nil
}

// unixTime reads a NumericDate claim; zero when absent or not a sensible time.
func unixTime(n *json.Number) time.Time {
	if n == nil {
		return time.Time{}
	}
	f, err := n.Float64()
	if err != nil || f <= 0 || math.IsInf(f, 0) || f > 1e11 {
		return time.Time{}
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

// checkToken reads token's claims and refuses one that has expired at now or is for
// another audience than in asks for.
func (in OIDCInput) checkToken(token string, now time.Time) (jwtClaims, error) {
	c, err := parseJWT(token)
	if err != nil {
		return c, fmt.Errorf("the token from %s cannot be used: %w", in.where(), err)
	}
	if !now.Before(c.Exp) {
		return c, fmt.Errorf("the token from %s expired at %s", in.where(), c.Exp.Format(time.RFC3339))
	}
	if in.Audience != "" && !contains(c.Aud, in.Audience) {
		return c, fmt.Errorf("the token from %s is for audience %s, not %q: the cluster would refuse it; set the audience the trust expects", in.where(), strings.Join(quoteAll(c.Aud), ", "), in.Audience)
	}
	return c, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func quoteAll(list []string) []string {
	if len(list) == 0 {
		return []string{"none"}
	}
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = `"` + s + `"`
	}
	return out
}

// oidcMargin is how long before an ID token's exp the plugin stops handing it out:
// the binding's rule (Margin) on the token's life from iat (or from now, when it has
// no iat), so a five-minute GitHub token is handed out for four.
func oidcMargin(c jwtClaims, now time.Time) time.Duration {
	from := c.Iat
	if from.IsZero() || from.After(now) {
		from = now
	}
	return Margin(&Entry{IssuedAt: from, ExpiresAt: c.Exp}, 0)
}

// oidcHandOutUntil is the expirationTimestamp for a token with claims c handed out at
// now: its exp less the margin. Within the margin there is no newer token to be had
// (a variable's or a file's token is what it is), so it is exp itself; and never at
// or before now (client-go would run the plugin before every request).
func oidcHandOutUntil(c jwtClaims, now time.Time) time.Time {
	until := c.Exp.Add(-oidcMargin(c, now))
	if !until.After(now) {
		until = c.Exp
	}
	return bounded(&Entry{ExpiresAt: c.Exp}, now, until)
}

// checkOIDCCluster refuses to hand a token to a connection that checks no
// certificate (anyone on the way could take the token and use it until it expires),
// or to kubectl when it does not say which cluster it calls, as the binding path does
// (clusterMismatch): without provideClusterInfo the token could go to any server.
func checkOIDCCluster(info ExecInfo) error {
	if info.NoCluster {
		return errors.New("kubectl does not say which cluster it calls, and kubectl-kyma hands an ID token only to a cluster it is told of: set provideClusterInfo: true in the kubeconfig's exec entry")
	}
	if info.InsecureSkipTLSVerify {
		return errors.New("the kubeconfig's cluster sets insecure-skip-tls-verify, and kubectl-kyma hands an ID token only to a connection whose certificate is checked: remove insecure-skip-tls-verify")
	}
	return nil
}
