package provisioning

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Values of the create request and of Environment.EnvironmentType for Kyma.
const (
	EnvironmentTypeKyma = "kyma"
	ServiceNameKyma     = "kymaruntime"
)

// Environment states (Environment.State).
const (
	StateCreating       = "CREATING"
	StateUpdating       = "UPDATING"
	StateDeleting       = "DELETING"
	StateOK             = "OK"
	StateCreationFailed = "CREATION_FAILED"
	StateDeletionFailed = "DELETION_FAILED"
	StateUpdateFailed   = "UPDATE_FAILED"
)

// Environment is an environment instance as the service describes it.
//
// Raw holds the service's JSON exactly as it came, unknown fields included, and
// MarshalJSON writes Raw when it is set: `-o json` shows everything the service
// said, not only the fields this client knows. Changing a field of a decoded
// Environment therefore does not change its JSON.
type Environment struct {
	ID                string `json:"id"`
	Name              string `json:"name,omitempty"`
	BrokerID          string `json:"brokerId,omitempty"`
	GlobalAccountGUID string `json:"globalAccountGUID,omitempty"`
	SubaccountGUID    string `json:"subaccountGUID,omitempty"`
	TenantID          string `json:"tenantId,omitempty"`
	ServiceID         string `json:"serviceId,omitempty"`
	PlanID            string `json:"planId,omitempty"`
	ServiceName       string `json:"serviceName,omitempty"`
	PlanName          string `json:"planName,omitempty"`
	EnvironmentType   string `json:"environmentType,omitempty"`
	// Operation is "provision" or "deprovision".
	Operation string `json:"operation,omitempty"`
	// Type is "Provision", "Update" or "Deprovision".
	Type string `json:"type,omitempty"`
	// Status is "Processing" or "Processed".
	Status string `json:"status,omitempty"`
	// State is one of the State* constants.
	State        string `json:"state,omitempty"`
	StateMessage string `json:"stateMessage,omitempty"`
	// Parameters are the create parameters (name, region, ...); the service sends
	// them as a string holding JSON.
	Parameters Object `json:"parameters,omitempty"`
	// Labels are the service's labels; for Kyma "Name" and, once the cluster exists,
	// "KubeconfigURL" and "APIServerURL". Also sent as a string holding JSON.
	Labels         Object `json:"labels,omitempty"`
	CustomLabels   Object `json:"customLabels,omitempty"`
	DashboardURL   string `json:"dashboardUrl,omitempty"`
	LandscapeLabel string `json:"landscapeLabel,omitempty"`
	PlatformID     string `json:"platformId,omitempty"`
	CreatedDate    Time   `json:"createdDate,omitzero"`
	ModifiedDate   Time   `json:"modifiedDate,omitzero"`

	// Raw is the service's JSON for this instance.
	Raw json.RawMessage `json:"-"`
}

// environmentFields has Environment's fields without its methods, so that
// (Un)MarshalJSON can use the default encoding without recursing.
type environmentFields Environment

