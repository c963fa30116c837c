// Package broker is a typed client of the Kyma Environment Broker (KEB): its Open
// Service Broker API 2.14 (https://github.com/openservicebrokerapi/servicebroker/blob/v2.14/spec.md)
// for bindings and for provisioning. It is for
// operators who talk to KEB directly; users of SAP BTP go through package
// provisioning instead.
//
// The base URL is KEB's OAuth-protected OSB prefix, https://<host>/oauth (default
// region) or https://<host>/oauth/<region> (e.g. /oauth/cf-eu10). The *http.Client
// must add KEB's bearer token (see auth.NewHTTPClient); every request also sends
// X-Broker-API-Version: 2.14, without which KEB answers 412.
//
// Wire format of a binding, as KEB answers (see DESIGN.md for the full table):
//
//	PUT /oauth/v2/service_instances/{iid}/service_bindings/{bid}
//	{"service_id":"47c9dcbf-ff30-448e-ab36-d3bad66ba281","plan_id":"361c511f-f939-4621-b228-d0fb79a1fe15",
//	 "parameters":{"expiration_seconds":3600}}
//	-> 201 {"credentials":{"kubeconfig":"\n---\napiVersion: v1\n..."},
//	        "metadata":{"expires_at":"2026-11-23T10:00:37.0Z"}}
//	   (200 with the same body for the same PUT again; 409 for the same id with
//	   other parameters)
//
//	GET  .../service_bindings/{bid}  -> 200 {"credentials":{"kubeconfig":"..."}}  (no expiry)
//	DELETE .../service_bindings/{bid}?service_id=...&plan_id=...  -> 200 {}  (410 {} when gone)
//
//	errors -> {"error":"BindingNotSupported","description":"binding is not supported"}
//	          ("error" is often absent; 412 spells it "Description")
//
// Binding ids are chosen by the client. KEB names a ServiceAccount, ClusterRole and
// ClusterRoleBinding "kyma-binding-{bid}", so an id must be a lowercase RFC 1123
// name (KEB answers 500 otherwise and the id stays stuck), and an expired binding's
// id is refused until KEB's cleanup job drops it: every Create uses a fresh UUID v4.
package broker

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/kubectl-kyma/kubectl-kyma/internal/apiclient"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
)

// APIVersion is the OSB API version sent in X-Broker-API-Version.
const APIVersion = "2.14"

// KEB's service and plan ids (kyma-environment-broker internal/broker/broker.go and
// plans.go).
const (
	KymaServiceID = "47c9dcbf-ff30-448e-ab36-d3bad66ba281"
	// AWSPlanID is the plan KEB allows bindings for by default.
	AWSPlanID   = "361c511f-f939-4621-b228-d0fb79a1fe15"
	AzurePlanID = "4deee563-e5ec-4731-b9b1-53b42d855f0c"
	GCPPlanID   = "ca6e5357-707f-4565-bbbd-b3ab732597c6"
	TrialPlanID = "7d55d31d-35ae-4438-bf13-6ffdfa107d9f"
)

// Client calls one KEB. Its methods are safe for concurrent use.
//
// The embedded apiclient.Client holds the UserAgent and the Clock, which tells the
// time for the expiry estimate of a binding whose answer says nothing about expiry.
type Client struct {
	*apiclient.Client
}

// service is what the HTTP core needs to know of KEB.
var service = apiclient.Service{
	Name:    "the Kyma Environment Broker",
	URLName: "broker URL",
	Header:  http.Header{"X-Broker-Api-Version": {APIVersion}}, // X-Broker-API-Version, in canonical form
	Error:   func(resp *http.Response, body []byte) error { return newAPIError(resp, body) },
}

// New returns a client of the KEB whose OSB prefix is baseURL
// (https://<host>/oauth or https://<host>/oauth/<region>). httpClient must add the
// bearer token; nil means http.DefaultClient (for tests).
func New(baseURL string, httpClient *http.Client) *Client {
	return &Client{apiclient.New(baseURL, httpClient, service)}
}

