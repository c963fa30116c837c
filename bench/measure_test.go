//go:build linux || darwin

package main

import (
	"math"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want dist
	}{
		{[]float64{5}, dist{5, 5, 5}},
		{[]float64{3, 1, 2}, dist{1.2, 2, 2.8}},
		{[]float64{10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11}, dist{2, 6, 10}},
	} {
		got := summarize(tc.in)
		if math.Abs(got.p10-tc.want.p10) > 1e-9 || got.med != tc.want.med || math.Abs(got.p90-tc.want.p90) > 1e-9 {
			t.Errorf("summarize(%v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

// Ratios and differences are taken within a round, so a drift that hits both sides of a
// round alike cancels out.
func TestPairedRatioCancelsDrift(t *testing.T) {
	var floor, x []sample
	for i := range 9 {
		slow := time.Duration(1+i*i) * time.Millisecond // the machine gets slower
		floor = append(floor, sample{wall: 2 * slow})
		x = append(x, sample{wall: 3 * slow})
	}
	if got := pairedRatio(x, floor).med; math.Abs(got-1.5) > 1e-9 {
		t.Errorf("paired ratio = %v, want 1.5", got)
	}
	if got := pairedDiff(x, floor); got.med != 17 {
		t.Errorf("paired difference median = %v ms, want 17 (round 5: 51 − 34)", got.med)
	}
}
