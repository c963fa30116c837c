// Package bindingtest is a binding.Service in memory, for the tests of the packages
// that make, list and delete bindings through one.
package bindingtest

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
)

// Fake is a binding.Service in memory: the bindings it holds (all of env-1 when New
// made them), those it deleted and how many it made.
type Fake struct {
	mu sync.Mutex
	// Now stamps the bindings Create makes: created now, expiring 10 minutes later.
	Now  time.Time
	Live map[string]binding.Binding
	// Deleted are the ids Delete removed, in order; Made counts Create's bindings.
	Deleted []string
	Made    int
	// Kubeconfig is what each binding Create makes carries (see Kubeconfig).
	Kubeconfig string
	// CreateErr, ListErr and DeleteErr, when set, are what Create, List and Delete
	// fail with.
	CreateErr error
	ListErr   error
	DeleteErr error
}

// New is a Fake holding bindings ids of env-1, made a minute apart before now and
// expiring a minute apart after it, whose new bindings reach https://127.0.0.1:1.
func New(now time.Time, ids ...string) *Fake {
	s := &Fake{Now: now, Live: map[string]binding.Binding{}, Kubeconfig: Kubeconfig("https://127.0.0.1:1")}
	for i, id := range ids {
		s.Live[id] = binding.Binding{ID: id, EnvironmentID: "env-1",
			CreatedAt: now.Add(-time.Duration(len(ids)-i) * time.Minute), ExpiresAt: now.Add(time.Duration(i+1) * time.Minute)}
	}
	return s
}

// Create makes binding new-N of env.
func (s *Fake) Create(_ context.Context, env string, _ time.Duration) (*binding.Binding, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.CreateErr != nil {
		return nil, s.CreateErr
	}
	s.Made++
	b := binding.Binding{ID: fmt.Sprintf("new-%d", s.Made), EnvironmentID: env, CreatedAt: s.Now, ExpiresAt: s.Now.Add(10 * time.Minute)}
	s.Live[b.ID] = b
	b.Kubeconfig = s.Kubeconfig
	return &b, nil
}

// Get is the live binding id, or binding.ErrNotFound.
func (s *Fake) Get(_ context.Context, _, id string) (*binding.Binding, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.Live[id]
	if !ok {
		return nil, binding.ErrNotFound
	}
	return &b, nil
}

// List is the live bindings, by id.
func (s *Fake) List(context.Context, string) ([]binding.Binding, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ListErr != nil {
		return nil, s.ListErr
	}
	var out []binding.Binding
	for _, id := range s.liveIDs() {
		out = append(out, s.Live[id])
	}
	return out, nil
}

// Delete removes a live binding; another id is binding.ErrNotFound.
func (s *Fake) Delete(_ context.Context, _, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.DeleteErr != nil {
		return s.DeleteErr
	}
	if _, ok := s.Live[id]; !ok {
		return fmt.Errorf("binding %s: %w", id, binding.ErrNotFound)
	}
	delete(s.Live, id)
	s.Deleted = append(s.Deleted, id)
	return nil
}

// LiveIDs are the ids of the live bindings, sorted.
func (s *Fake) LiveIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.liveIDs()
}

// MadeCount is how many bindings Create made.
func (s *Fake) MadeCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Made
}

func (s *Fake) liveIDs() []string {
	ids := make([]string, 0, len(s.Live))
	for id := range s.Live {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Kubeconfig is a binding's kubeconfig for server, with the token "tok"; ca, when
// given, is the server's certificate.
func Kubeconfig(server string, ca ...*x509.Certificate) string {
	caData := ""
	if len(ca) > 0 {
		pemData := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca[0].Raw})
		caData = "\n    certificate-authority-data: " + base64.StdEncoding.EncodeToString(pemData)
	}
	return `
---
apiVersion: v1
kind: Config
clusters:
- name: e
  cluster:
    server: ` + server + caData + `
users:
- name: e
  user:
    token: tok
contexts:
- name: e
  context:
    cluster: e
    user: e
current-context: e
`
}
