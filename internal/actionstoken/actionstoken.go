// Package actionstoken fetches a GitHub Actions job's OIDC ID token from the runner's
// token service, for the credential plugin's --oidc github.
//
// A job with `permissions: id-token: write` gets ACTIONS_ID_TOKEN_REQUEST_URL and
// ACTIONS_ID_TOKEN_REQUEST_TOKEN. The token is a GET of that URL with the audience
// added as the `audience` query parameter, authorised with the request token as a
// bearer token; the answer is JSON (docs.github.com, "About security hardening with
// OpenID Connect", and actions/toolkit's core.getIDToken):
//
//	GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=https%3A%2F%2Fapi.example
//	Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN
//
//	200 {"count": 1, "value": "eyJhbGciOiJSUzI1NiIs..."}
package actionstoken

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/redirect"
)

// Bounds of a fetch. The whole of it, tries and waits included, ends within Deadline:
// under the cache entry's lock a herd of kubectl processes waits for it, for at most
// credential.DefaultLockTimeout (a minute).
const (
	// attempts bounds the tries of one fetch: the token service is a shared cloud
	// service, and a brief 5xx must not fail a deployment.
	attempts = 3
	// Deadline bounds a whole fetch.
	Deadline = 30 * time.Second
	// attemptTimeout bounds one request.
	attemptTimeout = 10 * time.Second
	// maxBody bounds the answer read: {"value": JWT} is a few KiB.
	maxBody = 64 << 10
)

// Fetcher asks the runner's token service for ID tokens.
type Fetcher struct {
	// Client makes the requests; nil means an HTTP/1.1 client (newClient) with a 10 s
	// timeout. It never follows a redirect.
	Client *http.Client
	// Backoff is the wait before the nth retry (1, 2); nil means n seconds.
	Backoff func(n int) time.Duration
	// Deadline bounds the whole fetch; zero means Deadline.
	Deadline time.Duration
	// AllowHost is one more host the request token may go to besides GitHub's token
	// service and this machine: a GitHub Enterprise Server's (EnvAllowHost).
	AllowHost string
}

// GitHubHostSuffix ends the host name of every GitHub.com runner's token service.
const GitHubHostSuffix = ".actions.githubusercontent.com"

// EnvAllowHost names a GitHub Enterprise Server's token-service host, the one other
// host the request token may go to. A kubeconfig's exec env: can set it as it can set
// ACTIONS_ID_TOKEN_REQUEST_URL, so the host rule alone stops only a changed URL;
// CheckEnv (Linux) refuses an env: that sets either.
const EnvAllowHost = "KUBECTL_KYMA_OIDC_TOKEN_SERVICE_HOST"

// allowedHost reports whether the request token may go to host: GitHub's token
// service, this machine, or the host the user allowed.
func (f Fetcher) allowedHost(host string) bool {
	host = strings.ToLower(host)
	return strings.HasSuffix(host, GitHubHostSuffix) || loopback(host) || (f.AllowHost != "" && host == strings.ToLower(f.AllowHost))
}

// Fetch returns an ID token for audience (empty: the service's default, the
// repository owner's URL), asked of requestURL with requestToken. Every error is one
// sentence that shows neither the request token, nor a token, nor the request URL
// (which names the job).
func (f Fetcher) Fetch(ctx context.Context, requestURL, requestToken, audience string) (string, error) {
	u, err := url.Parse(requestURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", notSent("ACTIONS_ID_TOKEN_REQUEST_URL is not an http(s) URL")
	}
	// The request token is a bearer secret: it goes in the clear only to this machine,
	// named by its address: "localhost" is looked up (/etc/hosts, then DNS), and may
	// resolve elsewhere.
	if u.Scheme == "http" && !loopbackIP(u.Hostname()) {
		return "", notSent("ACTIONS_ID_TOKEN_REQUEST_URL is plain http to another machine, and the request token is sent only over https (or in the clear to 127.0.0.1 or [::1])")
	}
	// The request token mints ID tokens of any audience for the rest of the job, and a
	// kubeconfig's exec env: can point ACTIONS_ID_TOKEN_REQUEST_URL anywhere.
	if !f.allowedHost(u.Hostname()) {
		return "", notSent("ACTIONS_ID_TOKEN_REQUEST_URL names a host other than GitHub's token service (*" + GitHubHostSuffix + ") and this machine, and kubectl-kyma sends the job's request token to no other host unless " + EnvAllowHost + " names it: on GitHub Enterprise Server or GHE.com set " + EnvAllowHost + " to its token service's host in the job's environment")
	}
	if audience != "" {
		// Appended to the runner's query as it is, as actions/toolkit's getIDToken does.
		sep := "&"
		if u.RawQuery == "" {
			sep = ""
		}
		u.RawQuery += sep + "audience=" + url.QueryEscape(audience)
	}
	client := f.Client
	if client == nil {
		client = newClient()
	}
	// Go keeps the Authorization header on a redirect to the same host, even from
	// https to http: the token service never redirects, so no redirect is followed.
	client = redirect.Client(client)
	deadline := f.Deadline
	if deadline <= 0 {
		deadline = Deadline
	}
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	timedOut := fmt.Errorf("the token service did not answer within %s", deadline)
	var last error
	for n := 0; n < attempts; n++ {
		if n > 0 {
			wait := time.Duration(n) * time.Second
			if f.Backoff != nil {
				wait = f.Backoff(n)
			}
			select {
			case <-ctx.Done():
				return "", fmt.Errorf("%w (%d tries; the last: %v)", timedOut, n, last)
			case <-time.After(wait):
			}
		}
		token, retry, err := get(ctx, client, u.String(), requestToken)
		if err == nil {
			return token, nil
		}
		if ctx.Err() != nil {
			return "", timedOut
		}
		if last = err; !retry {
			return "", err
		}
	}
	return "", fmt.Errorf("%w (%d tries)", last, attempts)
}

