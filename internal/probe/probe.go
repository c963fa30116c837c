// Package probe asks a Kubernetes cluster whether it accepts a bearer token, for the
// credential helper's refusal check (credential.Prober). It links only the standard
// library and the project's redirect guard.
package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/kubectl-kyma/kubectl-kyma/internal/redirect"
)

// selfSubjectReview is the smallest request the cluster must authenticate: a
// SelfSubjectReview (authentication.k8s.io/v1, GA since Kubernetes 1.28;
// POST /apis/authentication.k8s.io/v1/selfsubjectreviews, see
// https://kubernetes.io/docs/reference/kubernetes-api/authentication-resources/self-subject-review-v1)
// creates nothing, and every authenticated user may make one (the system:basic-user
// role), so only a refused token gets 401.
const selfSubjectReview = `{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}`

// Token asks the cluster at server whether it accepts token, for the credential
// helper's refusal check (credential.Prober): a 401 is a refusal; any other answer from
// the API server (201, or 403 for an authenticated user denied the review) means the
// token is accepted; no answer, or a 5xx, says nothing. It runs in kyma-cli only, off
// the cache-hit path, and with the standard library: one request, trusting caData (or
// the system roots when it is empty), through the proxy the environment names, as
// kubectl would.
func Token(ctx context.Context, server string, caData []byte, token string) (bool, error) {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(caData) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caData) {
			return false, errors.New("the cluster's CA data holds no PEM certificate")
		}
		tlsConfig.RootCAs = pool
	}
	// A redirect is not followed: Go would resend the Authorization header to the same
	// host (also over http), and the API server never redirects this request.
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: tlsConfig}, CheckRedirect: redirect.Refuse}
	defer client.CloseIdleConnections()
	url := strings.TrimSuffix(server, "/") + "/apis/authentication.k8s.io/v1/selfsubjectreviews"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(selfSubjectReview))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return false, fmt.Errorf("ask the cluster whether it accepts the token: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if err := redirect.Check(resp); err != nil {
		return false, fmt.Errorf("ask the cluster whether it accepts the token: %w", err) // says nothing
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return false, nil
	case resp.StatusCode < 500:
		return true, nil
	}
	return false, fmt.Errorf("ask the cluster whether it accepts the token: %s", resp.Status)
}
