package clock

import (
	"testing"
	"time"
)

func TestFakeMovesOnlyWhenTold(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f := NewFake(t0)
	if got := f.Now(); !got.Equal(t0) {
		t.Fatalf("Now = %v, want %v", got, t0)
	}
	f.Add(time.Minute)
	fired := <-f.After(2 * time.Second)
	want := t0.Add(time.Minute + 2*time.Second)
	if !fired.Equal(want) || !f.Now().Equal(want) {
		t.Fatalf("after Add and After: fired %v, now %v, want %v", fired, f.Now(), want)
	}
	if w := f.Waits(); len(w) != 1 || w[0] != 2*time.Second {
		t.Fatalf("Waits = %v, want [2s]", w)
	}
	f.Set(t0)
	if !f.Now().Equal(t0) {
		t.Fatalf("after Set: %v", f.Now())
	}
}

func TestOrFallsBackToTheSystemClock(t *testing.T) {
	if _, ok := Or(nil).(Real); !ok {
		t.Fatal("Or(nil) is not the system clock")
	}
	f := &Fake{}
	if Or(f) != Clock(f) {
		t.Fatal("Or(f) is not f")
	}
}
