package apiclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
)

// statusError is a client's own error type, as Service.Error makes it.
type statusError struct {
	status int
	body   string
}

func (e *statusError) Error() string { return fmt.Sprintf("status %d", e.status) }

var testService = Service{
	Name:    "the Test Service",
	URLName: "Test Service URL",
	Header:  http.Header{"X-Api-Version": {"7"}},
	Error: func(resp *http.Response, body []byte) error {
		return &statusError{status: resp.StatusCode, body: string(body)}
	},
}

// TestDo: a request carries the service's header, the JSON body and the User-Agent
// to the base URL plus the path; an expected status is the answer, any other the
// service's error with the body read.
func TestDo(t *testing.T) {
	type seen struct{ Method, Path, Query, Version, Accept, ContentType, UserAgent, Body string }
	var got seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("X-Api-Version"), r.Header.Get("Accept"), r.Header.Get("Content-Type"), r.Header.Get("User-Agent"), string(b)}
		if r.Method == http.MethodDelete {
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, `{"error":"busy"}`)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"id":"A1"}`)
	}))
	defer srv.Close()
	c := New(" "+srv.URL+"/api/ ", srv.Client(), testService)
	c.UserAgent = "kubectl-kyma/test"
	if c.BaseURL() != srv.URL+"/api" {
		t.Errorf("BaseURL %q, want %q", c.BaseURL(), srv.URL+"/api")
	}

	r, err := c.Do(context.Background(), http.MethodPut, "/things/A1?x=1", map[string]int{"n": 1}, http.StatusOK, http.StatusAccepted)
	if err != nil {
		t.Fatal(err)
	}
	want := seen{"PUT", "/api/things/A1", "x=1", "7", "application/json", "application/json", "kubectl-kyma/test", `{"n":1}`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
	var v struct{ ID string }
	if err := r.Decode(&v); err != nil || v.ID != "A1" || r.Status != http.StatusAccepted || r.Empty() {
		t.Errorf("answer %d %q decoded to %+v, %v", r.Status, r.Body, v, err)
	}

	_, err = c.Do(context.Background(), http.MethodDelete, "/things/A1", nil, http.StatusOK)
	var se *statusError
	if !errors.As(err, &se) || se.status != http.StatusConflict || se.body != `{"error":"busy"}` {
		t.Errorf("error %#v, want the service's error of the 409 with its body", err)
	}
	if got.ContentType != "" {
		t.Errorf("a request without a body sent Content-Type %q", got.ContentType)
	}
}

// TestDoFailures: what goes wrong is one sentence naming the service, never the body.
func TestDoFailures(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/moved":
			http.Redirect(w, r, "https://elsewhere.example/", http.StatusFound)
		default:
			io.WriteString(w, "<html>secret stack trace</html>")
		}
	}))
	base := srv.URL
	ctx := context.Background()

	r, err := New(base, nil, testService).Do(ctx, http.MethodGet, "/html", nil, http.StatusOK)
	if err != nil {
		t.Fatal(err)
	}
	err = r.Decode(new(map[string]any))
	if err == nil || !strings.HasPrefix(err.Error(), "the Test Service answered 200 with a body that is not the expected JSON: ") || strings.Contains(err.Error(), "secret") {
		t.Errorf("decode error %v", err)
	}

	c := New(base, nil, testService)
	_, err = c.Do(ctx, http.MethodGet, "/moved", nil, http.StatusOK)
	if err == nil || !strings.Contains(err.Error(), "a redirect to https://elsewhere.example/") {
		t.Errorf("redirect error %v, want one that names the Location", err)
	}

	c = New("http://a b", nil, testService)
	_, err = c.Do(ctx, http.MethodGet, "/", nil, http.StatusOK)
	if err == nil || !strings.HasPrefix(err.Error(), `the Test Service URL "http://a b" is not valid: `) {
		t.Errorf("bad URL error %v", err)
	}

	srv.Close()
	_, err = New(base, nil, testService).Do(ctx, http.MethodGet, "/", nil, http.StatusOK)
	if err == nil || !strings.HasPrefix(err.Error(), "cannot reach the Test Service at "+base+": ") || strings.Contains(err.Error(), `Get "`) {
		t.Errorf("transport error %v", err)
	}
}

// TestGet: a GET's 200 is decoded into a new value.
func TestGet(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"state":"succeeded"}`)
	}))
	defer srv.Close()
	c := New(srv.URL, nil, testService)
	got, err := Get[struct{ State string }](context.Background(), c, "/op")
	if err != nil || got.State != "succeeded" {
		t.Errorf("Get = %+v, %v", got, err)
	}
}

// TestWait: a wait runs on the Clock, and a cancelled context ends it.
func TestWait(t *testing.T) {
	c := New("https://x.example", nil, testService)
	fake := clock.NewFake(time.Unix(0, 0))
	c.Clock = fake
	if err := c.Wait(context.Background(), 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]time.Duration{3 * time.Second}, fake.Waits()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
	if !c.Now().Equal(time.Unix(3, 0)) {
		t.Errorf("Now %s after the wait, want 3 s on", c.Now())
	}

	c.Clock = clock.Real{}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Wait(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait with a cancelled context = %v, want context.Canceled", err)
	}
}

func TestParseErrorBody(t *testing.T) {
	for _, tc := range []struct {
		name, body  string
		want        ErrorBody
		wantNotJSON bool
		text        string
	}{
		{name: "empty", body: " \n"},
		{name: "OSB", body: `{"error":"AsyncRequired","description":"needs async"}`,
			want: ErrorBody{Error: []byte(`"AsyncRequired"`), Description: "needs async"}, text: "needs async"},
		{name: "KEB's 412", body: `{"Description":"X-Broker-API-Version Header not set"}`,
			want: ErrorBody{Description: "X-Broker-API-Version Header not set"}, text: "X-Broker-API-Version Header not set"},
		{name: "bare message", body: `{"message":" gone "}`, want: ErrorBody{Message: " gone "}, text: "gone"},
		{name: "HTML", body: `<html>502</html>`, wantNotJSON: true},
	} {
		got, notJSON := ParseErrorBody([]byte(tc.body))
		if diff := cmp.Diff(tc.want, got); diff != "" || notJSON != tc.wantNotJSON || got.Text() != tc.text {
			t.Errorf("%s: notJSON %v, text %q, body (-want +got):\n%s", tc.name, notJSON, got.Text(), diff)
		}
	}
}

func TestRefused(t *testing.T) {
	for _, tc := range []struct{ header, message, want string }{
		{`Bearer error="invalid_token", error_description="token expired"`, "ignored", "the Test Service refused the access token (401 Unauthorized): "},
		{"", "Unauthorized client", "the Test Service refused the access token (401 Unauthorized): Unauthorized client"},
		{"", "", "the Test Service refused the access token (401 Unauthorized)"},
	} {
		got := Refused("the Test Service", http.StatusUnauthorized, tc.header, tc.message)
		if !strings.HasPrefix(got, tc.want) || (tc.header != "" && strings.Contains(got, tc.message)) {
			t.Errorf("Refused(%q, %q) = %q, want %q...", tc.header, tc.message, got, tc.want)
		}
	}
}
