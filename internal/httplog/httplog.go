// Package httplog logs HTTP requests and responses to stderr at kubectl's -v levels,
// with every secret redacted: Authorization headers, client secrets, access tokens,
// binding tokens and whole kubeconfigs never reach the log.
//
//	-v 6: method, URL, status and duration
//	-v 7: also the request and response headers
//	-v 8: also the bodies (JSON fields that carry secrets replaced by "REDACTED")
package httplog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// New wraps base so it logs to w at level v; below 6 it returns base unchanged.
func New(base http.RoundTripper, w io.Writer, v int) http.RoundTripper {
	if v < 6 {
		return base
	}
	return &transport{base: base, w: w, v: v}
}

type transport struct {
	base http.RoundTripper
	w    io.Writer
	v    int
	mu   sync.Mutex
}

// secretKeys are JSON fields and form values whose values are never logged.
var secretKeys = map[string]bool{
	"access_token": true, "refresh_token": true, "id_token": true, "token": true,
	"client_secret": true, "clientsecret": true, "clientSecret": true,
	"kubeconfig": true, "password": true,
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	var lines []string
	if t.v >= 7 {
		lines = append(lines, headerLines("Request", req.Header)...)
	}
	if t.v >= 8 && req.Body != nil && req.GetBody != nil {
		if body, err := req.GetBody(); err == nil {
			data, _ := io.ReadAll(body)
			lines = append(lines, "Request Body: "+Redact(data))
		}
	}
	resp, err := t.base.RoundTrip(req)
	took := time.Since(start).Round(time.Millisecond)
	if err != nil {
		t.log(append([]string{fmt.Sprintf("%s %s failed after %s: %v", req.Method, req.URL.Redacted(), took, err)}, lines...))
		return nil, err
	}
	out := append([]string{fmt.Sprintf("%s %s %s in %s", req.Method, req.URL.Redacted(), resp.Status, took)}, lines...)
	if t.v >= 7 {
		out = append(out, headerLines("Response", resp.Header)...)
	}
	if t.v >= 8 && resp.Body != nil {
		data, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(data))
		if rerr == nil {
			out = append(out, "Response Body: "+Redact(data))
		}
	}
	t.log(out)
	return resp, nil
}

func (t *transport) log(lines []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, l := range lines {
		fmt.Fprintf(t.w, "I%s httplog: %s\n", time.Now().Format("0102 15:04:05.000000"), l)
	}
}

func headerLines(kind string, h http.Header) []string {
	var out []string
	for k, vs := range h {
		v := strings.Join(vs, ", ")
		if strings.EqualFold(k, "Authorization") || strings.EqualFold(k, "Cookie") || strings.EqualFold(k, "Set-Cookie") {
			v = "REDACTED"
		}
		out = append(out, fmt.Sprintf("%s Header: %s: %s", kind, k, v))
	}
	return out
}

// Redact returns a body fit for a log: JSON with secret fields replaced, a form with
// secret values replaced, anything else shortened and stripped of bearer tokens.
func Redact(data []byte) string {
	var v any
	if json.Unmarshal(data, &v) == nil {
		redactJSON(v)
		out, _ := json.Marshal(v)
		return string(out)
	}
	if form, err := url.ParseQuery(string(data)); err == nil && len(form) > 0 && !bytes.ContainsAny(data, " \n{") {
		for k := range form {
			if secretKeys[k] {
				form.Set(k, "REDACTED")
			}
		}
		return form.Encode()
	}
	if len(data) > 0 {
		return fmt.Sprintf("(%d bytes, not JSON: not logged)", len(data))
	}
	return ""
}

func redactJSON(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if secretKeys[k] {
				x[k] = "REDACTED"
				continue
			}
			redactJSON(val)
		}
	case []any:
		for _, val := range x {
			redactJSON(val)
		}
	}
}
