package rbac

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"k8s.io/client-go/rest"
)

// apiResources lists the resources and subresources the cluster serves, by API group:
// the core group's v1 and each other group's preferred version.
func (c *kubeClient) apiResources(ctx context.Context) (map[string][]string, error) {
	out := map[string][]string{}
	add := func(group, path string) error {
		var list struct {
			Resources []struct {
				Name string `json:"name"`
			} `json:"resources"`
		}
		if err := c.do(ctx, http.MethodGet, path, nil, &list); err != nil {
			return fmt.Errorf("list the cluster's resources at %s: %w", path, err)
		}
		for _, r := range list.Resources {
			out[group] = append(out[group], r.Name)
		}
		return nil
	}
	if err := add("", "/api/v1"); err != nil {
		return nil, err
	}
	var groups struct {
		Groups []struct {
			Name             string `json:"name"`
			PreferredVersion struct {
				GroupVersion string `json:"groupVersion"`
			} `json:"preferredVersion"`
		} `json:"groups"`
	}
	if err := c.do(ctx, http.MethodGet, "/apis", nil, &groups); err != nil {
		return nil, fmt.Errorf("list the cluster's API groups: %w", err)
	}
	for _, g := range groups.Groups {
		if g.PreferredVersion.GroupVersion == "" {
			continue
		}
		if err := add(g.Name, "/apis/"+g.PreferredVersion.GroupVersion); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// waitDenied asks the API server (SelfSubjectAccessReview) until it denies attrs: the
// RBAC authorizer reads roles from an informer, so an update takes effect a moment
// later, and COMMAND must never start with the old rights.
func (c *kubeClient) waitDenied(ctx context.Context, attrs map[string]any) error {
	review := map[string]any{
		"apiVersion": "authorization.k8s.io/v1",
		"kind":       "SelfSubjectAccessReview",
		"spec":       map[string]any{"resourceAttributes": attrs},
	}
	for {
		var got struct {
			Status struct {
				Allowed bool `json:"allowed"`
			} `json:"status"`
		}
		if err := c.do(ctx, http.MethodPost, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review, &got); err != nil {
			return fmt.Errorf("check the narrowed rights: %w", err)
		}
		if !got.Status.Allowed {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the API server still allows %v: %w", attrs, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// kubeClient does JSON requests to a Kubernetes API server.
type kubeClient struct {
	host string
	hc   *http.Client
}

func newKubeClient(cfg *rest.Config) (*kubeClient, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", cfg.Host, err)
	}
	return &kubeClient{host: strings.TrimRight(cfg.Host, "/"), hc: hc}, nil
}

// statusError is an API server's refusal: its status code and message.
type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.code, http.StatusText(e.code), e.msg)
}

func (c *kubeClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.host+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var st struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(data, &st)
		return &statusError{code: resp.StatusCode, msg: st.Message}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}
