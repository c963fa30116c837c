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

// TestClassify: KEB's messages, passed through by either API, mean the same errors.
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		message string
		notJSON bool
		want    []error
	}{
		{"refused token", 401, "", false, []error{ErrUnauthorized}},
		{"unknown binding", 404, "Binding not found", false, []error{ErrNotFound}},
		{"gone", 410, "", false, []error{ErrNotFound}},
		{"expired", 404, "Binding expired", false, []error{ErrNotFound, ErrExpired}},
		{"still being made", 404, "Binding creation in progress", false, []error{ErrNotReady}},
		{"instance being made", 422, "instance 1 creation is in progress", false, []error{ErrNotReady}},
		{"instance failed", 400, "Instance creation failed", false, []error{ErrNotReady}},
		{"limit", 400, "maximum number of non expired bindings reached: 10", false, []error{ErrLimitReached}},
		{"a proxy's 404 page", 404, "", true, nil},
		{"server error", 500, "boom", false, nil},
	} {
		got := Classify(tc.status, tc.message, tc.notJSON)
		if len(got) != len(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			}
		}
	}
}

func TestExpirationSeconds(t *testing.T) {
	for d, want := range map[time.Duration]int64{0: 0, time.Hour: 3600, 600*time.Second + time.Millisecond: 601} {
		if got, err := ExpirationSeconds(d); got != want || err != nil {
			t.Errorf("ExpirationSeconds(%s) = %d, %v; want %d", d, got, err, want)
		}
	}
	if _, err := ExpirationSeconds(-time.Second); err == nil || err.Error() != "binding expiration -1s is negative" {
		t.Errorf("a negative lifetime: %v", err)
	}
}

// TestNewExpiry: with no expiry in the answer, the estimate counts the lifetime asked
// for (or KEB's default) from when the request was sent.
func TestNewExpiry(t *testing.T) {
	sent := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	received := sent.Add(3 * time.Second)
	for _, tc := range []struct {
		name      string
		expiresAt time.Time
		requested time.Duration
		want      time.Time
	}{
		{"from the answer", received.Add(time.Hour), time.Hour, received.Add(time.Hour)},
		{"estimate", time.Time{}, time.Hour, sent.Add(time.Hour)},
		{"estimate with the default", time.Time{}, 0, sent.Add(DefaultExpiration)},
	} {
		if got, _ := NewExpiry(tc.expiresAt, "", sent, received, tc.requested); !got.Equal(tc.want) {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