// newClient is the client of a fetch: HTTP/1.1 only, because Go's HTTP/2 client prints
// header values and the head of DATA frames (the request token, the ID token) to
// stderr when GODEBUG=http2debug=2 asks, and stderr goes to the job's log; HTTP/1.1
// logs nothing. One small GET per token gains nothing from HTTP/2.
func newClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Protocols = new(http.Protocols)
	t.Protocols.SetHTTP1(true)
	// Clone sets up HTTP/2 on the default transport first and copies its TLS config,
	// whose ALPN list then offers h2: a server that takes it answers in HTTP/2 frames,
	// which this HTTP/1.1 client cannot read. Offer no ALPN protocol (HTTP/1.1).
	if c := t.TLSClientConfig; c != nil {
		c.NextProtos = nil
	}
	return &http.Client{Timeout: attemptTimeout, Transport: t}
}

// get makes one request; retry says whether another might succeed.
func get(ctx context.Context, client *http.Client, u, requestToken string) (token string, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", false, errors.New("ACTIONS_ID_TOKEN_REQUEST_URL cannot be asked")
	}
	req.Header.Set("Authorization", "bearer "+requestToken)
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			if uerr.Timeout() {
				return "", true, errors.New("the token service did not answer within the request's time limit")
			}
			err = uerr.Err // the URL carries the job's ids: say what failed, not where
		}
		return "", true, fmt.Errorf("the token service cannot be reached: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return "", true, errors.New("the token service's answer broke off")
	}
	if len(body) > maxBody {
		return "", false, fmt.Errorf("the token service's answer (%s) is larger than %d KiB, which no ID token is", resp.Status, maxBody>>10)
	}
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
	case code >= 300 && code < 400:
		return "", false, fmt.Errorf("the token service answered %s, a redirect, which is not followed (the request token would go along)", resp.Status)
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return "", false, fmt.Errorf("the token service answered %s: it does not take the request token (a token of another job, or one that ended with its job; the job needs `permissions: id-token: write`)", resp.Status)
	default:
		msg := fmt.Sprintf("the token service answered %s", resp.Status)
		if m := message(body, requestToken); m != "" {
			msg += ": " + m
		}
		return "", code >= 500 || code == http.StatusTooManyRequests, errors.New(msg)
	}
	var answer struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return "", false, fmt.Errorf("the token service's answer is not a JSON object (Content-Type %q)", printable(resp.Header.Get("Content-Type"), 80))
	}
	var value string
	if json.Unmarshal(answer.Value, &value) != nil || strings.TrimSpace(value) == "" {
		return "", false, errors.New(`the token service's answer has no "value" with a token`)
	}
	return strings.TrimSpace(value), false, nil
}

// message is the service's own error message from a JSON body, shortened and in
// printable characters; never the raw body, and nothing when it repeats the request
// token or holds what looks like a JWT.
func message(body []byte, requestToken string) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	if (requestToken != "" && strings.Contains(e.Message, requestToken)) || strings.Contains(e.Message, "eyJ") {
		return ""
	}
	return printable(strings.TrimSpace(e.Message), 200)
}

// printable is s with control characters dropped, cut at n bytes.
func printable(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > n {
		s = s[:n] + "..."
	}
	return s
}

// loopback reports whether host names this machine.
func loopback(host string) bool {
	return host == "localhost" || loopbackIP(host)
}

// loopbackIP reports whether host is a loopback address.
func loopbackIP(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
