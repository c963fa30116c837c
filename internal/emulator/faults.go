package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault is one rule of fault injection, for tests of how clients live with a failing
// service. A loopback client adds one with POST /emulator/v1/faults; it changes the
// next Count requests that match Route, then it is gone:
//
//	POST /emulator/v1/faults
//	{"route": "PUT /provisioning/v1/environments/{id}/bindings", "count": 2,
//	 "status": 503, "retryAfter": "1"}
//	-> 201 the rule as stored
//
//	GET /emulator/v1/faults    -> 200 {"faults": [the rules, with the requests each still changes]}
//	DELETE /emulator/v1/faults -> 204, every rule dropped
//
// What a rule does, in this order: wait Delay; Drop the connection without an answer;
// answer Status with an error body in the shape of the API the route belongs to (and,
// for 429, Retry-After and X-Ratelimit-Reset), or else let the emulator answer, leaving
// out the field Omit names; replace the body with an HTML page (NotJSON), as a proxy in
// front of the service would; send half of the body and cut the connection (Truncate). A rule with only a Delay slows
// requests down and changes nothing else. A request is changed by the oldest rule
// that matches it; requests under /emulator/ never are. GET /emulator/v1/stats counts
// the requests that rules changed (faultedRequests).
type Fault struct {
	// Route picks the requests, as a net/http.ServeMux pattern: "METHOD /path/{id}"
	// matches one route, "/provisioning/" every path under it.
	Route string `json:"route"`
	// Count is how many matching requests the rule changes; zero means one.
	Count int `json:"count,omitempty"`
	// Status, when set, is answered instead of the emulator's own answer.
	Status int `json:"status,omitempty"`
	// Message is the error message of a Status answer; the default names the status
	// and says the fault is injected.
	Message string `json:"message,omitempty"`
	// RetryAfter is sent as Retry-After with a Status answer (seconds or an HTTP
	// date); a 429 gets "1" when it is empty, and X-Ratelimit-Reset too.
	RetryAfter string `json:"retryAfter,omitempty"`
	// NoRateHeaders sends a 429 without Retry-After and X-Ratelimit-Reset, as the
	// Provisioning Service has been seen to answer (error code 11006, nothing else to
	// go by).
	NoRateHeaders bool `json:"noRateHeaders,omitempty"`
	// EmptyBody sends a Status answer without a body, as the Provisioning Service's
	// spec documents its 429 (only X-Ratelimit-Reset).
	EmptyBody bool `json:"emptyBody,omitempty"`
	// ResetOnly sends a 429's wait as X-Ratelimit-Reset alone, without Retry-After,
	// as the Provisioning Service's spec documents it: a time on the service's clock,
	// which --date-skew moves with its Date.
	ResetOnly bool `json:"resetOnly,omitempty"`
	// Delay is waited before anything else (a Go duration: "2s").
	Delay string `json:"delay,omitempty"`
	// Drop closes the connection without an answer. HTTP/2 cannot hand a connection
	// over, so there the request's stream is reset instead: to the client, either is a
	// request that got no answer.
	Drop bool `json:"drop,omitempty"`
	// Truncate sends the headers, with the whole body's Content-Length, and half the
	// body, then cuts the connection (HTTP/2: resets the stream).
	Truncate bool `json:"truncate,omitempty"`
	// NotJSON replaces the body with an HTML error page of a proxy.
	NotJSON bool `json:"notJSON,omitempty"`
	// Omit names a top-level field that the emulator's own JSON answer leaves out, as
	// a service that sends less than expected would: {"omit": "credentials"} on the
	// bind route answers 202 with the Location but no kubeconfig, as SAP's procedure
	// (which fetches it with a GET) allows. The binding is made all the same.
	Omit string `json:"omit,omitempty"`

	match *http.ServeMux
	delay time.Duration
}

// faultRules are the rules in force, oldest first.
type faultRules struct {
	mu    sync.Mutex
	rules []*Fault
}

