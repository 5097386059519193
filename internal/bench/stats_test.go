package bench

import (
	"math"
	"testing"
)

func TestQuantile(t *testing.T) {
	s := Sample{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	cases := []struct {
		q    float64
		want float64
	}{{0, 1}, {0.5, 5}, {0.9, 9}, {0.99, 10}, {1, 10}}
	for _, tc := range cases {
		if got := s.Quantile(tc.q); got != tc.want {
			t.Errorf("q%.2f = %v, want %v", tc.q, got, tc.want)
		}
	}
	if !math.IsNaN(Sample{}.Median()) {
		t.Error("median of nothing should be NaN")
	}
}
