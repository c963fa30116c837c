package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// stateFile holds the environments and bindings; it carries kubeconfigs, so it is 0600.
const stateFile = "state.json"

// environment is one Kyma environment (a KEB service instance). Its state is derived from
// its timestamps (see stateAt), so nothing has to run when a delay passes and a restart
// resumes every transition exactly.
//
// Test services fail on magic values; so does the emulator, on the environment's name:
// "fail-..." ends in CREATION_FAILED, "fail-delete-..." provisions and updates fine but
// ends in DELETION_FAILED when deprovisioned, "fail-update-..." ends every update in
// UPDATE_FAILED (see failsCreation, failsDeletion, failsUpdate).
type environment struct {
	ID              string          `json:"id"`
	Name            string          `json:"name"`
	PlanName        string          `json:"planName"`
	User            string          `json:"user,omitempty"`
	Parameters      json.RawMessage `json:"parameters,omitempty"`
	Context         json.RawMessage `json:"context,omitempty"`
	GlobalAccountID string          `json:"globalAccountId"`
	SubaccountID    string          `json:"subaccountId"`
	LandscapeLabel  string          `json:"landscapeLabel,omitempty"`
	Origin          string          `json:"origin,omitempty"`
	RuntimeID       string          `json:"runtimeId"`
	// ProvisionOperation, UpdateOperation and DeprovisionOperation are the OSB operation
	// ids; UpdateOperation is the latest update's.
	ProvisionOperation   string    `json:"provisionOperation"`
	UpdateOperation      string    `json:"updateOperation,omitempty"`
	DeprovisionOperation string    `json:"deprovisionOperation,omitempty"`
	CreatedAt            time.Time `json:"createdAt"`
	ReadyAt              time.Time `json:"readyAt"`
	// UpdateRequestedAt is set by an update: the environment is UPDATING until UpdatedAt,
	// then OK with UpdateParameters and UpdatePlanName in force (or UPDATE_FAILED with
	// the old ones).
	UpdateRequestedAt time.Time       `json:"updateRequestedAt,omitzero"`
	UpdatedAt         time.Time       `json:"updatedAt,omitzero"`
	UpdateParameters  json.RawMessage `json:"updateParameters,omitempty"`
	UpdatePlanName    string          `json:"updatePlanName,omitempty"`
	// DeleteRequestedAt is set by a delete; the environment is DELETING until DeletedAt,
	// then gone (or DELETION_FAILED), but kept so last_operation can still report it.
	DeleteRequestedAt time.Time `json:"deleteRequestedAt,omitzero"`
	DeletedAt         time.Time `json:"deletedAt,omitzero"`
}

// Environment states as the Provisioning Service names them.
const (
	stateCreating       = "CREATING"
	stateCreationFailed = "CREATION_FAILED"
	stateUpdating       = "UPDATING"
	stateUpdateFailed   = "UPDATE_FAILED"
	stateOK             = "OK"
	stateDeleting       = "DELETING"
	stateDeletionFailed = "DELETION_FAILED"
	stateGone           = "" // deleted: the APIs answer 404
)

// The name prefixes that make an operation fail (see environment).
const (
	failPrefix       = "fail-"
	failDeletePrefix = "fail-delete-"
	failUpdatePrefix = "fail-update-"
)

// failsCreation reports whether the environment's provisioning ends in CREATION_FAILED.
func (e *environment) failsCreation() bool {
	return strings.HasPrefix(e.Name, failPrefix) && !e.failsDeletion() && !e.failsUpdate()
}

// failsDeletion reports whether deprovisioning the environment ends in DELETION_FAILED.
func (e *environment) failsDeletion() bool { return strings.HasPrefix(e.Name, failDeletePrefix) }

// failsUpdate reports whether an update of the environment ends in UPDATE_FAILED.
func (e *environment) failsUpdate() bool { return strings.HasPrefix(e.Name, failUpdatePrefix) }

// Messages of the failed states: the emulator's own words, saying why it failed.
const (
	creationFailedMessage = "Provisioning failed: kyma-emulator fails the creation of every environment whose name starts with " + failPrefix
	updateFailedMessage   = "Update failed: kyma-emulator fails every update of an environment whose name starts with " + failUpdatePrefix
	deletionFailedMessage = "Deprovisioning failed: kyma-emulator fails the deletion of every environment whose name starts with " + failDeletePrefix
)