// validate checks f and fills in its defaults and parsed fields.
func (f *Fault) validate() error {
	if f.Count < 0 {
		return errors.New("count must not be negative")
	}
	if f.Count == 0 {
		f.Count = 1
	}
	if f.Status != 0 && (f.Status < 400 || f.Status > 599) {
		return fmt.Errorf("status %d is not an error status (400 to 599)", f.Status)
	}
	if f.Drop && (f.Status != 0 || f.Truncate || f.NotJSON || f.Omit != "") {
		return errors.New("drop sends no answer: it goes with nothing but delay")
	}
	if f.EmptyBody && f.Status == 0 {
		return errors.New("emptyBody goes with status")
	}
	if f.Omit != "" && f.Status != 0 {
		return errors.New("omit changes the emulator's own answer: it does not go with status")
	}
	if f.Delay != "" {
		d, err := time.ParseDuration(f.Delay)
		if err != nil || d < 0 {
			return fmt.Errorf("delay %q is not a duration such as 2s", f.Delay)
		}
		f.delay = d
	}
	if f.Status == 0 && !f.Drop && !f.Truncate && !f.NotJSON && f.Omit == "" && f.delay == 0 {
		return errors.New("the rule changes nothing: give status, delay, drop, truncate, notJSON or omit")
	}
	m, err := routeMatcher(f.Route)
	if err != nil {
		return err
	}
	f.match = m
	return nil
}

// routeMatcher returns a ServeMux that knows only pattern, to ask whether a request
// matches it. ServeMux reports a bad pattern by panicking.
func routeMatcher(pattern string) (m *http.ServeMux, err error) {
	if strings.TrimSpace(pattern) == "" {
		return nil, errors.New("route is required, e.g. \"GET /provisioning/v1/environments\" or \"/provisioning/\"")
	}
	defer func() {
		if p := recover(); p != nil {
			m, err = nil, fmt.Errorf("route %q is not a net/http.ServeMux pattern: %v", pattern, p)
		}
	}()
	m = http.NewServeMux()
	m.Handle(pattern, http.NotFoundHandler())
	return m, nil
}

// take returns a copy of the first rule that matches r and uses up one of its
// requests, or nil.
func (fr *faultRules) take(r *http.Request) *Fault {
	fr.mu.Lock()
	defer fr.mu.Unlock()
	for i, f := range fr.rules {
		if _, pattern := f.match.Handler(r); pattern == "" {
			continue
		}
		f.Count--
		if f.Count == 0 {
			fr.rules = append(fr.rules[:i:i], fr.rules[i+1:]...)
		}
		c := *f
		return &c
	}
	return nil
}

// injectFaults applies the first matching rule to each request before next sees it.
func (s *server) injectFaults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/emulator/") {
			next.ServeHTTP(w, r)
			return
		}
		f := s.faults.take(r)
		if f == nil {
			next.ServeHTTP(w, r)
			return
		}
		s.stats.faultedRequests.Add(1)
		s.log.Info("fault injected", "method", r.Method, "path", r.URL.Path, "route", f.Route,
			"status", f.Status, "delay", f.delay, "drop", f.Drop, "truncate", f.Truncate, "notJSON", f.NotJSON, "omit", f.Omit)
		if f.delay > 0 {
			t := time.NewTimer(f.delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		switch {
		case f.Drop:
			cut(w)
			return
		case f.Status == 0 && !f.Truncate && !f.NotJSON && f.Omit == "":
			next.ServeHTTP(w, r) // a delay only
			return
		}
		ans := &recorder{header: http.Header{}, status: http.StatusOK}
		if f.Status != 0 {
			s.writeFault(ans, r, f)
		} else {
			next.ServeHTTP(ans, r)
		}
		if f.Omit != "" {
			omitField(&ans.body, f.Omit)
		}
		if f.NotJSON {
			ans.header.Set("Content-Type", "text/html; charset=utf-8")
			ans.body.Reset()
			fmt.Fprintf(&ans.body, "<html><head><title>%d %s</title></head><body><h1>%[1]d %[2]s</h1><p>The proxy in front of the service could not answer (kyma-emulator fault injection).</p></body></html>\n",
				ans.status, http.StatusText(ans.status))
		}
		for k, v := range ans.header {
			w.Header()[k] = v
		}
		body := ans.body.Bytes()
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(ans.status)
		if !f.Truncate {
			_, _ = w.Write(body)
			return
		}
		_, _ = w.Write(body[:len(body)/2])
		_ = http.NewResponseController(w).Flush()
		cut(w)
	})
}

