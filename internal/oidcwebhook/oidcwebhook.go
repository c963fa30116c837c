// Package oidcwebhook is the cluster side of keyless CI: a kube-apiserver token webhook
// (--authentication-token-webhook-config-file) that trusts the OpenID Connect issuers
// named by OpenIDConnect resources (authentication.gardener.cloud/v1alpha1), as
// Gardener's oidc-webhook-authenticator does on a Kyma cluster.
//
// For each TokenReview it reads the token's issuer, takes the OpenIDConnect resources
// for that issuer, verifies the JWT against the issuer's keys (found by discovery and
// fetched over TLS trusted with the resource's caBundle, or the resource's own JWKS),
// checks the audience, expiry, required claims and maximum lifetime, and answers with
// the prefixed username. Anything else is an unauthenticated answer: the apiserver then
// refuses the token, and tokens that other authenticators accept never reach here.
package oidcwebhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/client-go/rest"
)

// The OpenIDConnect API, as gardener/oidc-webhook-authenticator defines it
// (apis/authentication/v1alpha1): a cluster-scoped resource.
const (
	Group    = "authentication.gardener.cloud"
	Version  = "v1alpha1"
	Resource = "openidconnects"
	// ListPath is where the apiserver serves the resources.
	ListPath = "/apis/" + Group + "/" + Version + "/" + Resource
	// Path is where the webhook answers TokenReviews (the server of its kubeconfig).
	Path = "/tokenreview"
)

// Gardener's conventions for prefixes and names (v1alpha1 ClaimPrefixingDisabled,
// SystemPrefix; the controller's default prefix is the resource name and "/").
const (
	prefixingDisabled = "-"
	systemPrefix      = "system:"
	defaultAlg        = "RS256"
)

// OpenIDConnect is the part of an OpenIDConnect resource the webhook reads.
type OpenIDConnect struct {
	Metadata struct {
		Name            string `json:"name"`
		UID             string `json:"uid"`
		ResourceVersion string `json:"resourceVersion"`
	} `json:"metadata"`
	Spec Spec `json:"spec"`
}

// Spec is OIDCAuthenticationSpec: the fields this webhook honours.
type Spec struct {
	IssuerURL string `json:"issuerURL"`
	// ClientID is the audience when Audiences is empty (Gardener deprecates it for
	// Audiences, and Kyma's CLI still writes it).
	ClientID             string            `json:"clientID,omitempty"`
	Audiences            []string          `json:"audiences,omitempty"`
	UsernameClaim        *string           `json:"usernameClaim,omitempty"`
	UsernamePrefix       *string           `json:"usernamePrefix,omitempty"`
	GroupsClaim          *string           `json:"groupsClaim,omitempty"`
	GroupsPrefix         *string           `json:"groupsPrefix,omitempty"`
	SupportedSigningAlgs []string          `json:"supportedSigningAlgs,omitempty"`
	RequiredClaims       map[string]string `json:"requiredClaims,omitempty"`
	// CABundle is PEM; JSON carries it base64-encoded, as a []byte.
	CABundle []byte `json:"caBundle,omitempty"`
	JWKS     struct {
		// Keys is a JSON Web Key Set; when set, the issuer's jwks_uri is not fetched.
		Keys []byte `json:"keys,omitempty"`
	} `json:"jwks,omitempty"`
	MaxTokenExpirationSeconds *int64 `json:"maxTokenExpirationSeconds,omitempty"`
	// ExtraClaims must all be in a token; each is copied to the user's extra as
	// gardener.cloud/user/<claim in lower case>.
	ExtraClaims []string `json:"extraClaims,omitempty"`
}

// Lister returns the OpenIDConnect resources of the cluster.
type Lister interface {
	List(ctx context.Context) ([]OpenIDConnect, error)
}

// apiLister lists the resources from the apiserver with an admin client.
type apiLister struct {
	client *http.Client
	url    string
}

// NewLister returns a Lister that reads the resources from the apiserver of cfg.
func NewLister(cfg *rest.Config) (Lister, error) {
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("create the apiserver client: %w", err)
	}
	client.Timeout = 10 * time.Second
	return &apiLister{client: client, url: strings.TrimSuffix(cfg.Host, "/") + ListPath}, nil
}