// stateAt derives the environment's state at t.
func (e *environment) stateAt(t time.Time) string {
	switch {
	case !e.DeleteRequestedAt.IsZero() && !t.Before(e.DeletedAt):
		if e.failsDeletion() {
			return stateDeletionFailed
		}
		return stateGone
	case !e.DeleteRequestedAt.IsZero():
		return stateDeleting
	case t.Before(e.ReadyAt):
		return stateCreating
	case e.failsCreation():
		return stateCreationFailed
	case !e.UpdateRequestedAt.IsZero() && t.Before(e.UpdatedAt):
		return stateUpdating
	case !e.UpdateRequestedAt.IsZero() && e.failsUpdate():
		return stateUpdateFailed
	default:
		return stateOK
	}
}

// usableAt reports whether the environment's cluster is there to use at t: created, and
// not being deleted.
func (e *environment) usableAt(t time.Time) bool {
	switch e.stateAt(t) {
	case stateOK, stateUpdating, stateUpdateFailed, stateDeletionFailed:
		return true
	}
	return false
}

// updatedAt reports whether an update has finished and succeeded by t.
func (e *environment) updatedAt(t time.Time) bool {
	return !e.UpdateRequestedAt.IsZero() && !t.Before(e.UpdatedAt) && !e.failsUpdate()
}

// parametersAt are the parameters in force at t: a successful update's once it is done.
func (e *environment) parametersAt(t time.Time) json.RawMessage {
	if e.updatedAt(t) {
		return e.UpdateParameters
	}
	return e.Parameters
}

// planAt is the plan in force at t.
func (e *environment) planAt(t time.Time) string {
	if e.updatedAt(t) && e.UpdatePlanName != "" {
		return e.UpdatePlanName
	}
	return e.PlanName
}

// modifiedAt is when the environment last changed state, as of t.
func (e *environment) modifiedAt(t time.Time) time.Time {
	switch e.stateAt(t) {
	case stateGone, stateDeletionFailed:
		return e.DeletedAt
	case stateDeleting:
		return e.DeleteRequestedAt
	case stateUpdating:
		return e.UpdateRequestedAt
	case stateOK, stateUpdateFailed:
		if !e.UpdateRequestedAt.IsZero() {
			return e.UpdatedAt
		}
		return e.ReadyAt
	case stateCreationFailed:
		return e.ReadyAt
	}
	return e.CreatedAt
}

// bindingRecord is one KEB binding.
type bindingRecord struct {
	ID         string `json:"id"`
	InstanceID string `json:"instanceId"`
	// ExpirationSeconds is the requested lifetime: a repeated PUT must match it.
	ExpirationSeconds int       `json:"expirationSeconds"`
	CreatedAt         time.Time `json:"createdAt"`
	CreatedBy         string    `json:"createdBy,omitempty"`
	// ExpiresAt is the expiry reported to clients (and the one KEB's rules use).
	ExpiresAt time.Time `json:"expiresAt"`
	// TokenExpiresAt is when the Kubernetes token itself expires.
	TokenExpiresAt time.Time `json:"tokenExpiresAt,omitzero"`
	// Kubeconfig is empty while the binding is being made, and stays empty when making it
	// failed: KEB then answers "creation in progress" until the binding expires.
	Kubeconfig string `json:"kubeconfig,omitempty"`
	// Revoked records that the janitor deleted the ServiceAccount at ExpiresAt.
	Revoked bool `json:"revoked,omitempty"`
}

// expiredAt reports whether the binding's reported expiry has passed at t.
func (b *bindingRecord) expiredAt(t time.Time) bool { return !b.ExpiresAt.After(t) }

// persisted is the JSON document of the state file.
type persisted struct {
	// GlobalAccountID, SubaccountID and BrokerID identify the emulated account; they are
	// made once and kept.
	GlobalAccountID string           `json:"globalAccountId"`
	SubaccountID    string           `json:"subaccountId"`
	BrokerID        string           `json:"brokerId"`
	Environments    []*environment   `json:"environments"`
	Bindings        []*bindingRecord `json:"bindings"`
}

