package bench

import (
	"math"
	"sort"
	"time"
)

// Sample is a set of measurements of one figure.
type Sample []float64

// Durations converts durations to milliseconds.
func Durations(ds []time.Duration) Sample {
	s := make(Sample, len(ds))
	for i, d := range ds {
		s[i] = float64(d) / float64(time.Millisecond)
	}
	return s
}

// Quantile returns the q-quantile (0..1) by nearest rank; NaN when empty.
func (s Sample) Quantile(q float64) float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	c := append(Sample(nil), s...)
	sort.Float64s(c)
	i := int(math.Ceil(q*float64(len(c)))) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(c) {
		i = len(c) - 1
	}
	return c[i]
}

// Median is the 0.5 quantile.
func (s Sample) Median() float64 { return s.Quantile(0.5) }

// Min returns the smallest value.
func (s Sample) Min() float64 { return s.Quantile(0) }

// Max returns the largest value.
func (s Sample) Max() float64 { return s.Quantile(1) }

// PairRatios returns a[i]/b[i] for each pair measured together (the
// shorter length; a pair whose b is 0 is left out): what a paired
// comparison's ratio is the median of.
func PairRatios(a, b Sample) Sample {
	var r Sample
	for i := 0; i < len(a) && i < len(b); i++ {
		if b[i] != 0 {
			r = append(r, a[i]/b[i])
		}
	}
	return r
}