// APIError is an answer of KEB with an unexpected status. Its Error is one sentence
// with KEB's description. It wraps the binding package's errors for errors.Is:
// ErrUnauthorized (401); ErrNotFound (404 with a JSON body: unknown instance or
// binding; 410 Gone: the binding or instance no longer exists); ErrExpired
// ("Binding expired", a 404 of GET, which also wraps ErrNotFound); ErrLimitReached
// ("maximum number of non expired bindings reached"); ErrNotReady ("instance ...
// creation is in progress" / "creation failed", and GET's 404 "Binding creation in
// progress", which is not ErrNotFound).
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// ErrorCode is the OSB "error" field (BindingNotSupported, AsyncRequired,
	// ConcurrencyError, ...), when given.
	ErrorCode string
	// Description is KEB's description, when given.
	Description string
	// WWWAuthenticate is the header of a 401.
	WWWAuthenticate string
	// NotJSON is set when the body was not JSON: KEB's router answers a path outside
	// /oauth with a plain-text 404.
	NotJSON bool

	kinds []error
}

// Error returns one sentence; it never quotes a raw body.
func (e *APIError) Error() string {
	status := apiclient.StatusLine(e.StatusCode)
	switch {
	case e.StatusCode == http.StatusUnauthorized:
		return apiclient.Refused(service.Name, e.StatusCode, e.WWWAuthenticate, e.Description)
	case e.StatusCode == http.StatusNotFound && e.NotJSON:
		return fmt.Sprintf("the Kyma Environment Broker answered %s with a body that is not JSON; check that the broker URL ends in /oauth or /oauth/<region>", status)
	case e.ErrorCode == "BindingNotSupported":
		return fmt.Sprintf("the Kyma Environment Broker answered %s: %s (the instance's plan does not allow bindings)", status, apiclient.FirstNonEmpty(e.Description, "binding is not supported"))
	case e.Description != "":
		return fmt.Sprintf("the Kyma Environment Broker answered %s: %s", status, e.Description)
	case e.NotJSON:
		return fmt.Sprintf("the Kyma Environment Broker answered %s with a body that is not JSON", status)
	case e.ErrorCode != "":
		return fmt.Sprintf("the Kyma Environment Broker answered %s: %s", status, e.ErrorCode)
	default:
		return fmt.Sprintf("the Kyma Environment Broker answered %s", status)
	}
}

// Unwrap returns the binding errors this answer stands for.
func (e *APIError) Unwrap() []error { return e.kinds }

// newAPIError reads the OSB error body {"error","description"}.
func newAPIError(resp *http.Response, body []byte) *APIError {
	e := &APIError{StatusCode: resp.StatusCode, WWWAuthenticate: resp.Header.Get("WWW-Authenticate")}
	var b apiclient.ErrorBody
	b, e.NotJSON = apiclient.ParseErrorBody(body)
	var code string
	if json.Unmarshal(b.Error, &code) == nil {
		e.ErrorCode = code
	}
	e.Description = b.Text()
	// KEB's messages (internal/broker/bind_create.go, bind_get.go, bind_delete.go).
	e.kinds = binding.Classify(e.StatusCode, e.Description, e.NotJSON)
	return e
}

// NewBindingID returns a fresh binding id: a lowercase UUID v4 from crypto/rand. A
// UUID is a valid Kubernetes name, and a fresh one never collides with an expired
// binding that KEB has not cleaned up yet.
func NewBindingID() string {
	var b [16]byte
	rand.Read(b[:])         // never fails (crypto/rand, Go 1.24+)
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// validBindingID reports whether id can name KEB's "kyma-binding-{id}" objects: a
// lowercase RFC 1123 label of at most 63 characters including that prefix. KEB
// answers 500 to any other id and then keeps it stuck until deleted, so the client
// refuses it first.
func validBindingID(id string) bool {
	if id == "" || len("kyma-binding-")+len(id) > 63 {
		return false
	}
	for i := 0; i < len(id); i++ {
		ch := id[i]
		alnum := ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9'
		if !alnum && (ch != '-' || i == 0 || i == len(id)-1) {
			return false
		}
	}
	return true
}
