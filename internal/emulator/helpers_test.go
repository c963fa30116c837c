package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// fakeClock is a settable clock: expiry and delays are tested without sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 23, 9, 10, 37, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeBackend records what the emulator asks of Kubernetes. Like the API server, it
// refuses object names that are not DNS subdomains.
type fakeBackend struct {
	clock *fakeClock

	mu      sync.Mutex
	live    map[string]bool // binding id -> objects exist
	revoked map[string]bool // binding id -> ServiceAccount deleted by RevokeToken
	created int
	// block, when set, is waited on inside CreateBinding (concurrency tests).
	block chan struct{}
	// failCreate and failDelete, when set, fail every CreateBinding or DeleteBinding.
	failCreate, failDelete error
}

func newFakeBackend(clock *fakeClock) *fakeBackend {
	return &fakeBackend{clock: clock, live: map[string]bool{}, revoked: map[string]bool{}}
}

func (f *fakeBackend) CreateBinding(ctx context.Context, id string, expiration time.Duration) (string, time.Time, error) {
	f.mu.Lock()
	block, fail := f.block, f.failCreate
	f.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return "", time.Time{}, ctx.Err()
		}
	}
	if fail != nil {
		return "", time.Time{}, fail
	}
	name := bindingObjectName(id)
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return "", time.Time{}, fmt.Errorf("while creating a service account: ServiceAccount %q is invalid: metadata.name: Invalid value: %q: %s", name, name, strings.Join(errs, ", "))
	}
	if expiration < 600*time.Second {
		return "", time.Time{}, fmt.Errorf("while creating a service account kubeconfig: expirationSeconds must be at least 600")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.live[id] = true
	f.created++
	return "token-" + id, f.clock.Now().Add(expiration), nil
}

func (f *fakeBackend) DeleteBinding(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failDelete != nil {
		return f.failDelete
	}
	delete(f.live, id)
	return nil
}

func (f *fakeBackend) RevokeToken(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revoked[id] = true
	return nil
}

func (f *fakeBackend) Cluster() (string, []byte) {
	return "https://127.0.0.1:6443", []byte("-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n")
}

// set changes the fake's behaviour under its lock.
func (f *fakeBackend) set(change func(*fakeBackend)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

func (f *fakeBackend) isLive(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.live[id]
}

func (f *fakeBackend) isRevoked(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.revoked[id]
}

// tester is an emulator started in process, with a fake clock and back end, and a client.
type tester struct {
	t       *testing.T
	e       *Emulator
	client  *http.Client
	clock   *fakeClock
	backend *fakeBackend
	dir     string
}

// newTester starts an emulator; edit adjusts its options.
func newTester(t *testing.T, edit func(*Options)) *tester {
	t.Helper()
	clock := newFakeClock()
	tt := &tester{t: t, clock: clock, backend: newFakeBackend(clock), dir: t.TempDir()}
	tt.start(edit)
	return tt
}

func (tt *tester) start(edit func(*Options)) {
	tt.t.Helper()
	opts := Options{StateDir: tt.dir, Backend: tt.backend, ProvisioningDelay: 5 * time.Second, now: tt.clock.Now}
	if edit != nil {
		edit(&opts)
	}
	e, err := Start(context.Background(), opts)
	if err != nil {
		tt.t.Fatalf("Start: %v", err)
	}
	tt.e, tt.client = e, e.HTTPClient()
	tt.t.Cleanup(func() { tt.stop() })
}

func (tt *tester) stop() {
	if tt.e == nil {
		return
	}
	if err := tt.e.Shutdown(context.Background()); err != nil {
		tt.t.Errorf("Shutdown: %v", err)
	}
	tt.e = nil
}

// restart stops the emulator and starts another on the same state folder.
func (tt *tester) restart(edit func(*Options)) {
	tt.t.Helper()
	tt.stop()
	tt.start(edit)
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// do sends a request; body is sent as is when it is a string, else encoded as JSON.
func (tt *tester) do(method, path string, body any, header map[string]string) response {
	tt.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			tt.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, tt.e.URL+path, rd)
	if err != nil {
		tt.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := tt.client.Do(req)
	if err != nil {
		tt.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		tt.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: raw}
}

// serviceKey reads the service key the emulator wrote.
func (tt *tester) serviceKey() serviceKey {
	tt.t.Helper()
	var k serviceKey
	readJSONFile(tt.t, tt.e.Path(ServiceKeyFile), &k)
	return k
}

func (tt *tester) brokerConfig() brokerConfig {
	tt.t.Helper()
	var b brokerConfig
	readJSONFile(tt.t, tt.e.Path(BrokerFile), &b)
	return b
}

func readJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
}

// token gets an access token with the client-credentials grant (raw Basic auth, as
// curl -u sends it).
func (tt *tester) token(id, secret string) string {
	tt.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	req, _ := http.NewRequest(http.MethodPost, tt.e.URL+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := tt.client.Do(req)
	if err != nil {
		tt.t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != http.StatusOK {
		tt.t.Fatalf("token: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil {
		tt.t.Fatal(err)
	}
	return tok.AccessToken
}

func (tt *tester) cisToken() string {
	k := tt.serviceKey()
	return tt.token(k.Credentials.UAA.ClientID, k.Credentials.UAA.ClientSecret)
}

func (tt *tester) brokerToken() string {
	b := tt.brokerConfig()
	return tt.token(b.ClientID, b.ClientSecret)
}

// cis sends a Provisioning Service API request with a fresh CIS token.
func (tt *tester) cis(method, path string, body any) response {
	tt.t.Helper()
	return tt.do(method, path, body, map[string]string{"Authorization": "bearer " + tt.cisToken()})
}

// osb sends a broker request with a broker token and X-Broker-API-Version 2.14.
func (tt *tester) osb(method, path string, body any) response {
	tt.t.Helper()
	return tt.do(method, path, body, map[string]string{"Authorization": "Bearer " + tt.brokerToken(), "X-Broker-API-Version": "2.14"})
}

// createEnvironment makes an environment through CIS and waits (on the fake clock) until
// it is OK; it returns the id.
func (tt *tester) createEnvironment(plan, name string) string {
	tt.t.Helper()
	params := map[string]string{"name": name}
	if p := planByName(plan); p.regionsFor(DefaultRegion) != nil {
		params["region"] = p.regionsFor(DefaultRegion)[0]
	}
	r := tt.cis(http.MethodPost, "/provisioning/v1/environments", map[string]any{
		"environmentType": "kyma", "serviceName": "kymaruntime", "planName": plan, "user": "jane@example.com", "parameters": params,
	})
	if r.status != http.StatusAccepted {
		tt.t.Fatalf("create environment: %d %s", r.status, r.body)
	}
	var out struct{ ID string }
	r.json(tt.t, &out)
	tt.clock.Advance(5 * time.Second)
	return out.ID
}

func jsonUnmarshal(doc string, v any) error { return json.Unmarshal([]byte(doc), v) }

// jsonString returns s as a JSON string literal.
func jsonString(s string) string {
	raw, _ := json.Marshal(s)
	return string(raw)
}

func (tt *tester) stats() Stats {
	tt.t.Helper()
	var s Stats
	tt.do(http.MethodGet, "/emulator/v1/stats", nil, nil).json(tt.t, &s)
	return s
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
