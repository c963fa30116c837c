package broker

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// fakeJWT is an unsigned JWT whose exp is exp.
func fakeJWT(exp time.Time) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"RS256"}`)) + "." +
		enc.EncodeToString([]byte(fmt.Sprintf(`{"exp":%d}`, exp.Unix()))) + ".c2ln"
}

func kubeconfig(token string) string {
	return "\n---\napiVersion: v1\nkind: Config\nusers:\n- name: my-kyma\n  user:\n    token: " + token + "\n"
}

// seen is one request the fake KEB saw.
type seen struct {
	Method, Path, Query, Version, Accept, Body string
}

type fakeBinding struct {
	params    string // the PUT's parameters, to tell 200 from 409
	expiresAt time.Time
	body      string // the 201 body, repeated on 200
}

// fakeKEB follows KEB's binding and provisioning code, status by status (see the
// table in DESIGN.md), closely enough to test the client's handling of each answer.
type fakeKEB struct {
	mu        sync.Mutex
	now       time.Time
	instances map[string]string // id -> "succeeded", "in progress", "failed"
	bindings  map[string]*fakeBinding
	requests  []seen
}

func newFakeKEB() *fakeKEB {
	return &fakeKEB{now: t0, instances: map[string]string{"I1": "succeeded", "I2": "in progress"}, bindings: map[string]*fakeBinding{}}
}

func (f *fakeKEB) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Date", t0.Format(http.TimeFormat)) // the client's fixed clock: no skew
	body, _ := io.ReadAll(r.Body)
	f.requests = append(f.requests, seen{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("X-Broker-API-Version"), r.Header.Get("Accept"), string(body)})
	reply := func(status int, v string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, v)
	}
	describe := func(status int, d string) { reply(status, fmt.Sprintf(`{"description":%q}`, d)) }

	rest, ok := strings.CutPrefix(r.URL.Path, "/oauth/cf-eu10/v2/service_instances/")
	if !ok {
		http.NotFound(w, r) // plain text, like KEB's router
		return
	}
	if r.Header.Get("X-Broker-API-Version") == "" {
		reply(412, `{"Description":"X-Broker-API-Version Header not set"}`)
		return
	}
	parts := strings.Split(rest, "/")
	iid := parts[0]
	switch {
	case len(parts) == 1 && r.Method == http.MethodPut:
		f.instances[iid] = "in progress"
		reply(202, `{"operation":"op-prov","dashboard_url":"https://dash"}`)
	case len(parts) == 1 && r.Method == http.MethodDelete:
		if _, ok := f.instances[iid]; !ok {
			reply(410, `{}`)
			return
		}
		delete(f.instances, iid)
		reply(202, `{"operation":"op-deprov"}`)
	case len(parts) == 2 && parts[1] == "last_operation":
		st, ok := f.instances[iid]
		if !ok {
			reply(410, `{}`)
			return
		}
		reply(200, fmt.Sprintf(`{"state":%q,"description":"operation %s"}`, st, st))
	case len(parts) == 3 && parts[1] == "service_bindings":
		f.binding(r.Method, iid, parts[2], r, body, reply, describe)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeKEB) binding(method, iid, bid string, r *http.Request, body []byte, reply func(int, string), describe func(int, string)) {
	key := iid + "/" + bid
	switch method {
	case http.MethodPut:
		var req struct {
			ServiceID  string          `json:"service_id"`
			PlanID     string          `json:"plan_id"`
			Parameters json.RawMessage `json:"parameters"`
		}
		if json.Unmarshal(body, &req) != nil {
			reply(422, `{"description":"unexpected end of JSON input"}`)
			return
		}
		switch {
		case req.ServiceID == "":
			describe(400, "service_id missing")
			return
		case req.PlanID == "":
			describe(400, "plan_id missing")
			return
		}
		st, ok := f.instances[iid]
		switch {
		case !ok:
			describe(404, "instance does not exist")
			return
		case st == "in progress":
			describe(400, fmt.Sprintf("instance %s creation is in progress", iid))
			return
		}
		var p struct {
			ExpirationSeconds *int `json:"expiration_seconds"`
		}
		if len(req.Parameters) > 0 {
			if err := json.Unmarshal(req.Parameters, &p); err != nil {
				describe(400, "failed to unmarshal parameters: "+err.Error())
				return
			}
		}
		exp := 600
		if p.ExpirationSeconds != nil {
			exp = *p.ExpirationSeconds
		}
		switch {
		case exp < 600:
			describe(400, "expiration_seconds cannot be less than 600")
			return
		case exp > 7200:
			describe(400, "expiration_seconds cannot be greater than 7200")
			return
		}
		if b, ok := f.bindings[key]; ok {
			if b.params != string(req.Parameters) {
				describe(409, "binding already exists but with different parameters")
				return
			}
			reply(200, b.body)
			return
		}
		live := 0
		for k, b := range f.bindings {
			if strings.HasPrefix(k, iid+"/") && b.expiresAt.After(f.now) {
				live++
			}
		}
		if live >= 10 {
			describe(400, "maximum number of non expired bindings reached: 10")
			return
		}
		expiresAt := f.now.Add(time.Duration(exp) * time.Second)
		kc, _ := json.Marshal(kubeconfig(fakeJWT(expiresAt)))
		b := &fakeBinding{params: string(req.Parameters), expiresAt: expiresAt,
			body: fmt.Sprintf(`{"credentials":{"kubeconfig":%s},"metadata":{"expires_at":%q}}`, kc, expiresAt.Format("2006-01-02T15:04:05.0Z"))}
		f.bindings[key] = b
		reply(201, b.body)
	case http.MethodGet:
		b, ok := f.bindings[key]
		switch {
		case !ok:
			describe(404, "Binding not found")
		case !b.expiresAt.After(f.now):
			describe(404, "Binding expired")
		default:
			var full struct {
				Credentials json.RawMessage `json:"credentials"`
			}
			json.Unmarshal([]byte(b.body), &full)
			reply(200, `{"credentials":`+string(full.Credentials)+`}`)
		}
	case http.MethodDelete:
		if r.URL.Query().Get("plan_id") == "" {
			describe(400, "plan_id missing")
			return
		}
		if _, ok := f.bindings[key]; !ok {
			reply(410, `{}`)
			return
		}
		delete(f.bindings, key)
		reply(200, `{}`)
	}
}

// start serves f and returns a client of its /oauth/cf-eu10 prefix.
func (f *fakeKEB) start(t *testing.T) *Client {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c := New(srv.URL+"/oauth/cf-eu10/", srv.Client())
	c.Clock = clock.NewFake(t0)
	return c
}

func (f *fakeKEB) seen() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.requests...)
}
