package age

import (
	"testing"
	"time"
)

func TestAge(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		got, want string
	}{
		{"of", Of(now, now.Add(-90*time.Second)), "90s"},
		{"of days", Of(now, now.Add(-50*time.Hour)), "2d2h"},
		{"of no time", Of(now, time.Time{}), "<unknown>"},
		{"expires", Expires(now, now.Add(5*time.Minute)), "in 5m"},
		{"expired", Expires(now, now.Add(-2*time.Minute)), "expired 2m ago"},
		{"expires at no time", Expires(now, time.Time{}), "<unknown>"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}
