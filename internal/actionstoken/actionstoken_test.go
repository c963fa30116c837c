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
		{"401 is not", 401, 1, "does not take the request token"},
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

// TestFetchSaysWhatIsWrongInOneSentence: a slow or lying token service gets one
// sentence each, within the deadline, with no secret in it: neither the request token,
// nor a token the answer held, nor the request URL (it names the job).
func TestFetchSaysWhatIsWrongInOneSentence(t *testing.T) {
	const requestToken = "SECRET-REQUEST-TOKEN"
	const idToken = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
	hang := make(chan struct{})
	defer close(hang)
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    string
		calls   int32
	}{
		{"500", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, `{"message":"boom"}`, http.StatusInternalServerError)
		}, "answered 500 Internal Server Error: boom (3 tries)", attempts},
		{"401", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
		}, "401 Unauthorized: it does not take the request token", 1},
		{"403, no id-token permission", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusForbidden)
		}, "the job needs `permissions: id-token: write`", 1},
		{"a message that echoes the request token", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"message":"bad token %s"}`, requestToken)
		}, "answered 400 Bad Request", 1},
		{"not JSON", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html>sign in</html>")
		}, `is not a JSON object (Content-Type "text/html")`, 1},
		{"no value", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"count":0}`)
		}, `has no "value" with a token`, 1},
		{"empty value", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"value":"  "}`)
		}, `has no "value" with a token`, 1},
		{"value not a string", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"value":{"token":%q}}`, idToken)
		}, `has no "value" with a token`, 1},
		{"too large", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"value":%q,"pad":"%s"}`, idToken, strings.Repeat("x", maxBody))
		}, "larger than 64 KiB", 1},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://elsewhere.example/?t="+idToken, http.StatusTemporaryRedirect)
		}, "307 Temporary Redirect, a redirect, which is not followed", 1},
		{"hang", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		}, "did not answer within 300ms", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				tc.handler(w, r)
			}))
			defer srv.Close()
			requestURL := srv.URL + "/idtoken?api-version=2.0&job=JOB-ID-123"
			start := time.Now()
			_, err := Fetcher{Backoff: func(int) time.Duration { return 0 }, Deadline: 300 * time.Millisecond}.Fetch(context.Background(), requestURL, requestToken, "https://api.example")
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("the fetch took %s, past its deadline", took)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one with %q", err, tc.want)
			}
			msg := err.Error()
			for _, secret := range []string{requestToken, idToken, "eyJ", "JOB-ID-123", srv.URL} {
				if strings.Contains(msg, secret) {
					t.Errorf("the error shows %q: %s", secret, msg)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("the error is more than one line: %q", msg)
			}
			if got := calls.Load(); got != tc.calls {
				t.Errorf("%d requests, want %d", got, tc.calls)
			}
		})
	}
}

// The fetch speaks HTTP/1.1 even to a server that offers HTTP/2: Go's HTTP/2 client
// prints the Authorization header and the answer's head when GODEBUG=http2debug=2,
// which a kubeconfig's env: can set.
func TestFetchSpeaksHTTP1Only(t *testing.T) {
	var proto atomic.Value
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proto.Store(r.Proto)
		w.Write([]byte(`{"value":"a.b.c"}`))
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	// Only the roots are the test server's: the rest of the client's TLS config (its
	// ALPN protocols, which a clone of Go's default transport fills with h2) stays as
	// the fetch makes it.
	trusting := func(c *http.Client) *http.Client {
		tr := c.Transport.(*http.Transport)
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
			tr.TLSClientConfig.NextProtos = nil
		}
		tr.TLSClientConfig.RootCAs = srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
		return c
	}
	// The same server and roots with Go's default protocols: HTTP/2, so the test can fail.
	def := trusting(&http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()})
	if _, err := (Fetcher{Client: def}).Fetch(context.Background(), srv.URL+"/x", "t", ""); err != nil || proto.Load() != "HTTP/2.0" {
		t.Fatalf("the default transport: %v, proto %v: want HTTP/2.0 (the server offers it)", err, proto.Load())
	}
	if _, err := (Fetcher{Client: trusting(newClient())}).Fetch(context.Background(), srv.URL+"/x", "t", ""); err != nil || proto.Load() != "HTTP/1.1" {
		t.Errorf("the fetch's client: %v, proto %v: want HTTP/1.1", err, proto.Load())
	}
}
