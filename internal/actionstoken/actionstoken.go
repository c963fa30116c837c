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

// attempts bounds the tries of one fetch: the token service is a shared cloud service,
// and a brief 5xx must not fail a deployment.
const attempts = 3

// Fetcher asks the runner's token service for ID tokens.
type Fetcher struct {
	// Client makes the requests; nil means a client with a 30 s timeout.
	Client *http.Client
	// Backoff is the wait before the nth retry (1, 2); nil means n seconds.
	Backoff func(n int) time.Duration
}

// Fetch returns an ID token for audience (empty: the service's default, the
// repository owner's URL), asked of requestURL with requestToken. Neither the request
// token nor the ID token appears in an error.
func (f Fetcher) Fetch(ctx context.Context, requestURL, requestToken, audience string) (string, error) {
	u, err := url.Parse(requestURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", errors.New("ACTIONS_ID_TOKEN_REQUEST_URL is not an http(s) URL")
	}
	// The request token is a bearer secret: it goes in the clear only to this machine.
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return "", errors.New("ACTIONS_ID_TOKEN_REQUEST_URL is plain http to another machine, and the request token is sent only over https (or to this machine)")
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
		client = &http.Client{Timeout: 30 * time.Second}
	}
	// Go keeps the Authorization header on a redirect to the same host, even from
	// https to http: the token service never redirects, so no redirect is followed.
	client = redirect.Client(client)
	var last error
	for n := 0; n < attempts; n++ {
		if n > 0 {
			wait := time.Duration(n) * time.Second
			if f.Backoff != nil {
				wait = f.Backoff(n)
			}
			select {
			case <-ctx.Done():
				return "", last
			case <-time.After(wait):
			}
		}
		token, retry, err := get(ctx, client, u.String(), requestToken)
		if err == nil {
			return token, nil
		}
		if last = err; !retry {
			break
		}
	}
	return "", last
}

// get makes one request; retry says whether another might succeed.
func get(ctx context.Context, client *http.Client, u, requestToken string) (token string, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", false, fmt.Errorf("build the request: %w", err)
	}
	req.Header.Set("Authorization", "bearer "+requestToken)
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the URL carries the job's ids: say what failed, not where
		}
		return "", ctx.Err() == nil, fmt.Errorf("ask the token service: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", true, fmt.Errorf("read the token service's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		retry := resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
		msg := fmt.Sprintf("the token service answered %s", resp.Status)
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			msg += " (the request token is not accepted: a token of another job, or one that expired with its job)"
		} else if m := message(body); m != "" {
			msg += ": " + m
		}
		return "", retry, errors.New(msg)
	}
	var answer struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &answer); err != nil || answer.Value == "" {
		return "", false, errors.New(`the token service's answer has no "value" with a token`)
	}
	return answer.Value, false, nil
}

// message is the service's own error message from a JSON body, shortened; never the
// raw body, which might echo what was sent.
func message(body []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	m := strings.TrimSpace(e.Message)
	if len(m) > 200 {
		m = m[:200] + "..."
	}
	return m
}

// loopback reports whether host names this machine.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
