package actionstoken

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestFetchAsksWithAudienceAndBearerToken(t *testing.T) {
	var gotAuth, gotAud, gotVersion string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotAud, gotVersion = r.Header.Get("Authorization"), r.URL.Query().Get("audience"), r.URL.Query().Get("api-version")
		w.Write([]byte(`{"count":1,"value":"a.b.c"}`))
	}))
	defer srv.Close()
	tok, err := Fetcher{}.Fetch(context.Background(), srv.URL+"/idtoken?api-version=2.0", "req-token", "https://api.example:443")
	if err != nil {
		t.Fatal(err)
	}
	if tok != "a.b.c" {
		t.Errorf("token = %q, want a.b.c", tok)
	}
	if gotAuth != "bearer req-token" {
		t.Errorf("Authorization = %q, want bearer req-token", gotAuth)
	}
	if gotAud != "https://api.example:443" || gotVersion != "2.0" {
		t.Errorf("query audience=%q api-version=%q, want the audience added and the URL's own query kept", gotAud, gotVersion)
	}
}

func TestFetchWithoutAudienceSendsNone(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("audience") {
			t.Errorf("audience sent: %q", r.URL.RawQuery)
		}
		w.Write([]byte(`{"value":"a.b.c"}`))
	}))
	defer srv.Close()
	if _, err := (Fetcher{}).Fetch(context.Background(), srv.URL+"/x", "t", ""); err != nil {
		t.Fatal(err)
	}
}

func TestFetchRetriesServerErrorsOnly(t *testing.T) {
	for _, tc := range []struct {
		name      string
		status    int
		wantCalls int32
		wantErr   string
	}{
		{"503 is retried", 503, attempts, "503"},
		{"401 is not", 401, 1, "request token is not accepted"},
		{"400 is not", 400, 1, "400 Bad Request: bad audience"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.WriteHeader(tc.status)
				w.Write([]byte(`{"message":"bad audience"}`))
			}))
			defer srv.Close()
			_, err := Fetcher{Backoff: func(int) time.Duration { return 0 }}.Fetch(context.Background(), srv.URL+"/x", "secret-request-token", "aud")
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want one with %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "secret-request-token") {
				t.Errorf("the error shows the request token: %v", err)
			}
			if got := calls.Load(); got != tc.wantCalls {
				t.Errorf("%d requests, want %d", got, tc.wantCalls)
			}
		})
	}
}

func TestFetchRefusesAnAnswerWithoutValue(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"count":0}`))
	}))
	defer srv.Close()
	if _, err := (Fetcher{}).Fetch(context.Background(), srv.URL+"/x", "t", "a"); err == nil || !strings.Contains(err.Error(), `no "value"`) {
		t.Fatalf("error = %v, want no value", err)
	}
}

func TestFetchRefusesABadURL(t *testing.T) {
	if _, err := (Fetcher{}).Fetch(context.Background(), "not a url", "t", "a"); err == nil || !strings.Contains(err.Error(), "ACTIONS_ID_TOKEN_REQUEST_URL") {
		t.Fatalf("error = %v, want one naming the variable", err)
	}
}

func TestFetchFollowsNoRedirect(t *testing.T) {
	var leaked int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			atomic.AddInt32(&leaked, 1)
		}
		fmt.Fprint(w, `{"value":"x.y.z"}`)
	}))
	defer elsewhere.Close()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/steal", http.StatusFound)
	}))
	defer srv.Close()
	f := Fetcher{Client: srv.Client(), Backoff: func(int) time.Duration { return 0 }}
	if _, err := f.Fetch(context.Background(), srv.URL+"/token?api-version=2.0", "SECRET-RT", "a"); err == nil || !strings.Contains(err.Error(), "302") {
		t.Fatalf("error = %v, want the redirect answered as an error", err)
	}
	if n := atomic.LoadInt32(&leaked); n != 0 {
		t.Fatalf("the request token followed the redirect %d times", n)
	}
}

func TestFetchRefusesPlainHTTPToAnotherMachine(t *testing.T) {
	_, err := (Fetcher{}).Fetch(context.Background(), "http://pipelines.example/token?x=1", "SECRET-RT", "a")
	if err == nil || !strings.Contains(err.Error(), "https") || strings.Contains(err.Error(), "SECRET-RT") {
		t.Fatalf("error = %v, want plain http to another machine refused", err)
	}
}
