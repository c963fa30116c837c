package emulator

import (
	"net"
	"net/http"
	"sync/atomic"
)

// counters count events since the emulator started, for tests that must assert, say,
// that a command made exactly one new binding.
type counters struct {
	bindingsCreated atomic.Int64
	bindingRequests atomic.Int64
	tokensIssued    atomic.Int64
	faultedRequests atomic.Int64
	// oidcTokenRequests counts requests to the GitHub Actions token endpoint, refused
	// ones included; oidcTokensIssued the ID tokens it issued.
	oidcTokenRequests atomic.Int64
	oidcTokensIssued  atomic.Int64
}

// Stats is the body of GET /emulator/v1/stats.
type Stats struct {
	// BindingsCreated counts bindings made (by either API) since start.
	BindingsCreated int64 `json:"bindingsCreated"`
	// BindingRequests counts authenticated create-binding requests (by either API) since
	// start, refused ones included.
	BindingRequests int64 `json:"bindingRequests"`
	// LiveBindings is the number of bindings now made and not expired.
	LiveBindings int64 `json:"liveBindings"`
	// TokensIssued counts access tokens issued by the token endpoint since start.
	TokensIssued int64 `json:"tokensIssued"`
	// FaultedRequests counts requests that a fault rule (POST /emulator/v1/faults)
	// changed since start.
	FaultedRequests int64 `json:"faultedRequests"`
	// OIDCTokenRequests counts requests to the GitHub Actions token endpoint since start,
	// refused ones included.
	OIDCTokenRequests int64 `json:"oidcTokenRequests"`
	// OIDCTokensIssued counts the ID tokens that endpoint issued since start.
	OIDCTokensIssued int64 `json:"oidcTokensIssued"`
}

// handleStats serves GET /emulator/v1/stats to loopback clients only.
func (s *server) handleStats(w http.ResponseWriter, r *http.Request) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		http.Error(w, "the admin endpoint answers loopback clients only", http.StatusForbidden)
		return
	}
	now := s.opts.now()
	var live int64
	for _, b := range s.store.bindings("") {
		if b.Kubeconfig != "" && !b.expiredAt(now) {
			live++
		}
	}
	writeJSON(w, http.StatusOK, Stats{
		BindingsCreated:   s.stats.bindingsCreated.Load(),
		BindingRequests:   s.stats.bindingRequests.Load(),
		LiveBindings:      live,
		TokensIssued:      s.stats.tokensIssued.Load(),
		FaultedRequests:   s.stats.faultedRequests.Load(),
		OIDCTokenRequests: s.stats.oidcTokenRequests.Load(),
		OIDCTokensIssued:  s.stats.oidcTokensIssued.Load(),
	})
}
