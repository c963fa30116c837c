package provisioning

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
)

func TestCreateBinding(t *testing.T) {
	jwtExp := t0.Add(3600 * time.Second)
	kc := kubeconfig(fakeJWT(jwtExp))
	kcNoJWT := kubeconfig("not-a-jwt")
	credentials := func(kc string) string {
		b, _ := json.Marshal(kc)
		return `"credentials":{"kubeconfig":` + string(b) + `}`
	}
	tests := []struct {
		name       string
		status     int
		location   string
		body       string
		expiration time.Duration
		date       string // the answer's Date header; empty: the client's clock
		want       binding.Binding
		wantErr    string
	}{
		{
			name: "202, bare id in Location, metadata.expires_at", status: 202, location: "9f1c0d2e-1111-4222-8333-944455556666",
			body:       `{` + credentials(kc) + `,"metadata":{"expires_at":"2026-11-23T10:00:37.0Z"}}`,
			expiration: time.Hour,
			want:       binding.Binding{ID: "9f1c0d2e-1111-4222-8333-944455556666", EnvironmentID: "E1", Kubeconfig: kc, ExpiresAt: t0.Add(time.Hour + 37*time.Second)},
		},
		{
			name: "Location is a URL", status: 202, location: "https://cis.example/provisioning/v1/environments/E1/bindings/B1?x=1",
			body: `{` + credentials(kc) + `}`, expiration: time.Hour,
			want: binding.Binding{ID: "B1", EnvironmentID: "E1", Kubeconfig: kc, ExpiresAt: jwtExp},
		},
		{
			name: "Location is a path with a trailing slash", status: 201, location: "/provisioning/v1/environments/E1/bindings/B1/",
			body: `{` + credentials(kc) + `}`, expiration: time.Hour,
			want: binding.Binding{ID: "B1", EnvironmentID: "E1", Kubeconfig: kc, ExpiresAt: jwtExp},
		},
		{
			name: "id in the body, top-level expiresAt in ms", status: 200,
			body:       `{"bindingId":"B2",` + credentials(kc) + `,"expiresAt":1795428000000}`,
			expiration: time.Hour,
			want:       binding.Binding{ID: "B2", EnvironmentID: "E1", Kubeconfig: kc, ExpiresAt: t0.Add(time.Hour)},
		},
		{
			name: "body id, RFC 3339 expiresAt", status: 202,
			body:       `{"id":"B3",` + credentials(kc) + `,"expiresAt":"2026-11-23T09:30:00Z","createdDate":1795424400000,"createdBy":"sb-x"}`,
			expiration: time.Hour,
			want:       binding.Binding{ID: "B3", EnvironmentID: "E1", Kubeconfig: kc, ExpiresAt: t0.Add(30 * time.Minute), CreatedAt: t0, CreatedBy: "sb-x"},
		},
		{
			name: "no expiry and no JWT: request time plus the lifetime asked for", status: 202, location: "B4",
			body: `{` + credentials(kcNoJWT) + `}`, expiration: 2 * time.Hour,
			want: binding.Binding{ID: "B4", EnvironmentID: "E1", Kubeconfig: kcNoJWT, ExpiresAt: t0.Add(2 * time.Hour)},
		},
		{
			name: "service default lifetime for the estimate", status: 202, location: "B5",
			body: `{` + credentials(kcNoJWT) + `}`,
			want: binding.Binding{ID: "B5", EnvironmentID: "E1", Kubeconfig: kcNoJWT, ExpiresAt: t0.Add(600 * time.Second)},
		},
		{
			name: "no id anywhere: the binding still works", status: 202,
			body: `{` + credentials(kc) + `}`, expiration: time.Hour,
			want: binding.Binding{EnvironmentID: "E1", Kubeconfig: kc, ExpiresAt: jwtExp},
		},
		{
			name: "the service's clock is 5 minutes ahead: the expiry moves onto ours", status: 202, location: "B7",
			date:       t0.Add(5 * time.Minute).Format(http.TimeFormat),
			body:       `{` + credentials(kc) + `,"metadata":{"expires_at":"2026-11-23T10:00:00.0Z"}}`,
			expiration: time.Hour,
			want:       binding.Binding{ID: "B7", EnvironmentID: "E1", Kubeconfig: kc, ExpiresAt: t0.Add(55 * time.Minute)},
		},
		{
			name: "no kubeconfig and no id", status: 202, body: `{}`,
			wantErr: "the Provisioning Service created a binding but sent no kubeconfig and no binding id; it cannot be fetched or deleted, and counts against the limit of 10 live bindings until it expires",
		},
		{
			name: "limit reached", status: 400,
			body:    `{"error":{"code":40000,"message":"maximum number of non expired bindings reached: 10"}}`,
			wantErr: "the Provisioning Service answered 400 Bad Request: maximum number of non expired bindings reached: 10",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := map[string]string{}
			if tt.location != "" {
				header["Location"] = tt.location
			}
			if tt.date != "" {
				header["Date"] = tt.date
			}
			c, _ := newFake(t, tt.status, tt.body, header)
			got, err := c.Bindings().Create(ctx, "E1", tt.expiration)
			if diff := cmp.Diff(tt.wantErr, errString(err)); diff != "" {
				t.Fatalf("error (-want +got):\n%s", diff)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff(&tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestCreateBindingWithoutKubeconfig: a 202 without credentials.kubeconfig (SAP's
// procedure reads it with a GET by the Location id) is completed by that GET; when the
// GET has none either, the binding is deleted, and the error says so.
func TestCreateBindingWithoutKubeconfig(t *testing.T) {
	kc := kubeconfig(fakeJWT(t0.Add(time.Hour)))
	getBody, _ := json.Marshal(map[string]any{"credentials": map[string]string{"kubeconfig": kc}})
	const (
		put = "PUT /provisioning/v1/environments/E1/bindings"
		get = "GET /provisioning/v1/environments/E1/bindings/B1"
		del = "DELETE /provisioning/v1/environments/E1/bindings/B1"
	)
	type answer struct {
		status int
		body   string
	}
	inProgress := answer{404, `{"error":{"message":"Binding creation in progress"}}`}
	metadataOnly := answer{200, `{"metadata":{"expires_at":"2026-11-23T10:00:00.0Z"}}`}
	tests := []struct {
		name         string
		put          string
		gets         []answer // the last one repeats
		deleteStatus int
		want         *binding.Binding
		wantErr      string
		wantRequests []string
		wantWaits    []time.Duration
	}{
		{
			name: "kubeconfig from the GET, expiry from the 202", put: `{"metadata":{"expires_at":"2026-11-23T09:30:00.0Z"}}`,
			gets:         []answer{{200, string(getBody)}},
			want:         &binding.Binding{ID: "B1", EnvironmentID: "E1", Kubeconfig: kc, ExpiresAt: t0.Add(30 * time.Minute)},
			wantRequests: []string{put, get},
		},
		{
			name: "empty 202, expiry from the token", put: "",
			gets:         []answer{{200, string(getBody)}},
			want:         &binding.Binding{ID: "B1", EnvironmentID: "E1", Kubeconfig: kc, ExpiresAt: t0.Add(time.Hour)},
			wantRequests: []string{put, get},
		},
		{
			name: "KEB's creation in progress, then the kubeconfig", put: `{}`,
			gets:         []answer{inProgress, inProgress, {200, string(getBody)}},
			want:         &binding.Binding{ID: "B1", EnvironmentID: "E1", Kubeconfig: kc, ExpiresAt: t0.Add(time.Hour)},
			wantRequests: []string{put, get, get, get},
			wantWaits:    []time.Duration{time.Second, 2 * time.Second},
		},
		{
			name: "metadata only, then the kubeconfig", put: `{}`,
			gets:         []answer{metadataOnly, {200, string(getBody)}},
			want:         &binding.Binding{ID: "B1", EnvironmentID: "E1", Kubeconfig: kc, ExpiresAt: t0.Add(time.Hour)},
			wantRequests: []string{put, get, get},
			wantWaits:    []time.Duration{time.Second},
		},
		{
			name: "the GET has none for 20 s: deleted", put: `{}`, gets: []answer{{200, `{"credentials":{}}`}}, deleteStatus: 200,
			wantErr:      "the Provisioning Service created binding B1 but sent no kubeconfig, neither in its answer nor on a GET of the binding within 20s; the binding was deleted so that it does not count against the limit of 10 live bindings",
			wantRequests: []string{put, get, get, get, get, get, get, del},
			wantWaits:    []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 5 * time.Second},
		},
		{
			name: "still in progress after 20 s: deleted", put: `{}`, gets: []answer{inProgress}, deleteStatus: 200,
			wantErr:      "the Provisioning Service created binding B1 but sent no kubeconfig, in its answer, and a GET of the binding failed: the Provisioning Service answered 404 Not Found: Binding creation in progress; the binding was deleted so that it does not count against the limit of 10 live bindings",
			wantRequests: []string{put, get, get, get, get, get, get, del},
			wantWaits:    []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 5 * time.Second},
		},
		{
			name: "the GET fails: deleted at once", put: `{}`, gets: []answer{{404, ""}}, deleteStatus: 200,
			wantErr:      "the Provisioning Service created binding B1 but sent no kubeconfig, in its answer, and a GET of the binding failed: the Provisioning Service answered 404 Not Found; the binding was deleted so that it does not count against the limit of 10 live bindings",
			wantRequests: []string{put, get, del},
		},
		{
			name: "the delete fails too", put: `{}`, gets: []answer{{500, `{}`}}, deleteStatus: 500,
			wantErr:      "the Provisioning Service created binding B1 but sent no kubeconfig, in its answer, and a GET of the binding failed: the Provisioning Service answered 500 Internal Server Error; deleting the binding failed too (the Provisioning Service answered 500 Internal Server Error): delete it with `kubectl kyma unbind E1 B1`, it counts against the limit of 10 live bindings",
			wantRequests: []string{put, get, del},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen []string
			gets := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = append(seen, r.Method+" "+r.URL.Path)
				w.Header().Set("Date", t0.Format(http.TimeFormat))
				switch r.Method {
				case http.MethodPut:
					w.Header().Set("Location", "B1")
					w.WriteHeader(http.StatusAccepted)
					io.WriteString(w, tt.put)
				case http.MethodGet:
					a := tt.gets[min(gets, len(tt.gets)-1)]
					gets++
					w.WriteHeader(a.status)
					io.WriteString(w, a.body)
				case http.MethodDelete:
					w.WriteHeader(tt.deleteStatus)
				}
			}))
			defer srv.Close()
			c := New(srv.URL, srv.Client())
			clk := clock.NewFake(t0)
			c.Clock = clk
			got, err := c.Bindings().Create(ctx, "E1", time.Hour)
			if diff := cmp.Diff(tt.wantErr, errString(err)); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("binding (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantRequests, seen); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantWaits, clk.Waits()); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCreateBindingWaitEndsWithTheContext: a caller that gives up ends the wait for
// the kubeconfig at once, and the binding is deleted all the same.
func TestCreateBindingWaitEndsWithTheContext(t *testing.T) {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var deleted atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPut:
			w.Header().Set("Location", "B1")
			w.WriteHeader(http.StatusAccepted)
		case http.MethodGet:
			cancel() // the caller gives up while the binding settles
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":{"message":"Binding creation in progress"}}`)
		case http.MethodDelete:
			deleted.Store(true)
		}
	}))
	defer srv.Close()
	c := New(srv.URL, srv.Client())
	c.Clock = clock.Real{} // a real 1 s wait, which the cancel beats
	_, err := c.Bindings().Create(cctx, "E1", time.Hour)
	if err == nil || !strings.Contains(err.Error(), "context canceled; the binding was deleted") || !deleted.Load() {
		t.Fatalf("error %v (deleted %v), want the cancel and the deletion", err, deleted.Load())
	}
}

func TestListBindings(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		want    []binding.Binding
		wantErr error
	}{
		{
			name: "epoch ms and RFC 3339 dates", status: 200,
			body: `{"bindings":[` +
				`{"bindingId":"B1","instanceId":"E1","createdBy":"sb-x","createdDate":1795424400000,"expiresAt":1795425000000},` +
				`{"bindingId":"B2","instanceId":"E1","createdBy":"sb-x","createdDate":"2026-11-23T09:00:00Z","expiresAt":"2026-11-23T11:00:00.0Z","credentials":{"kubeconfig":"secret"}}]}`,
			want: []binding.Binding{
				{ID: "B1", EnvironmentID: "E1", CreatedBy: "sb-x", CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)},
				{ID: "B2", EnvironmentID: "E1", CreatedBy: "sb-x", CreatedAt: t0, ExpiresAt: t0.Add(2 * time.Hour)},
			},
		},
		{name: "none", status: 200, body: `{"bindings":[]}`, want: []binding.Binding{}},
		{name: "none, as 404 with an empty body", status: 404, want: []binding.Binding{}},
		{name: "a bare array", status: 200, body: `[{"bindingId":"B1"}]`, want: []binding.Binding{{ID: "B1", EnvironmentID: "E1"}}},
		{name: "no such environment", status: 404, body: `{"error":{"code":41000,"message":"Environment instance not found"}}`, wantErr: binding.ErrNotFound},
		{name: "refused", status: 401, wantErr: binding.ErrUnauthorized},
	}
	// A wrong base URL's 404 page is an error, not an empty list.
	c, _ := newFake(t, 404, "404 page not found", map[string]string{"Content-Type": "text/plain"})
	if _, err := c.ListBindings(ctx, "E1"); err == nil || errors.Is(err, binding.ErrNotFound) {
		t.Errorf("404 page: error %v, want a non-NotFound error", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newFake(t, tt.status, tt.body, nil)
			got, err := c.Bindings().List(ctx, "E1")
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestGetBinding(t *testing.T) {
	exp := t0.Add(time.Hour)
	kc := kubeconfig(fakeJWT(exp))
	body, _ := json.Marshal(map[string]any{"credentials": map[string]string{"kubeconfig": kc}})
	c, _ := newFake(t, 200, string(body), nil)
	got, err := c.Bindings().Get(ctx, "E1", "B1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&binding.Binding{ID: "B1", EnvironmentID: "E1", Kubeconfig: kc, ExpiresAt: exp}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	// After deletion the service answers 404 with an empty body.
	c, _ = newFake(t, 404, "", nil)
	_, err = c.Bindings().Get(ctx, "E1", "B1")
	if !errors.Is(err, binding.ErrNotFound) || err.Error() != "the Provisioning Service answered 404 Not Found" {
		t.Errorf("error %v, want ErrNotFound", err)
	}
}

func TestDeleteBinding(t *testing.T) {
	tests := []struct {
		status  int
		wantErr error
	}{
		{200, nil},
		{204, nil},
		{404, binding.ErrNotFound},
		{410, binding.ErrNotFound},
		{401, binding.ErrUnauthorized},
	}
	for _, tt := range tests {
		c, _ := newFake(t, tt.status, "", nil)
		err := c.Bindings().Delete(ctx, "E1", "B1")
		if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
			t.Errorf("status %d: error %v, want %v", tt.status, err, tt.wantErr)
		}
	}
}

func TestIDFromLocation(t *testing.T) {
	for in, want := range map[string]string{
		"9f1c":                         "9f1c",
		" 9f1c \r":                     "9f1c",
		"/a/b/9f1c":                    "9f1c",
		"https://h/a/bindings/9f1c/":   "9f1c",
		"https://h/a/bindings/9f1c?x#": "9f1c",
		"https://h/a/b%20c":            "b c",
		"":                             "",
	} {
		if got := idFromLocation(in); got != want {
			t.Errorf("idFromLocation(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTimeAndObject(t *testing.T) {
	times := map[string]time.Time{
		`1795424400000`:               t0,
		`1795424400`:                  t0, // seconds, defensively
		`"1795424400000"`:             t0,
		`"2026-11-23T09:00:00Z"`:      t0,
		`"2026-11-23T10:00:00+01:00"`: t0,
		`"2026-11-23T09:00:00.0Z"`:    t0,
		`null`:                        {},
		`""`:                          {},
		`"next tuesday"`:              {},
	}
	for in, want := range times {
		var got Time
		if err := json.Unmarshal([]byte(in), &got); err != nil || !got.Equal(want) {
			t.Errorf("Time %s = %v, %v; want %v", in, got, err, want)
		}
	}
	var bad Time
	if err := json.Unmarshal([]byte(`true`), &bad); err == nil {
		t.Errorf("Time true: no error")
	}

	objects := map[string]Object{
		`{"a":"b"}`:       {"a": "b"},
		`"{\"a\":\"b\"}"`: {"a": "b"},
		`" {\"a\":1} "`:   {"a": float64(1)},
		`""`:              nil,
		`null`:            nil,
		`"not json"`:      nil,
		`[1]`:             nil,
		`"{\"broken\":"`:  nil,
	}
	for in, want := range objects {
		var got Object
		if err := json.Unmarshal([]byte(in), &got); err != nil {
			t.Errorf("Object %s: %v", in, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Object %s (-want +got):\n%s", in, diff)
		}
	}
	o := Object{"s": "x", "n": 1.5, "l": []any{"a"}}
	if diff := cmp.Diff([]string{"x", "1.5", `["a"]`, ""}, []string{o.String("s"), o.String("n"), o.String("l"), o.String("missing")}); diff != "" {
		t.Errorf("Object.String (-want +got):\n%s", diff)
	}
}
