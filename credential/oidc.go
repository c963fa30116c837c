package credential

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
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
	// Audience is --audience, which may only repeat the cluster's server URL: the
	// token's audience is always that URL (see ClusterAudience), asked of GitHub's
	// token service and checked in a token read from a variable or a file.
	Audience string
	// TokenEnv names the variable that holds a GitLab token (DefaultGitLabTokenEnv).
	TokenEnv string
	// TokenFile is the file that holds the token for OIDCFile.
	TokenFile string
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
	// LockWaited is how long the launcher waited for the entry's lock before it handed
	// over to the full CLI (EnvOIDCLockWaited; github only).
	LockWaited time.Duration
	// Clock tells the time; nil is the system clock. The plugin never judges a token's
	// exp on it (see "ID tokens and the clock" in the package doc).
	Clock clock.Clock
	// Stderr gets the one warning the OIDC path prints (a variable's or a file's token
	// that this machine's clock says has expired); nil prints none.
	Stderr io.Writer
}

func (in OIDCInput) now() time.Time { return clock.Or(in.Clock).Now() }

// ReadOIDCEnv is the one place the OIDC path reads the environment: it returns the
// input for o with what getenv (os.LookupEnv) says.
func ReadOIDCEnv(o OIDC, getenv func(string) (string, bool)) OIDCInput {
	in := OIDCInput{OIDC: o}
	switch o.Source {
	case OIDCGitHub:
		in.RequestURL, _ = getenv(EnvActionsRequestURL)
		in.RequestToken, _ = getenv(EnvActionsRequestToken)
		if v, ok := getenv(EnvOIDCLockWaited); ok {
			if d, err := time.ParseDuration(v); err == nil && d > 0 {
				in.LockWaited = d
			}
		}
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
		data, err := readTokenFile(in.TokenFile)
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

// maxTokenFile bounds what the OIDC path reads of a token file or a cache entry: an
// ID token is a few KiB, so /dev/zero or a huge file is refused, not read into memory.
const maxTokenFile = 64 << 10

// readTokenFile reads --token-file: opened without blocking (a FIFO would hang kubectl
// for good), refused unless a regular file (a link to one is fine: a projected token
// is one) of at most maxTokenFile bytes.
func readTokenFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("the token file %s is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
	if err == nil && len(data) > maxTokenFile {
		return nil, fmt.Errorf("the token file %s is larger than %d KiB, and an ID token is a few KiB", path, maxTokenFile>>10)
	}
	return data, err
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
	Nbf time.Time
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
		Nbf *json.Number    `json:"nbf"`
		Aud json.RawMessage `json:"aud"`
	}
	if err := json.Unmarshal(payload, &raw); err != nil {
		return jwtClaims{}, errors.New("its JWT payload is not a JSON object")
	}
	var c jwtClaims
	if c.Exp = unixTime(raw.Exp); c.Exp.IsZero() {
		return jwtClaims{}, errors.New("its JWT has no exp claim with a time")
	}
	c.Iat, c.Nbf = unixTime(raw.Iat), unixTime(raw.Nbf)
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

// checkToken reads token's claims and refuses one that cannot be right whatever the
// clock (not a JWT, no exp, exp at or before its own iat) or that is not for the
// cluster in is bound to (in.Audience, set by bindToCluster). It never compares exp
// with this machine's clock: that clock may be off, and the cluster judges exp on its
// own.
func (in OIDCInput) checkToken(token string) (jwtClaims, time.Duration, error) {
	c, err := parseJWT(token)
	if err != nil {
		return c, 0, fmt.Errorf("the token from %s cannot be used: %w", in.where(), err)
	}
	if !audienceHas(c.Aud, in.Audience) {
		fix := "set the token's audience to " + in.Audience
		switch in.Source {
		case OIDCGitLab:
			fix = fmt.Sprintf("set the job's id_tokens: %s: aud: to %s", in.tokenEnv(), in.Audience)
		case OIDCFile:
			fix = "set the projected token's audience to " + in.Audience
		}
		return c, 0, fmt.Errorf("the token from %s is for audience %s, not for the server kubectl calls, %s, and kubectl-kyma hands a token only to the server it is for: %s", in.where(), strings.Join(quoteAll(c.Aud), ", "), in.Audience, fix)
	}
	life, err := in.tokenLife(c)
	return c, life, err
}

// audienceHas reports whether the aud claim names the cluster audience aud, each of
// its values normalized as ClusterAudience does.
func audienceHas(claim []string, aud string) bool {
	for _, v := range claim {
		if n, err := ClusterAudience(v); err == nil && n == aud {
			return true
		}
	}
	return false
}

// ClusterAudience is the audience of every ID token the plugin hands out for the
// cluster whose API server URL (KUBERNETES_EXEC_INFO's spec.cluster.server) is server,
// and of every trust `oidc trust` makes: the URL with its scheme and host in lower
// case, the scheme's default port (https 443, http 80) dropped, one trailing slash
// removed and the path kept as written. An URL that is not http(s), has no host, or
// has a user, a query or a fragment is refused, as is a host or path with characters
// an URL would escape. So "HTTPS://API.Example.com:443/" is "https://api.example.com".
// It is written without net/url, whose init work would run before every kubectl call;
// a test holds it to oidctrust.ClusterAudience, which trusts use.
func ClusterAudience(server string) (string, error) {
	bad := fmt.Errorf("the cluster's server %q is not an http(s) URL without user, query or fragment", server)
	scheme, rest, ok := strings.Cut(server, "://")
	scheme = strings.ToLower(scheme)
	if !ok || (scheme != "https" && scheme != "http") || strings.ContainsAny(rest, "?#") {
		return "", bad
	}
	authority, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		authority, path = rest[:i], rest[i:]
	}
	if strings.Contains(authority, "@") {
		return "", bad
	}
	host, port := strings.ToLower(authority), ""
	if strings.HasPrefix(host, "[") { // an IPv6 address
		end := strings.IndexByte(host, ']')
		if end < 0 || !allIn(host[1:end], "0123456789abcdef:.") || !strings.Contains(host[1:end], ":") {
			return "", bad
		}
		if after := host[end+1:]; after != "" {
			if after[0] != ':' {
				return "", bad
			}
			port = after[1:]
		}
		host = host[:end+1]
	} else if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host, port = host[:i], host[i+1:]
	}
	if host == "" || host == "[]" || !allIn(port, "0123456789") || (!strings.HasPrefix(host, "[") && !allIn(host, "abcdefghijklmnopqrstuvwxyz0123456789-._")) {
		return "", bad
	}
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if !validPath(path) {
		return "", bad
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host + strings.TrimSuffix(path, "/"), nil
}

// allIn reports whether every byte of s is in set.
func allIn(s, set string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(set, s[i]) < 0 {
			return false
		}
	}
	return true
}

