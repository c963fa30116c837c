package probe

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestToken(t *testing.T) {
	status := http.StatusCreated
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/apis/authentication.k8s.io/v1/selfsubjectreviews" || r.Header.Get("Authorization") != "Bearer tok" {
			t.Errorf("got %s %s with %q", r.Method, r.URL.Path, r.Header.Get("Authorization"))
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	for _, tc := range []struct {
		status   int
		accepted bool
		err      bool
	}{
		{http.StatusCreated, true, false},
		{http.StatusForbidden, true, false}, // authenticated, only not allowed
		{http.StatusUnauthorized, false, false},
		{http.StatusServiceUnavailable, false, true},
	} {
		status = tc.status
		ok, err := Token(context.Background(), srv.URL+"/", ca, "tok")
		if ok != tc.accepted || (err != nil) != tc.err {
			t.Errorf("answer %d: accepted %v, err %v", tc.status, ok, err)
		}
	}
	if _, err := Token(context.Background(), srv.URL, nil, "tok"); err == nil {
		t.Error("a server the system roots do not trust was asked anyway")
	}
}

// A redirect from the cluster is not followed: the token goes to no other URL, and the
// answer says nothing about the token.
func TestTokenRefusesRedirects(t *testing.T) {
	var followed string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			followed = r.Header.Get("Authorization")
			w.WriteHeader(http.StatusCreated)
			return
		}
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	ok, err := Token(context.Background(), srv.URL, ca, "tok")
	if ok || err == nil || followed != "" {
		t.Errorf("accepted %v, err %v, the redirect target got %q; want no answer and no request", ok, err, followed)
	}
}
