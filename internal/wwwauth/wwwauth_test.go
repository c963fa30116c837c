package wwwauth

import "testing"

func TestReason(t *testing.T) {
	for h, want := range map[string]string{
		`Bearer realm="cis", error="invalid_token", error_description="The access token expired"`: "The access token expired",
		`Bearer error=invalid_token`:                            "invalid_token",
		`Bearer realm="x", xerror="no", error="a \"quoted\" b"`: `a "quoted" b`,
		`Basic realm="UAA/client"`:                              "",
		``:                                                      "",
	} {
		if got := Reason(h); got != want {
			t.Errorf("Reason(%q) = %q, want %q", h, got, want)
		}
	}
}
