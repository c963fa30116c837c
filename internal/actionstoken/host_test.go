package actionstoken

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

type countingTransport struct{ n atomic.Int32 }

func (c *countingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	c.n.Add(1)
	return nil, errors.New("no network in this test")
}

// A token-service URL a kubeconfig's env: pointed elsewhere gets no request token:
// only GitHub's token service, this machine, or the host the user allowed (GitHub
// Enterprise Server) are asked.
func TestFetchSendsTheRequestTokenOnlyToGitHubOrAnAllowedHost(t *testing.T) {
	for _, tc := range []struct {
		url, allow string
		sent       bool
	}{
		{"https://attacker.example/collect?x=1", "", false},
		{"https://actions.githubusercontent.com.attacker.example/x?a=1", "", false},
		{"https://evilactions.githubusercontent.com/x?a=1", "", false},
		{"https://pipelinesghubeus2.actions.githubusercontent.com/abc/idtoken?api-version=2.0", "", true},
		{"https://PIPELINES.Actions.GitHubUserContent.com/abc/idtoken?api-version=2.0", "", true},
		{"https://ghes.example.com/_services/pipelines/idtoken?api-version=2.0", "GHES.example.com", true},
		{"https://attacker.example/collect?x=1", "ghes.example.com", false},
	} {
		rt := &countingTransport{}
		f := Fetcher{Client: &http.Client{Transport: rt}, AllowHost: tc.allow, Backoff: func(int) time.Duration { return 0 }}
		_, err := f.Fetch(context.Background(), tc.url, "the-jobs-request-token", "https://api.example")
		if sent := rt.n.Load() > 0; sent != tc.sent {
			t.Errorf("%s (allow %q): sent = %v, want %v (error %v)", tc.url, tc.allow, sent, tc.sent, err)
		}
		if !tc.sent && (err == nil || !strings.Contains(err.Error(), EnvAllowHost) || strings.Contains(err.Error(), "attacker")) {
			t.Errorf("%s: error = %v, want the refusal naming %s and not the URL", tc.url, err, EnvAllowHost)
		}
	}
}

// Refusals made before any request are NotSentError (credential does not stamp them
// as failed fetches), and plain http goes only to a loopback address, not to the name
// localhost, which /etc/hosts or DNS may resolve elsewhere.
func TestFetchRefusalsBeforeARequestAreNotSent(t *testing.T) {
	for _, u := range []string{
		"ftp://pipelines.actions.githubusercontent.com/x",
		"http://pipelines.actions.githubusercontent.com/x",
		"http://localhost:9/x",
		"https://attacker.example/x",
	} {
		rt := &countingTransport{}
		_, err := Fetcher{Client: &http.Client{Transport: rt}}.Fetch(context.Background(), u, "t", "https://api.example")
		var ns *NotSentError
		if !errors.As(err, &ns) || rt.n.Load() != 0 {
			t.Errorf("%s: %v (%T), %d requests; want a NotSentError and none", u, err, err, rt.n.Load())
		}
	}
	for _, u := range []string{"http://127.0.0.1:9/x", "http://[::1]:9/x", "https://localhost:9/x"} {
		rt := &countingTransport{}
		_, _ = Fetcher{Client: &http.Client{Transport: rt}, Backoff: func(int) time.Duration { return 0 }}.Fetch(context.Background(), u, "t", "")
		if rt.n.Load() == 0 {
			t.Errorf("%s: not asked", u)
		}
	}
}
