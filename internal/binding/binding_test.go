package binding

import (
	"net/http"
	"testing"
	"time"
)

func TestToLocalClock(t *testing.T) {
	local := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	exp := local.Add(10 * time.Minute)
	for _, tc := range []struct {
		name string
		date string
		want time.Time
	}{
		{"no Date", "", exp},
		{"bad Date", "yesterday", exp},
		{"in step", local.Format(http.TimeFormat), exp},
		{"a second off is noise", local.Add(time.Second).Format(http.TimeFormat), exp},
		{"service 5 minutes ahead", local.Add(5 * time.Minute).Format(http.TimeFormat), exp.Add(-5 * time.Minute)},
		{"service 3 minutes behind", local.Add(-3 * time.Minute).Format(http.TimeFormat), exp.Add(3 * time.Minute)},
	} {
		if got := ToLocalClock(exp, tc.date, local); !got.Equal(tc.want) {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
	if got := ToLocalClock(time.Time{}, local.Add(time.Hour).Format(http.TimeFormat), local); !got.IsZero() {
		t.Errorf("a zero expiry became %s", got)
	}
}
