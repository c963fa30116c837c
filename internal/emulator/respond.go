package emulator

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// writeJSON writes v as the JSON body of a response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// brokerapi and the CIS service do not escape <, > and & in strings; neither do we.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, "encode response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// cisError is the error body of the Provisioning Service API.
type cisError struct {
	Error cisErrorDetail `json:"error"`
}

type cisErrorDetail struct {
	Code          int    `json:"code"`
	Message       string `json:"message"`
	Target        string `json:"target"`
	CorrelationID string `json:"correlationID"`
}

// Error codes in the CIS error body. 41000 (an error passed on from the broker) and 11006
// (rate limit) are seen in real answers; the others follow the same numbering and are the
// emulator's own.
const (
	cisCodeBadRequest = 40000
	cisCodeRateLimit  = 11006
	cisCodeNotFound   = 40400
	cisCodeBroker     = 41000
	cisCodeInternal   = 50000
	cisCodeTimeout    = 50300
)

// writeCISError writes a Provisioning Service API error; the correlation id is echoed in
// the X-Correlationid header as the real service does.
func writeCISError(w http.ResponseWriter, r *http.Request, status, code int, msg string) {
	id := newUUID()
	w.Header().Set("X-Correlationid", id)
	writeJSON(w, status, cisError{Error: cisErrorDetail{Code: code, Message: msg, Target: r.URL.Path, CorrelationID: id}})
}

// osbError is brokerapi's ErrorResponse: {"error": key (omitted when empty), "description"}.
type osbError struct {
	Error       string `json:"error,omitempty"`
	Description string `json:"description"`
}

// newUUID returns a random (version 4) UUID in lowercase.
func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // never fails on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// newEnvironmentID returns an id for a new CIS environment: an uppercase UUID, as the
// Provisioning Service shows Kyma environment instance ids, so clients that lowercase or
// otherwise rewrite ids find out here.
func newEnvironmentID() string { return strings.ToUpper(newUUID()) }

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b)
}