// writeFault answers f.Status with an error body shaped as the route's API answers
// errors: the UAA's, KEB's (OSB) or the Provisioning Service's.
func (s *server) writeFault(w http.ResponseWriter, r *http.Request, f *Fault) {
	msg := f.Message
	if msg == "" {
		msg = http.StatusText(f.Status) + " (fault injected by kyma-emulator)"
	}
	retryAfter := f.RetryAfter
	if retryAfter == "" && f.Status == http.StatusTooManyRequests && !f.NoRateHeaders {
		retryAfter = "1"
	}
	if retryAfter != "" {
		if !f.ResetOnly || f.Status != http.StatusTooManyRequests {
			w.Header().Set("Retry-After", retryAfter)
		}
		if secs, err := strconv.Atoi(retryAfter); err == nil && f.Status == http.StatusTooManyRequests {
			// The Provisioning Service's own rate-limit header, in epoch milliseconds,
			// on the clock its Date header tells (DateSkew moves both).
			reset := s.opts.now().Add(s.opts.DateSkew).Add(time.Duration(secs) * time.Second)
			w.Header().Set("X-Ratelimit-Reset", strconv.FormatInt(reset.UnixMilli(), 10))
		}
	}
	switch p := r.URL.Path; {
	case f.EmptyBody:
		w.WriteHeader(f.Status)
	case p == "/oauth/token":
		writeJSON(w, f.Status, map[string]string{"error": "server_error", "error_description": msg})
	case strings.HasPrefix(p, "/oauth/"):
		writeJSON(w, f.Status, osbError{Description: msg})
	case strings.HasPrefix(p, "/provisioning/") && f.Status == http.StatusTooManyRequests:
		// The Provisioning Service's code for a rate limit (SAP/terraform-provider-btp,
		// internal/btpcli/client.go).
		writeCISError(w, r, f.Status, cisCodeRateLimit, msg)
	case strings.HasPrefix(p, "/provisioning/"):
		writeCISError(w, r, f.Status, f.Status*100, msg)
	default:
		http.Error(w, msg, f.Status)
	}
}

// omitField drops a top-level field from a JSON object body; any other body is left
// as it is.
func omitField(body *bytes.Buffer, field string) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(body.Bytes(), &obj) != nil || obj == nil {
		return
	}
	delete(obj, field)
	raw, err := json.Marshal(obj)
	if err != nil {
		return
	}
	body.Reset()
	body.Write(raw)
	body.WriteByte('\n')
}

// cut ends the exchange without (the rest of) an answer: over HTTP/1.1 it closes the
// connection; HTTP/2 cannot hand its connection over, so there the panic makes the
// server reset the request's stream. Either way the client's request fails as on a
// dropped connection.
func cut(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		_ = conn.Close()
		return
	}
	panic(http.ErrAbortHandler)
}

// recorder keeps an answer so a rule can change it before it is sent.
type recorder struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.wrote = true
	return r.body.Write(p)
}

// handleFaults serves the admin endpoint /emulator/v1/faults to loopback clients.
func (s *server) handleFaults(w http.ResponseWriter, r *http.Request) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		http.Error(w, "the admin endpoint answers loopback clients only", http.StatusForbidden)
		return
	}
	fr := &s.faults
	switch r.Method {
	case http.MethodPost:
		var f Fault
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			http.Error(w, "the body is not a fault rule: "+err.Error(), http.StatusBadRequest)
			return
		}
		if err := f.validate(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		stored := f // take changes the stored rule's Count; f is answered as given
		fr.mu.Lock()
		fr.rules = append(fr.rules, &stored)
		fr.mu.Unlock()
		writeJSON(w, http.StatusCreated, f)
	case http.MethodGet:
		fr.mu.Lock()
		list := make([]Fault, 0, len(fr.rules))
		for _, f := range fr.rules {
			list = append(list, *f)
		}
		fr.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string][]Fault{"faults": list})
	default: // DELETE
		fr.mu.Lock()
		fr.rules = nil
		fr.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}
}
