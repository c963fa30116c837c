package redirect

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestClientDoesNotFollow(t *testing.T) {
	var reached bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true }))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/x", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()

	resp, err := Client(srv.Client()).Get(srv.URL + "/a")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	err = Check(resp)
	if reached || err == nil || !strings.Contains(err.Error(), "answered 307, a redirect to "+other.URL+"/x") {
		t.Errorf("followed: %v; Check = %v", reached, err)
	}
}
