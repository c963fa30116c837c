package provisioning

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
)

// cannedTransport answers every request with one response, without a server: fast
// enough for the fuzzer.
type cannedTransport struct {
	status   int
	location string
	body     string
}

func (c cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	h := http.Header{"Content-Type": {"application/json"}}
	if c.location != "" {
		h.Set("Location", c.location)
	}
	return &http.Response{StatusCode: c.status, Header: h, Body: io.NopCloser(strings.NewReader(c.body)), Request: r}, nil
}

// FuzzCreateBinding feeds the binding parser whatever a broken or hostile service
// might answer: it must return a binding or an error, never panic, and never put the
// body into the error.
func FuzzCreateBinding(f *testing.F) {
	f.Add(202, "b-1", `{"credentials":{"kubeconfig":"apiVersion: v1\nkind: Config\n"},"metadata":{"expires_at":"2026-11-23T10:00:37.0Z"}}`)
	f.Add(202, "https://x/provisioning/v1/environments/e/bindings/b-2/", `{"bindingId":"b","credentials":{"kubeconfig":"x"},"expiresAt":1795428000000}`)
	f.Add(400, "", `{"error":{"code":40000,"message":"expiration_seconds cannot be less than 600"}}`)
	f.Add(200, "", `{"credentials":{"kubeconfig":"users:\n- user:\n    token: a.eyJleHAiOjE3OTU0MjgwMDB9.c"}}`)
	f.Add(500, "", "<html>oops</html>")
	f.Add(202, "", `{"credentials":`)
	f.Fuzz(func(t *testing.T, status int, location, body string) {
		if status < 100 || status > 599 {
			return
		}
		c := New("https://cis.example", &http.Client{Transport: cannedTransport{status, location, body}})
		c.Clock = clock.NewFake(t0)
		b, err := c.CreateBinding(ctx, "env", 10*time.Minute)
		if err == nil && (b == nil || b.Kubeconfig == "") {
			t.Fatalf("no error and no kubeconfig: %+v", b)
		}
		if err != nil && len(body) > 20 && strings.Contains(err.Error(), body) {
			t.Fatalf("the error repeats the raw body: %v", err)
		}
	})
}
