// Package redirect keeps bearer tokens from following redirects. None of the APIs this
// project calls (the UAA's token endpoint, the Provisioning Service, KEB's OSB API)
// answers with a redirect, and a client that followed one would send the token (the
// Authorization header is added by a RoundTripper, on every hop, whatever the host or
// scheme) and replay a PUT's body to wherever the Location points. So clients return a
// 3xx answer as it is, and the caller turns it into an error that names the Location.
package redirect

import (
	"fmt"
	"net/http"
)

// Refuse is an http.Client CheckRedirect that follows no redirect: the client returns
// the 3xx answer itself, and the request for the Location is never made.
func Refuse(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Client returns a copy of c (nil: a zero http.Client) that follows no redirect.
func Client(c *http.Client) *http.Client {
	out := &http.Client{}
	if c != nil {
		*out = *c
	}
	out.CheckRedirect = Refuse
	return out
}

// Check returns an error for a redirect answer, nil for any other.
func Check(resp *http.Response) error {
	if resp.StatusCode < 300 || resp.StatusCode > 399 || resp.StatusCode == http.StatusNotModified {
		return nil
	}
	return &Error{URL: resp.Request.URL.Redacted(), Status: resp.StatusCode, Location: resp.Header.Get("Location")}
}

// Error is a redirect that was not followed.
type Error struct {
	// URL is the request that was redirected; Status the answer's code.
	URL    string
	Status int
	// Location is where the answer pointed.
	Location string
}

func (e *Error) Error() string {
	loc := e.Location
	if loc == "" {
		loc = "nowhere (no Location)"
	}
	return fmt.Sprintf("%s answered %d, a redirect to %s, which kubectl-kyma does not follow (none of the APIs it calls redirects, and the token would go along): check the URL in the profile", e.URL, e.Status, loc)
}