// validPath reports whether p is a path an URL carries as it is: RFC 3986 path
// characters and well-formed percent escapes.
func validPath(p string) bool {
	const pchar = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/"
	for i := 0; i < len(p); i++ {
		switch {
		case p[i] == '%':
			if i+2 >= len(p) || !allIn(p[i+1:i+3], "0123456789abcdefABCDEF") {
				return false
			}
			i += 2
		case strings.IndexByte(pchar, p[i]) < 0:
			return false
		}
	}
	return true
}

// bindToCluster returns in bound to the cluster kubectl calls: its Audience is that
// cluster's (ClusterAudience of the server in KUBERNETES_EXEC_INFO), the only audience
// the plugin asks for or hands out. It refuses when kubectl does not say which
// cluster it calls over a checked connection (checkOIDCCluster), and when --audience
// names another: a kubeconfig pairing another cluster's audience with this server
// would send this server a token it could replay there.
func (in OIDCInput) bindToCluster() (OIDCInput, error) {
	if err := checkOIDCCluster(in.ExecInfo); err != nil {
		return in, err
	}
	aud, err := ClusterAudience(in.ExecInfo.Server)
	if err != nil {
		return in, err
	}
	if in.Audience != "" && in.Audience != aud {
		if given, err := ClusterAudience(in.Audience); err != nil || given != aud {
			return in, fmt.Errorf("--audience %s is not the server kubectl calls, %s, and kubectl-kyma hands out ID tokens only for the server they go to (a token for one sent to the other could be replayed): drop --audience, or point the kubeconfig at the cluster it names", in.Audience, aud)
		}
	}
	in.Audience = aud
	return in, nil
}

// Bounds of an ID token's lifetime as the plugin reckons it (tokenLife).
const (
	// maxOIDCLife caps the lifetime the plugin believes: GitHub's tokens live minutes,
	// GitLab's a job's timeout, a projected token an hour by default; a longer one is
	// cached, or its expiry handed out, for an hour at most, and then read or fetched
	// again. Believing less than a token's life costs a fetch, never a refusal.
	maxOIDCLife = time.Hour
	// unknownOIDCLife is the lifetime of a token with neither iat nor nbf when this
	// machine's clock says its exp has passed: the clock may be ahead, so the token is
	// handed out for this long (less the margin) and the cluster judges it.
	unknownOIDCLife = time.Minute
	// maxIssueSkew is how far after this machine's clock a fetched token's iat may lie:
	// beyond a day, one of the two clocks is broken, and the sentence says so.
	maxIssueSkew = 24 * time.Hour
	// maxIssueAge is how far before a fetch's start a fetched token's iat may lie and
	// the token still count as new: an older one lives no longer than its exp on this
	// clock says (see fetch).
	maxIssueAge = 5 * time.Minute
)

