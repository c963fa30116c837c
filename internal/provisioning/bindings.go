package provisioning

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/apiclient"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
)

// bindingJSON is every shape a binding has been seen in: the create and get answers
// ({"credentials":{"kubeconfig"},"metadata":{"expires_at"}}) and a list entry
// ({"bindingId","instanceId","createdBy","createdDate","expiresAt"}).
type bindingJSON struct {
	BindingID   string `json:"bindingId"`
	ID          string `json:"id"`
	InstanceID  string `json:"instanceId"`
	CreatedBy   string `json:"createdBy"`
	CreatedDate Time   `json:"createdDate"`
	CreatedAt   Time   `json:"createdAt"`
	ExpiresAt   Time   `json:"expiresAt"`
	Credentials struct {
		Kubeconfig string `json:"kubeconfig"`
	} `json:"credentials"`
	Metadata struct {
		ExpiresAt Time `json:"expires_at"`
	} `json:"metadata"`
}

// toBinding maps the wire shape, taking the first id and expiry that is there.
func (b *bindingJSON) toBinding(environmentID string) binding.Binding {
	out := binding.Binding{
		ID:            apiclient.FirstNonEmpty(b.BindingID, b.ID),
		EnvironmentID: apiclient.FirstNonEmpty(b.InstanceID, environmentID),
		Kubeconfig:    b.Credentials.Kubeconfig,
		CreatedBy:     b.CreatedBy,
		CreatedAt:     b.CreatedDate.Time,
		ExpiresAt:     b.Metadata.ExpiresAt.Time,
	}
	if out.CreatedAt.IsZero() {
		out.CreatedAt = b.CreatedAt.Time
	}
	if out.ExpiresAt.IsZero() {
		out.ExpiresAt = b.ExpiresAt.Time
	}
	if out.ExpiresAt.IsZero() && out.Kubeconfig != "" {
		// Decoded only to schedule the next refresh; see binding.JWTExpiry.
		if exp, err := binding.KubeconfigExpiry(out.Kubeconfig); err == nil {
			out.ExpiresAt = exp
		}
	}
	return out
}

func bindingsPath(environmentID string) string {
	return environmentPath(environmentID) + "/bindings"
}

// CreateBinding makes a new binding of an environment whose token lives for
// expiration (600 s to 7200 s; zero leaves it to the service, which defaults to
// 600 s): PUT .../environments/{id}/bindings.
//
// The id comes from the Location header (a bare id; for a URL or path, its last
// segment), else from the body's bindingId or id; it is empty when the service gave
// none, in which case the binding works but cannot be deleted by id. The kubeconfig
// comes from the answer's credentials.kubeconfig or, when the answer has none, from a
// GET of the binding by that id (see fetchKubeconfig). ExpiresAt comes
// from metadata.expires_at, else expiresAt, else the token's exp claim, else (an
// estimate that errs early) the time the request was sent plus the lifetime asked
// for. The environment must be ready; otherwise the error wraps binding.ErrNotReady.
// At 10 live bindings it wraps binding.ErrLimitReached.
func (c *Client) CreateBinding(ctx context.Context, environmentID string, expiration time.Duration) (*binding.Binding, error) {
	if err := apiclient.RequireID("environment", environmentID); err != nil {
		return nil, err
	}
	secs, err := binding.ExpirationSeconds(expiration)
	if err != nil {
		return nil, err
	}
	type params struct {
		ExpirationSeconds int64 `json:"expiration_seconds"`
	}
	body := struct {
		Parameters *params `json:"parameters,omitempty"`
	}{}
	if secs > 0 {
		body.Parameters = &params{ExpirationSeconds: secs}
	}
	sent := c.Now()
	r, err := c.Do(ctx, http.MethodPut, bindingsPath(environmentID), body,
		http.StatusAccepted, http.StatusOK, http.StatusCreated)
	if err != nil {
		return nil, err
	}
	answered := c.Now() // the time of the answer's Date, before any wait for the kubeconfig
	var bj bindingJSON
	located := idFromLocation(r.Header.Get("Location"))
	if !r.Empty() {
		if err := r.Decode(&bj); err != nil {
			if located != "" {
				// The binding exists and counts towards the limit: name it, so it
				// can be deleted.
				return nil, &binding.MadeError{ID: located, Err: fmt.Errorf("the Provisioning Service made binding %s, but its answer is unreadable: %w", located, err)}
			}
			return nil, err
		}
	}
	b := bj.toBinding(environmentID)
	if located != "" {
		b.ID = located
	}
	if b.Kubeconfig == "" {
		if b.ID == "" {
			return nil, errors.New("the Provisioning Service created a binding but sent no kubeconfig and no binding id; it cannot be fetched or deleted, and counts against the limit of 10 live bindings until it expires")
		}
		if err := c.fetchKubeconfig(ctx, &b); err != nil {
			return nil, err
		}
	}
	b.ExpiresAt, b.ClockNote = binding.NewExpiry(b.ExpiresAt, r.Header.Get("Date"), sent, answered, time.Duration(secs)*time.Second)
	return &b, nil
}

