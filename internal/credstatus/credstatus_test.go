package credstatus

import (
	"testing"
	"time"
)

func TestListingRows(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	n, ours := 3, 1
	rows := []Row{
		{Profile: "p", Environment: "e1", EnvironmentName: "prod", BindingID: "b1", ExpiresAt: now.Add(2 * time.Hour),
			RefreshInFlight: true, RefreshPID: 42, LiveBindings: &n, MadeHere: &ours, BindingLimit: 10},
		{Profile: "p", Environment: "e2", BindingID: "b2", ExpiresAt: now.Add(-time.Minute), LiveError: "boom"},
	}
	l, err := Listing(rows, now, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Columns) != 10 || len(l.Rows) != 2 || l.Names[0] != "p/e1" {
		t.Fatalf("columns %d, rows %d, names %v", len(l.Columns), len(l.Rows), l.Names)
	}
	if r := l.Rows[0]; r[1] != "prod" || r[4] != "120m" || r[5] != "in flight (pid 42)" || r[7] != "3/10 (1 made here)" {
		t.Errorf("row 1: %v", r)
	}
	if r := l.Rows[1]; r[1] != "e2" || r[4] != "expired" || r[7] != "boom" {
		t.Errorf("row 2: %v", r)
	}
	cached, err := Listing(rows, now, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(cached.Columns) != 9 || len(cached.Rows[0]) != 9 {
		t.Errorf("--cached-only: %d columns, %d cells: no LIVE BINDINGS wanted", len(cached.Columns), len(cached.Rows[0]))
	}
}