func (l *apiLister) List(ctx context.Context) ([]OpenIDConnect, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("list OpenIDConnect resources: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("list OpenIDConnect resources: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("list OpenIDConnect resources: %s", resp.Status)
	}
	var list struct {
		Items []OpenIDConnect `json:"items"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("decode OpenIDConnect resources: %w", err)
	}
	return list.Items, nil
}

// DefaultListTTL is how long a listing of the resources is used: with the apiserver's
// cache TTL on top, a deleted resource stops authenticating within a few seconds more.
const DefaultListTTL = 2 * time.Second

// Authenticator decides TokenReviews. It is safe for concurrent use.
type Authenticator struct {
	lister Lister
	ttl    time.Duration
	now    func() time.Time
	log    *slog.Logger

	mu        sync.Mutex
	listedAt  time.Time
	resources []OpenIDConnect
	verifiers map[string]*oidc.IDTokenVerifier // by uid and resourceVersion
}

// New returns an Authenticator over the resources lister returns; log may be nil.
func New(lister Lister, log *slog.Logger) *Authenticator {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Authenticator{lister: lister, ttl: DefaultListTTL, now: time.Now, log: log, verifiers: map[string]*oidc.IDTokenVerifier{}}
}

// Authenticate returns the user the token stands for, or an error saying why it is not
// accepted. The error never holds the token.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (*authenticationv1.UserInfo, error) {
	iss, err := unverifiedIssuer(token)
	if err != nil {
		return nil, err
	}
	all, err := a.list(ctx)
	if err != nil {
		return nil, err
	}
	var matching []OpenIDConnect
	for _, r := range all {
		if r.Spec.IssuerURL == iss {
			matching = append(matching, r)
		}
	}
	if len(matching) == 0 {
		return nil, fmt.Errorf("no OpenIDConnect resource trusts the issuer %q", iss)
	}
	slices.SortFunc(matching, func(x, y OpenIDConnect) int { return strings.Compare(x.Metadata.Name, y.Metadata.Name) })
	// Gardener tries the resources of the issuer in Go map order (random) and stops at
	// the first that authenticates the token; when that one yields a system: user the
	// token is refused outright. So a token that any resource maps to a system: user is
	// refused there some of the time, and it is refused here always: every resource is
	// tried, and the first in name order that accepts is the answer otherwise.
	var (
		errs     []error
		accepted *authenticationv1.UserInfo
	)
	for _, r := range matching {
		u, err := a.authenticateWith(ctx, r, token)
		if errors.Is(err, errSystemUser) {
			return nil, fmt.Errorf("%s: %w", r.Metadata.Name, err)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.Metadata.Name, err))
			continue
		}
		if accepted == nil {
			accepted = u
		}
	}
	if accepted != nil {
		return accepted, nil
	}
	return nil, errors.Join(errs...)
}

// errSystemUser marks a resource that maps the token to a user under system:, which
// refuses the token whatever other resources say.
var errSystemUser = errors.New("the user is in the reserved system: namespace")

// list returns the resources, listing them again once the last listing is older than
// the TTL; verifiers of resources gone or changed are dropped then.
func (a *Authenticator) list(ctx context.Context) ([]OpenIDConnect, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.resources != nil && a.now().Sub(a.listedAt) < a.ttl {
		return a.resources, nil
	}
	items, err := a.lister.List(ctx)
	if err != nil {
		return nil, err
	}
	if items == nil {
		items = []OpenIDConnect{}
	}
	a.resources, a.listedAt = items, a.now()
	live := map[string]bool{}
	for _, r := range items {
		live[verifierKey(r)] = true
	}
	for k := range a.verifiers {
		if !live[k] {
			delete(a.verifiers, k)
		}
	}
	return items, nil
}

func verifierKey(r OpenIDConnect) string { return r.Metadata.UID + "/" + r.Metadata.ResourceVersion }

// verifier returns the resource's cached verifier, or makes one (discovery included).
// A failed discovery is not cached: the issuer may come up later.
func (a *Authenticator) verifier(ctx context.Context, r OpenIDConnect) (*oidc.IDTokenVerifier, error) {
	key := verifierKey(r)
	a.mu.Lock()
	v, ok := a.verifiers[key]
	a.mu.Unlock()
	if ok {
		return v, nil
	}
	algs := r.Spec.SupportedSigningAlgs
	if len(algs) == 0 {
		algs = []string{defaultAlg}
	}
	var keys oidc.KeySet
	if len(r.Spec.JWKS.Keys) > 0 {
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(r.Spec.JWKS.Keys, &set); err != nil {
			return nil, fmt.Errorf("spec.jwks.keys is not a JSON Web Key Set: %w", err)
		}
		static := kidKeySet{keys: set.Keys}
		for _, a := range algs {
			static.algs = append(static.algs, jose.SignatureAlgorithm(a))
		}
		keys = static
	} else {
		client, err := issuerClient(r.Spec.CABundle)
		if err != nil {
			return nil, err
		}
		dctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, client), 10*time.Second)
		defer cancel()
		p, err := oidc.NewProvider(dctx, r.Spec.IssuerURL)
		if err != nil {
			return nil, fmt.Errorf("discover the issuer: %w", err)
		}
		var doc struct {
			JWKSURI string `json:"jwks_uri"`
		}
		if err := p.Claims(&doc); err != nil || doc.JWKSURI == "" {
			return nil, errors.New("the issuer's discovery document names no jwks_uri")
		}
		keys = oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), client), doc.JWKSURI)
	}
	v = oidc.NewVerifier(r.Spec.IssuerURL, keys, &oidc.Config{
		// The audience is checked below against every accepted value, as Gardener
		// matches any of spec.audiences.
		SkipClientIDCheck:    true,
		SupportedSigningAlgs: algs,
		Now:                  a.now,
	})
	a.mu.Lock()
	a.verifiers[key] = v
	a.mu.Unlock()
	return v, nil
}

// kidKeySet is spec.jwks.keys as Gardener reads it: a token is verified with the key
// whose kid is the kid of the token's first signature, and with no other key (go-oidc's
// StaticKeySet would try every key, taking tokens Gardener refuses).
type kidKeySet struct {
	keys []jose.JSONWebKey
	algs []jose.SignatureAlgorithm
}

func (s kidKeySet) VerifySignature(_ context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(raw, s.algs)
	if err != nil {
		return nil, fmt.Errorf("parse the token: %w", err)
	}
	if len(jws.Signatures) == 0 {
		return nil, errors.New("the token has no signature")
	}
	kid := jws.Signatures[0].Header.KeyID
	for _, k := range s.keys {
		if k.KeyID == kid {
			return jws.Verify(k)
		}
	}
	return nil, fmt.Errorf("no key of spec.jwks.keys has the token's kid %q", kid)
}

// issuerClient trusts caBundle, or the system's roots when it is empty.
func issuerClient(caBundle []byte) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if len(caBundle) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caBundle) {
			return nil, errors.New("spec.caBundle holds no PEM certificate")
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}, nil
}

// authenticateWith checks the token against one resource in the order Gardener does:
// the maximum lifetime (GOWA's areExpirationRequirementsFulfilled, before the
// signature), then kube-apiserver's JWT authenticator that GOWA builds from the
// resource (signature, issuer, exp and nbf, audience, username, groups, required
// claims), then GOWA's own rules on its answer (system: users, system: groups,
// extraClaims).
func (a *Authenticator) authenticateWith(ctx context.Context, r OpenIDConnect, token string) (*authenticationv1.UserInfo, error) {
	s := r.Spec
	audiences := s.Audiences
	if len(audiences) == 0 && s.ClientID != "" {
		audiences = []string{s.ClientID}
	}
	if len(audiences) == 0 {
		return nil, errors.New("the resource names neither spec.audiences nor spec.clientID")
	}
	if s.UsernameClaim == nil || *s.UsernameClaim == "" {
		return nil, errors.New("the resource names no spec.usernameClaim")
	}
	if err := lifetimeWithin(token, s.MaxTokenExpirationSeconds); err != nil {
		return nil, err
	}
	v, err := a.verifier(ctx, r)
	if err != nil {
		return nil, err
	}
	idt, err := v.Verify(ctx, token)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(idt.Audience, func(aud string) bool { return slices.Contains(audiences, aud) }) {
		return nil, fmt.Errorf("audience %q is not one of %q", idt.Audience, audiences)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, fmt.Errorf("decode the claims: %w", err)
	}
	name, ok := claims[*s.UsernameClaim].(string)
	if !ok || name == "" {
		return nil, fmt.Errorf("the username claim %q is not a non-empty string", *s.UsernameClaim)
	}
	if *s.UsernameClaim == "email" {
		// kube-apiserver takes an email as the username only when email_verified, if
		// the token has it, is the JSON value true.
		if ev, has := claims["email_verified"]; has {
			if b, ok := ev.(bool); !ok {
				return nil, errors.New("the email_verified claim is not a boolean")
			} else if !b {
				return nil, errors.New("the email is not verified (email_verified is false)")
			}
		}
	}
	var groups []string
	if s.GroupsClaim != nil && *s.GroupsClaim != "" {
		// A string or a list of strings (or null); any other value refuses the token,
		// as kube-apiserver's parse of the groups claim does.
		switch g := claims[*s.GroupsClaim].(type) {
		case nil:
		case string:
			groups = []string{g}
		case []any:
			for _, e := range g {
				str, ok := e.(string)
				if !ok {
					return nil, fmt.Errorf("the groups claim %q is not a string or a list of strings", *s.GroupsClaim)
				}
				groups = append(groups, str)
			}
		default:
			return nil, fmt.Errorf("the groups claim %q is not a string or a list of strings", *s.GroupsClaim)
		}
	}
	for k, want := range s.RequiredClaims {
		if got, ok := claims[k].(string); !ok || got != want {
			return nil, fmt.Errorf("required claim %q is not %q", k, want)
		}
	}
	name = prefixed(s.UsernamePrefix, r.Metadata.Name) + name
	if strings.HasPrefix(name, systemPrefix) {
		return nil, fmt.Errorf("username %q: %w", name, errSystemUser)
	}
	u := &authenticationv1.UserInfo{
		Username: name,
		Extra: map[string]authenticationv1.ExtraValue{
			"gardener.cloud/authenticator/name": {r.Metadata.Name},
			"gardener.cloud/authenticator/uid":  {r.Metadata.UID},
		},
	}
	prefix := prefixed(s.GroupsPrefix, r.Metadata.Name)
	for _, g := range groups {
		if g = prefix + g; !strings.HasPrefix(g, systemPrefix) {
			u.Groups = append(u.Groups, g)
		}
	}
	for _, c := range s.ExtraClaims {
		val, ok := claims[c]
		if !ok {
			return nil, fmt.Errorf("the token has no %q claim, which spec.extraClaims names", c)
		}
		str, ok := val.(string)
		if !ok {
			raw, err := json.Marshal(val)
			if err != nil {
				return nil, fmt.Errorf("encode the %q claim: %w", c, err)
			}
			str = string(raw)
		}
		u.Extra["gardener.cloud/user/"+strings.ToLower(c)] = authenticationv1.ExtraValue{str}
	}
	return u, nil
}

// lifetimeWithin holds a token to spec.maxTokenExpirationSeconds as GOWA does, on the
// unverified payload: with a maximum set, iat and exp must be positive numbers, iat
// before exp, and the whole seconds of exp-iat at most the maximum.
func lifetimeWithin(token string, maxSeconds *int64) error {
	if maxSeconds == nil {
		return nil
	}
	var c map[string]any // names matched exactly, as GOWA reads them
	if err := json.Unmarshal(unverifiedPayload(token), &c); err != nil {
		return errors.New("the token is not a JWT")
	}
	iat, iok := c["iat"].(float64)
	exp, eok := c["exp"].(float64)
	switch {
	case !iok || !eok:
		return errors.New("spec.maxTokenExpirationSeconds needs the iat and exp claims as numbers")
	case iat <= 0 || exp <= 0:
		return errors.New("spec.maxTokenExpirationSeconds needs positive iat and exp claims")
	case iat >= exp:
		return errors.New("the token's iat is not before its exp")
	case int64(exp-iat) > *maxSeconds:
		return fmt.Errorf("the token lives %ds, longer than the %ds allowed", int64(exp-iat), *maxSeconds)
	}
	return nil
}

// prefixed applies Gardener's rule: unset or empty means the resource name and "/",
// "-" means no prefix.
func prefixed(p *string, name string) string {
	switch {
	case p == nil || *p == "":
		return name + "/"
	case *p == prefixingDisabled:
		return ""
	default:
		return *p
	}
}

// unverifiedPayload returns a JWT's payload, undecoded JSON and unverified, or nil.
func unverifiedPayload(token string) []byte {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	return payload
}

// unverifiedIssuer reads iss from a JWT's payload without verifying it: only to pick
// the resources whose keys then verify it.
func unverifiedIssuer(token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", errors.New("the token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", errors.New("the token is not a JWT: its payload is not base64url")
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if err := json.Unmarshal(payload, &c); err != nil || c.Iss == "" {
		return "", errors.New("the token is not a JWT with an iss claim")
	}
	return c.Iss, nil
}

// ServeHTTP answers a TokenReview (authentication.k8s.io v1 or v1beta1, whose bodies
// have the same shape) as the apiserver's token webhook client expects.
func (a *Authenticator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST a TokenReview", http.StatusMethodNotAllowed)
		return
	}
	var review authenticationv1.TokenReview
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&review); err != nil {
		http.Error(w, "the body is not a TokenReview", http.StatusBadRequest)
		return
	}
	u, err := a.Authenticate(r.Context(), review.Spec.Token)
	review.Spec = authenticationv1.TokenReviewSpec{} // never echo the token
	if err != nil {
		a.log.Info("token refused", "reason", err.Error())
		review.Status = authenticationv1.TokenReviewStatus{Authenticated: false}
	} else {
		a.log.Info("token accepted", "user", u.Username)
		review.Status = authenticationv1.TokenReviewStatus{Authenticated: true, User: *u}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(review)
}
