package binding

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestLocalExpiry(t *testing.T) {
	local := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	exp := local.Add(10 * time.Minute)
	date := func(d time.Duration) string { return local.Add(d).Format(http.TimeFormat) }
	for _, tc := range []struct {
		name      string
		expiresAt time.Time
		date      string
		requested time.Duration
		want      time.Time
		note      string
	}{
		{"no Date", exp, "", 0, exp, ""},
		{"bad Date", exp, "yesterday", 0, exp, ""},
		{"in step", exp, date(0), 0, exp, ""},
		{"service 2 minutes ahead", exp, date(2 * time.Minute), 0, exp.Add(-2 * time.Minute), ""},
		{"service 3 minutes behind", exp, date(-3 * time.Minute), 0, exp.Add(3 * time.Minute), ""},
		// The emulator's --date-skew: only the Date is off; expires_at is right.
		{"Date an hour ahead", exp, date(time.Hour), 0, exp, "1h0m0s ahead of this machine's: ignored"},
		{"Date an hour behind", exp, date(-time.Hour), 0, exp, "1h0m0s behind this machine's: ignored"},
		// This machine's clock is off: the Date is right, so is expires_at on its clock.
		{"local clock an hour behind", exp.Add(time.Hour), date(time.Hour), 0, exp, "ignored"},
		{"local clock an hour ahead", exp.Add(-time.Hour), date(-time.Hour), 0, exp, "ignored"},
		{"past expiry, no Date", local.Add(-time.Minute), "", 0, local.Add(10 * time.Minute), "taking the 10m0s asked for"},
		{"a day, no Date", local.Add(24 * time.Hour), "", 2 * time.Hour, local.Add(2 * time.Hour), "taking the 2h0m0s asked for"},
		{"short, clocks agree", local.Add(30 * time.Second), date(0), 0, local.Add(30 * time.Second), ""},
		{"short, no Date", local.Add(30 * time.Second), "", 0, local.Add(10 * time.Minute), "taking"},
		{"too short even so", local.Add(2 * time.Second), date(0), 0, local.Add(10 * time.Minute), "taking"},
		{"zero", time.Time{}, date(time.Hour), 0, time.Time{}, ""},
	} {
		got, note := LocalExpiry(tc.expiresAt, tc.date, local, tc.requested)
		if !got.Equal(tc.want) {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
		if (tc.note == "") != (note == "") || !strings.Contains(note, tc.note) {
			t.Errorf("%s: note %q, want one with %q", tc.name, note, tc.note)
		}
	}
}