// UnmarshalJSON decodes the known fields and keeps the whole text in Raw.
func (e *Environment) UnmarshalJSON(b []byte) error {
	var f environmentFields
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*e = Environment(f)
	e.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// MarshalJSON writes Raw when set, the known fields otherwise.
func (e Environment) MarshalJSON() ([]byte, error) {
	if len(e.Raw) > 0 {
		return e.Raw, nil
	}
	return json.Marshal(environmentFields(e))
}

// Ready reports whether the environment exists and can be bound (state OK).
func (e *Environment) Ready() bool { return e.State == StateOK }

// Failed reports whether the last operation on the environment failed.
func (e *Environment) Failed() bool { return strings.HasSuffix(e.State, "_FAILED") }

// DisplayName is the name a user gave the environment: the instance name, else the
// "name" parameter, else the "Name" label.
func (e *Environment) DisplayName() string {
	for _, n := range []string{e.Name, e.Parameters.String("name"), e.Labels.String("Name")} {
		if n != "" {
			return n
		}
	}
	return ""
}

// APIServerURL is the Kyma cluster's API server from the labels, once known.
func (e *Environment) APIServerURL() string { return e.Labels.String("APIServerURL") }

// AvailableEnvironment is one environment the subaccount is entitled to create.
// Like Environment, it keeps the service's JSON in Raw and writes it back.
type AvailableEnvironment struct {
	EnvironmentType   string `json:"environmentType"`
	ServiceName       string `json:"serviceName"`
	PlanName          string `json:"planName"`
	Description       string `json:"description,omitempty"`
	PlanUpdatable     bool   `json:"planUpdatable"`
	AvailabilityLevel string `json:"availabilityLevel,omitempty"`
	// CreateSchema and UpdateSchema are JSON schemas of the parameters; the service
	// sends them as strings holding JSON.
	CreateSchema Object `json:"createSchema,omitempty"`
	UpdateSchema Object `json:"updateSchema,omitempty"`

	// Raw is the service's JSON for this entry.
	Raw json.RawMessage `json:"-"`
}

type availableFields AvailableEnvironment

// UnmarshalJSON decodes the known fields and keeps the whole text in Raw.
func (a *AvailableEnvironment) UnmarshalJSON(b []byte) error {
	var f availableFields
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*a = AvailableEnvironment(f)
	a.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// MarshalJSON writes Raw when set, the known fields otherwise.
func (a AvailableEnvironment) MarshalJSON() ([]byte, error) {
	if len(a.Raw) > 0 {
		return a.Raw, nil
	}
	return json.Marshal(availableFields(a))
}

// CreateEnvironmentRequest is the body of POST /provisioning/v1/environments.
type CreateEnvironmentRequest struct {
	// EnvironmentType defaults to "kyma".
	EnvironmentType string `json:"environmentType"`
	// ServiceName defaults to "kymaruntime".
	ServiceName string `json:"serviceName"`
	// PlanName is the Kyma plan: aws, azure, gcp, trial, ...
	PlanName string `json:"planName"`
	// Name names the instance in the cockpit.
	Name string `json:"name,omitempty"`
	// User is the e-mail of the user who becomes the cluster's administrator.
	User string `json:"user,omitempty"`
	// Parameters are the plan's create parameters; Kyma needs "name" and "region".
	Parameters     map[string]any `json:"parameters,omitempty"`
	LandscapeLabel string         `json:"landscapeLabel,omitempty"`
	Origin         string         `json:"origin,omitempty"`
}

// UpdateEnvironmentRequest is the body of PATCH /provisioning/v1/environments/{id}.
type UpdateEnvironmentRequest struct {
	// PlanName is required: the current plan, or the one to move to.
	PlanName string `json:"planName"`
	// Parameters are merged into the environment's parameters.
	Parameters map[string]any `json:"parameters,omitempty"`
}

// Time is a point in time that the service sends as epoch milliseconds (a number,
// although its OpenAPI spec says date-time) or, in places no source settles, as RFC
// 3339 text. A number below 1e11 is taken as seconds: no millisecond timestamp is
// that small after 1973. Null, "" and text that is no date decode to the zero Time
// (the original stays in the owner's Raw). It encodes as epoch milliseconds.
type Time struct {
	time.Time
}

// UnmarshalJSON accepts a number, a string holding a number or an RFC 3339 date,
// and null.
func (t *Time) UnmarshalJSON(b []byte) error {
	*t = Time{}
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	s := string(b)
	if b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return nil
		}
		if d, err := time.Parse(time.RFC3339Nano, s); err == nil {
			t.Time = d
			return nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		if b[0] == '"' {
			return nil // text that is no date: lenient, see the type's comment
		}
		return fmt.Errorf("time %s is neither a number nor a date", b)
	}
	if math.Abs(f) < 1e11 {
		f *= 1000
	}
	t.Time = time.UnixMilli(int64(f)).UTC()
	return nil
}

// MarshalJSON writes epoch milliseconds, or null for the zero Time.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return strconv.AppendInt(nil, t.UnixMilli(), 10), nil
}

// Object is a JSON object that the service sends either as an object or as a
// string holding the object's JSON ("{\"name\":\"my-kyma\"}"), as it does for
// parameters and labels. Anything else (a string that is not an object, an array)
// decodes to nil rather than failing the whole answer; the owner's Raw keeps it.
type Object map[string]any

// UnmarshalJSON accepts an object, a string holding one, and null.
func (o *Object) UnmarshalJSON(b []byte) error {
	*o = nil
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = bytes.TrimSpace([]byte(s))
	}
	if len(b) == 0 || b[0] != '{' {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil // a string that is not JSON: lenient, see the type's comment
	}
	*o = m
	return nil
}

// String returns the value at key: itself when a string, its JSON otherwise, ""
// when absent.
func (o Object) String(key string) string {
	v, ok := o[key]
	if !ok || v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}