// store keeps the state in memory and writes it through to the state file on every change.
type store struct {
	path string
	mu   sync.Mutex
	data persisted
}

// openStore reads the state file in dir, or starts an empty state with fresh account ids.
func openStore(dir string) (*store, error) {
	s := &store{path: filepath.Join(dir, stateFile)}
	raw, err := os.ReadFile(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.data = persisted{GlobalAccountID: newUUID(), SubaccountID: newUUID(), BrokerID: newUUID()}
		return s, s.saveLocked()
	case err != nil:
		return nil, fmt.Errorf("read state: %w", err)
	}
	if err := json.Unmarshal(raw, &s.data); err != nil {
		return nil, fmt.Errorf("read state %s: %w", s.path, err)
	}
	return s, nil
}

// saveLocked writes the state file; the caller holds mu (or is the only user).
func (s *store) saveLocked() error {
	raw, err := json.MarshalIndent(s.data, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	return writeFileAtomic(s.path, raw, 0o600)
}

// update runs fn on the state under the lock and saves the result if fn succeeds.
func (s *store) update(fn func(d *persisted) error) error {
	return s.mutate(func(d *persisted) (bool, error) { return true, fn(d) })
}

// mutate runs fn on the state under the lock, so that a check and the change it allows
// are one step; the state is saved when fn reports a change and no error. fn must not
// change anything when it returns an error.
func (s *store) mutate(fn func(d *persisted) (changed bool, err error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed, err := fn(&s.data)
	if err != nil || !changed {
		return err
	}
	return s.saveLocked()
}

// view runs fn on the state under the lock, without saving.
func (s *store) view(fn func(d *persisted)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(&s.data)
}

// ids returns the account ids.
func (s *store) ids() (globalAccountID, subaccountID, brokerID string) {
	s.view(func(d *persisted) {
		globalAccountID, subaccountID, brokerID = d.GlobalAccountID, d.SubaccountID, d.BrokerID
	})
	return
}

// environment returns a copy of the environment with the id, or nil.
func (s *store) environment(id string) *environment {
	var out *environment
	s.view(func(d *persisted) {
		if e := d.findEnvironment(id); e != nil {
			c := *e
			out = &c
		}
	})
	return out
}

// environments returns copies of every environment, gone ones included, oldest first.
func (s *store) environments() []environment {
	var out []environment
	s.view(func(d *persisted) {
		for _, e := range d.Environments {
			out = append(out, *e)
		}
	})
	slices.SortStableFunc(out, func(a, b environment) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out
}

// bindings returns copies of the instance's bindings ("" for all), oldest first.
func (s *store) bindings(instanceID string) []bindingRecord {
	var out []bindingRecord
	s.view(func(d *persisted) {
		for _, b := range d.Bindings {
			if instanceID == "" || b.InstanceID == instanceID {
				out = append(out, *b)
			}
		}
	})
	slices.SortStableFunc(out, func(a, b bindingRecord) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out
}

// binding returns a copy of one binding of an instance, or nil.
func (s *store) binding(instanceID, bindingID string) *bindingRecord {
	var out *bindingRecord
	s.view(func(d *persisted) {
		if b := d.findBinding(instanceID, bindingID); b != nil {
			c := *b
			out = &c
		}
	})
	return out
}

func (d *persisted) findEnvironment(id string) *environment {
	for _, e := range d.Environments {
		if e.ID == id {
			return e
		}
	}
	return nil
}

func (d *persisted) findBinding(instanceID, bindingID string) *bindingRecord {
	for _, b := range d.Bindings {
		if b.InstanceID == instanceID && b.ID == bindingID {
			return b
		}
	}
	return nil
}

// removeBinding drops one binding; it reports whether there was one.
func (d *persisted) removeBinding(instanceID, bindingID string) bool {
	n := len(d.Bindings)
	d.Bindings = slices.DeleteFunc(d.Bindings, func(b *bindingRecord) bool {
		return b.InstanceID == instanceID && b.ID == bindingID
	})
	return len(d.Bindings) != n
}

// writeFileAtomic replaces path with data: a reader (or a crash) sees the old file or the
// new one, never half of one.
func writeFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
