package provisioning

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/internal/apiclient"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/retry"
)

// APIError is an answer of the Provisioning Service with an unexpected status. Its
// Error is one sentence with the service's own message; the correlation id, which
// SAP support asks for, is in CorrelationID for verbose output.
//
// It wraps the binding package's errors so callers can use errors.Is:
// ErrUnauthorized for 401, ErrNotFound for 404 and 410, and, from the message KEB
// passes through, ErrLimitReached ("maximum number of non expired bindings
// reached"), ErrNotReady ("instance ... creation is in progress" / "creation
// failed", and the 404 "Binding creation in progress", which is not ErrNotFound)
// and ErrExpired ("Binding expired").
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is the service's error code (e.g. "41000"), when given.
	Code string
	// Message is the service's error message, when given.
	Message string
	// Target is what the error is about, when given.
	Target string
	// CorrelationID identifies the request in SAP's logs.
	CorrelationID string
	// WWWAuthenticate is the header of a 401, the only place it says why.
	WWWAuthenticate string
	// RetryAfter is how long a 429 asks to wait (X-Ratelimit-Reset, epoch ms, or
	// Retry-After), on the service's clock (see retryAfter); zero when not said.
	RetryAfter time.Duration
	// NotJSON is set when the body was not JSON (an HTML page of a proxy, say).
	NotJSON bool

	kinds []error
}

// Error returns one sentence; it never quotes a raw body.
func (e *APIError) Error() string {
	status := apiclient.StatusLine(e.StatusCode)
	switch e.StatusCode {
	case http.StatusUnauthorized:
		return apiclient.Refused(service.Name, e.StatusCode, e.WWWAuthenticate, e.Message)
	case http.StatusForbidden:
		s := fmt.Sprintf("the Provisioning Service denied the request (%s)", status)
		if e.Message != "" {
			s += ": " + strings.TrimRight(e.Message, ".")
		}
		return s + "; check that the subaccount is entitled to the Kyma runtime and that the service key is a Cloud Management (cis) key allowed to make this call"
	case http.StatusTooManyRequests:
		s := fmt.Sprintf("the Provisioning Service is limiting the request rate (%s)", status)
		if e.RetryAfter > 0 {
			s += "; try again in " + e.RetryAfter.Round(time.Second).String()
		}
		return s
	}
	switch {
	case e.Message != "":
		return fmt.Sprintf("the Provisioning Service answered %s: %s", status, e.Message)
	case e.NotJSON:
		return fmt.Sprintf("the Provisioning Service answered %s with a body that is not JSON", status)
	default:
		return fmt.Sprintf("the Provisioning Service answered %s", status)
	}
}

// Unwrap returns the binding errors this answer stands for.
func (e *APIError) Unwrap() []error { return e.kinds }

// newAPIError reads the CIS error body {"error":{"code","message","target",
// "correlationID"}} and the headers that explain 401 and 429. It also takes the
// OSB shape {"error":"...","description":"..."} and a bare {"message":"..."}, as
// KEB's answers may pass through.
func newAPIError(resp *http.Response, body []byte) *APIError {
	e := &APIError{
		StatusCode:      resp.StatusCode,
		WWWAuthenticate: resp.Header.Get("WWW-Authenticate"),
		CorrelationID:   firstHeader(resp.Header, "X-Correlationid", "X-Correlation-Id", "X-Vcap-Request-Id"),
	}
	var b apiclient.ErrorBody
	b, e.NotJSON = apiclient.ParseErrorBody(body)
	var inner struct {
		Code          json.RawMessage `json:"code"`
		Message       string          `json:"message"`
		Description   string          `json:"description"`
		Target        string          `json:"target"`
		CorrelationID string          `json:"correlationID"`
	}
	var code string
	switch {
	case e.NotJSON:
	case json.Unmarshal(b.Error, &inner) == nil:
		e.Code = jsonScalar(inner.Code)
		e.Message = apiclient.FirstNonEmpty(inner.Message, inner.Description)
		e.Target = inner.Target
		if inner.CorrelationID != "" {
			e.CorrelationID = inner.CorrelationID
		}
	case json.Unmarshal(b.Error, &code) == nil:
		e.Code = code
	}
	if e.Message == "" {
		e.Message = b.Text()
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		e.RetryAfter = retryAfter(resp.Header, time.Now())
	}
	// The messages are KEB's (internal/broker/bind_create.go, bind_get.go), which
	// the Provisioning Service passes through; the status of that pass-through is
	// not documented, so the message decides wherever it is clear.
	e.kinds = binding.Classify(resp.StatusCode, e.Message, e.NotJSON)
	return e
}

// maxRetryAfter caps the wait a 429 asks for: a rate limit resets within seconds or
// minutes, so a longer one is a clock or a header gone wrong, and --wait checks again
// after this long rather than sleep out its whole timeout.
const maxRetryAfter = 10 * time.Minute

// retryAfter is the wait a 429 asks for (retry.ServerWait: on the service's clock),
// capped at maxRetryAfter.
func retryAfter(h http.Header, now time.Time) time.Duration {
	d, _ := retry.ServerWait(h, now)
	return min(d, maxRetryAfter)
}

// jsonScalar is a JSON number's text or a JSON string's value.
func jsonScalar(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

func firstHeader(h http.Header, names ...string) string {
	for _, n := range names {
		if v := h.Get(n); v != "" {
			return v
		}
	}
	return ""
}
