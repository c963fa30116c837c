package gc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/ledger"
)

// service is a binding.Service of live ids; Delete of an id in fail fails.
type service struct {
	live []string
	fail map[string]error
}

func (s *service) Create(context.Context, string, time.Duration) (*binding.Binding, error) {
	return nil, errors.New("gc makes no binding")
}

func (s *service) Get(context.Context, string, string) (*binding.Binding, error) {
	return nil, errors.New("gc gets no binding")
}

func (s *service) List(context.Context, string) ([]binding.Binding, error) {
	var out []binding.Binding
	for _, id := range s.live {
		out = append(out, binding.Binding{ID: id})
	}
	return out, nil
}

func (s *service) Delete(_ context.Context, _, id string) error {
	if err := s.fail[id]; err != nil {
		return err
	}
	if !slices.Contains(s.live, id) {
		return fmt.Errorf("binding %s: %w", id, binding.ErrNotFound)
	}
	s.live = slices.DeleteFunc(s.live, func(l string) bool { return l == id })
	return nil
}

// A delete that fails is reported, and its binding stays in the ledger for the next gc;
// one the service no longer knows counts as gone, silently.
func TestCollect(t *testing.T) {
	dir := t.TempDir()
	rec := ledger.Open(dir, "test", "env-1")
	for _, id := range []string{"current", "a", "b", "c"} {
		if err := rec.Add(id, ledger.Bind, now.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if err := (credential.Cache{Dir: dir}).Store(credential.Key{Profile: "test", Environment: "env-1"}, &credential.Entry{
		Environment: "env-1", BindingID: "current", Token: "tok", IssuedAt: now.Add(-time.Minute), ExpiresAt: now.Add(9 * time.Minute),
		Superseded: []credential.Superseded{{BindingID: "expired"}},
	}); err != nil {
		t.Fatal(err)
	}
	svc := &service{live: []string{"current", "a", "b", "c", "someone-elses"}, fail: map[string]error{"b": errors.New("service unavailable")}}
	var out bytes.Buffer
	err := Collect(context.Background(), svc, &out, dir, "test", "env-1", "my-kyma", func() time.Time { return now })
	if err == nil || err.Error() != "delete binding b: service unavailable" {
		t.Errorf("error = %v", err)
	}
	want := `binding/a deleted (made here by kubectl kyma bind)
binding/c deleted (made here by kubectl kyma bind)
my-kyma: 2 binding(s) deleted, 3 of 10 live bindings left
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	var kept []string
	for id := range rec.Read() {
		kept = append(kept, id)
	}
	slices.Sort(kept)
	if diff := cmp.Diff([]string{"b", "current"}, kept); diff != "" {
		t.Errorf("ledger (-want +got):\n%s", diff)
	}
}

func TestCollectListFails(t *testing.T) {
	err := Collect(context.Background(), failingList{&service{}}, &bytes.Buffer{}, t.TempDir(), "test", "env-1", "env-1", time.Now)
	if err == nil || !strings.HasPrefix(err.Error(), "list bindings: ") {
		t.Errorf("error = %v, want the list error", err)
	}
}

type failingList struct{ *service }

func (failingList) List(context.Context, string) ([]binding.Binding, error) {
	return nil, binding.ErrUnauthorized
}

func TestEnvironments(t *testing.T) {
	dir := t.TempDir()
	if err := ledger.Open(dir, "test", "env-b").Add("x", ledger.Run, now); err != nil {
		t.Fatal(err)
	}
	if err := ledger.Open(dir, "test", "env-a").Add("y", ledger.Run, now); err != nil {
		t.Fatal(err)
	}
	if err := (credential.Cache{Dir: dir}).Store(credential.Key{Profile: "test", Environment: "env-a"}, &credential.Entry{
		Environment: "env-a", BindingID: "y", Token: "tok", ExpiresAt: now.Add(time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"env-a", "env-b"}, Environments(dir, "test")); diff != "" {
		t.Errorf("environments (-want +got):\n%s", diff)
	}
}