// bindSettleFor bounds how long a bind waits for the kubeconfig of a binding whose
// create answer had none. The service answers the PUT with 202 Accepted (not
// necessarily done); KEB answers a GET of a binding that has no kubeconfig yet with
// 404 "Binding creation in progress" (internal/broker/bind_get.go), the service's
// spec allows a 200 with metadata only, and KEB gives up on a bind after 15 s
// (internal/broker/server.go): 20 s covers that with a margin.
const bindSettleFor = 20 * time.Second

// bindSettleFirst is the first pause between GETs; each next one doubles.
const bindSettleFirst = time.Second

// fetchKubeconfig completes a binding whose create answer had no kubeconfig. SAP's
// procedure (KEB docs/user/05-70-manage-kyma-environment-through-cis-provisioning-service.md)
// takes the binding id from Location and reads the kubeconfig with a GET; KEB's own
// tests find it in the 202 body: both are taken. While the GET says the binding is
// not ready (binding.ErrNotReady) or has no kubeconfig yet, it is asked again, 1 s,
// 2 s, 4 s ... apart, for bindSettleFor in all. When that yields none, the binding is
// deleted, since it counts against the limit of 10 live bindings, and the error says
// so.
func (c *Client) fetchKubeconfig(ctx context.Context, b *binding.Binding) error {
	var (
		got    *binding.Binding
		err    error
		waited time.Duration
	)
	for pause := bindSettleFirst; ; pause *= 2 {
		got, err = c.GetBinding(ctx, b.EnvironmentID, b.ID)
		if err == nil && got.Kubeconfig != "" {
			b.Kubeconfig = got.Kubeconfig
			if b.ExpiresAt.IsZero() {
				b.ExpiresAt = got.ExpiresAt
			}
			return nil
		}
		settling := err == nil || errors.Is(err, binding.ErrNotReady)
		if !settling || waited >= bindSettleFor {
			break
		}
		pause = min(pause, bindSettleFor-waited)
		if werr := c.Wait(ctx, pause); werr != nil {
			err = werr
			break
		}
		waited += pause
	}
	why := "neither in its answer nor on a GET of the binding"
	if waited > 0 {
		why += fmt.Sprintf(" within %s", waited)
	}
	if err != nil {
		why = fmt.Sprintf("in its answer, and a GET of the binding failed: %v", err)
	}
	// Delete even when the caller gave up waiting: the binding must not be left behind.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if derr := c.DeleteBinding(dctx, b.EnvironmentID, b.ID); derr != nil && !errors.Is(derr, binding.ErrNotFound) {
		return &binding.MadeError{ID: b.ID, Err: fmt.Errorf("the Provisioning Service created binding %s but sent no kubeconfig, %s; deleting the binding failed too (%v): delete it with `kubectl kyma unbind %s %s`, it counts against the limit of 10 live bindings", b.ID, why, derr, b.EnvironmentID, b.ID)}
	}
	// A MadeError all the same: the credential helper waits before the next bind.
	return &binding.MadeError{ID: b.ID, Err: fmt.Errorf("the Provisioning Service created binding %s but sent no kubeconfig, %s; the binding was deleted so that it does not count against the limit of 10 live bindings", b.ID, why)}
}

// GetBinding returns one binding with its kubeconfig. A deleted binding is an
// *APIError wrapping binding.ErrNotFound (the service answers 404 with an empty
// body). ExpiresAt comes from the answer or the token's exp claim; zero if neither.
func (c *Client) GetBinding(ctx context.Context, environmentID, bindingID string) (*binding.Binding, error) {
	if err := apiclient.RequireID("environment", environmentID); err != nil {
		return nil, err
	}
	if err := apiclient.RequireID("binding", bindingID); err != nil {
		return nil, err
	}
	bj, err := apiclient.Get[bindingJSON](ctx, c.Client, bindingsPath(environmentID)+"/"+url.PathEscape(bindingID))
	if err != nil {
		return nil, err
	}
	b := bj.toBinding(environmentID)
	b.ID = bindingID
	return &b, nil
}