// tokenLife is how long a token lives by its own claims, which needs no clock: exp
// less iat, or less nbf when it has no iat (a backdated nbf makes that longer than
// the truth, so iat comes first), capped at maxOIDCLife. A token that expires at or
// before it was issued is refused. One with neither claim gets exp less now, or
// unknownOIDCLife when that is not positive: only then does this machine's clock count.
func (in OIDCInput) tokenLife(c jwtClaims) (time.Duration, error) {
	from := c.Iat
	if from.IsZero() {
		from = c.Nbf
	}
	var life time.Duration
	if !from.IsZero() {
		if life = c.Exp.Sub(from); life <= 0 {
			return 0, fmt.Errorf("the token from %s cannot be used: it expires (%s) no later than it was issued (%s)", in.where(), c.Exp.Format(time.RFC3339), from.Format(time.RFC3339))
		}
	} else if life = c.Exp.Sub(in.now()); life <= 0 {
		life = unknownOIDCLife
	}
	return min(life, maxOIDCLife), nil
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
		// Escaped: a token's aud is the token source's to choose, and a newline in it
		// would start a line of its own in the job's log, where "::" starts a workflow
		// command.
		out[i] = strconv.Quote(s)
	}
	return out
}

// oidcExpiry is the expirationTimestamp for e (anchored on this machine's clock) at
// now: its due point (the binding's margin rule on the token's lifetime, so a
// five-minute GitHub token is handed out for four), or, within the margin, the anchored
// end itself (a variable's or a file's token is what it is, and a token just fetched
// is the newest there is). Whole seconds, after now and never after e.ExpiresAt; false
// when less than that is left.
func oidcExpiry(e *Entry, now time.Time) (time.Time, bool) {
	for _, t := range []time.Time{handOutUntil(e, 0), e.ExpiresAt} {
		if r := t.Truncate(time.Second); r.After(now) {
			return r, true
		}
	}
	return time.Time{}, false
}

// localUntil is the expirationTimestamp for a token read from a variable or a file at
// now, which the plugin hands out whatever this machine's clock says: the cluster
// judges exp. Its remaining time on this clock (exp less now) is capped at its
// lifetime, as a clock behind the issuer's would stretch it; when this clock says it
// has expired, it is handed out for at most unknownOIDCLife less the margin, with a
// warning, and client-go runs the plugin again after a 401, which reads it again.
func (in OIDCInput) localUntil(c jwtClaims, life time.Duration, now time.Time) time.Time {
	remaining := min(c.Exp.Sub(now), life)
	if remaining <= 0 {
		if in.Stderr != nil {
			fmt.Fprintf(in.Stderr, "warning: the token from %s expired at %s by this machine's clock (now %s); it is handed out all the same and the cluster judges it: check this machine's clock if the cluster refuses it\n", in.where(), c.Exp.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
		remaining = min(life, unknownOIDCLife)
	}
	e := &Entry{IssuedAt: now.Add(remaining - life), ExpiresAt: now.Add(remaining)}
	if until, ok := oidcExpiry(e, now); ok {
		return until
	}
	return now.Add(time.Second).Truncate(time.Second)
}

// checkOIDCCluster refuses to print a token when run by hand (KUBERNETES_EXEC_INFO
// unset: a CI job's log would show it), to hand it to a connection that checks no
// certificate (anyone on the way could take the token and use it until it expires),
// or to kubectl when it does not say which cluster it calls, as the binding path does
// (clusterMismatch): without provideClusterInfo the token could go to any server. It
// refuses a kubeconfig's proxy-url too, for every source: a proxy paired with the
// kubeconfig's own CA can end TLS itself with a certificate for the cluster's name and
// read the token; a job's proxy belongs in HTTPS_PROXY, which a kubeconfig cannot set.
func checkOIDCCluster(info ExecInfo) error {
	if info.Server == "" && !info.NoCluster {
		return errors.New("kubectl-kyma hands an ID token only to kubectl, which names the cluster it calls (KUBERNETES_EXEC_INFO), and prints none when run by hand, so that no token lands in a job's log")
	}
	if info.NoCluster {
		return errors.New("kubectl does not say which cluster it calls, and kubectl-kyma hands an ID token only to a cluster it is told of: set provideClusterInfo: true in the kubeconfig's exec entry")
	}
	if info.InsecureSkipTLSVerify {
		return errors.New("the kubeconfig's cluster sets insecure-skip-tls-verify, and kubectl-kyma hands an ID token only to a connection whose certificate is checked: remove insecure-skip-tls-verify")
	}
	if info.ProxyURL != "" {
		return errors.New("the kubeconfig's cluster sets proxy-url, and kubectl-kyma hands an ID token to no proxy a kubeconfig names (with the kubeconfig's own CA it could read the token): remove proxy-url and set the job's proxy in HTTPS_PROXY, which a kubeconfig cannot change")
	}
	return nil
}