// ListBindings lists an environment's bindings, without kubeconfigs. No bindings is
// an empty list whether the service answers {"bindings":[]} or 404; a 404 whose
// message says the environment instance is not found is returned as the error it
// is.
func (c *Client) ListBindings(ctx context.Context, environmentID string) ([]binding.Binding, error) {
	if err := apiclient.RequireID("environment", environmentID); err != nil {
		return nil, err
	}
	r, err := c.Do(ctx, http.MethodGet, bindingsPath(environmentID), nil, http.StatusOK)
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound && !ae.NotJSON &&
			!strings.Contains(strings.ToLower(ae.Message), "instance not found") {
			return []binding.Binding{}, nil
		}
		return nil, err
	}
	var entries []bindingJSON
	if body := bytes.TrimSpace(r.Body); len(body) > 0 && body[0] == '[' {
		err = r.Decode(&entries) // a bare array: not seen, but cheap to accept
	} else {
		var out struct {
			Bindings []bindingJSON `json:"bindings"`
		}
		err = r.Decode(&out)
		entries = out.Bindings
	}
	if err != nil {
		return nil, err
	}
	list := make([]binding.Binding, 0, len(entries))
	for i := range entries {
		b := entries[i].toBinding(environmentID)
		b.Kubeconfig = "" // List promises no secrets
		list = append(list, b)
	}
	return list, nil
}

// DeleteBinding revokes a binding: KEB deletes its service account, so the token is
// refused from then on (the API server may accept it for a few more seconds from its
// cache). An unknown binding (404), or one already gone at the broker (410), is an
// *APIError wrapping binding.ErrNotFound: for a caller that wanted it gone, done.
func (c *Client) DeleteBinding(ctx context.Context, environmentID, bindingID string) error {
	if err := apiclient.RequireID("environment", environmentID); err != nil {
		return err
	}
	if err := apiclient.RequireID("binding", bindingID); err != nil {
		return err
	}
	_, err := c.Do(ctx, http.MethodDelete, bindingsPath(environmentID)+"/"+url.PathEscape(bindingID), nil,
		http.StatusOK, http.StatusAccepted, http.StatusNoContent)
	return err
}

// idFromLocation takes the binding id from a Location header. The service sends a
// bare id; should it ever send a URL or a path, the id is the last path segment.
func idFromLocation(loc string) string {
	loc = strings.TrimSpace(loc)
	if i := strings.IndexAny(loc, "?#"); i >= 0 {
		loc = loc[:i]
	}
	loc = strings.TrimRight(loc, "/")
	if i := strings.LastIndex(loc, "/"); i >= 0 {
		loc = loc[i+1:]
	}
	if id, err := url.PathUnescape(loc); err == nil {
		return id
	}
	return loc
}

// Bindings returns the client as a binding.Service.
func (c *Client) Bindings() *BindingService { return &BindingService{c: c} }

// BindingService is a Client seen as a binding.Service, the interface the commands
// and the credential helper use. Its errors wrap the binding package's (see
// APIError).
type BindingService struct {
	c *Client
}

var _ binding.Service = (*BindingService)(nil)

// Create is Client.CreateBinding.
func (s *BindingService) Create(ctx context.Context, environmentID string, expiration time.Duration) (*binding.Binding, error) {
	return s.c.CreateBinding(ctx, environmentID, expiration)
}

// Get is Client.GetBinding.
func (s *BindingService) Get(ctx context.Context, environmentID, bindingID string) (*binding.Binding, error) {
	return s.c.GetBinding(ctx, environmentID, bindingID)
}

// List is Client.ListBindings.
func (s *BindingService) List(ctx context.Context, environmentID string) ([]binding.Binding, error) {
	return s.c.ListBindings(ctx, environmentID)
}

// Delete is Client.DeleteBinding.
func (s *BindingService) Delete(ctx context.Context, environmentID, bindingID string) error {
	return s.c.DeleteBinding(ctx, environmentID, bindingID)
}
