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

func TestPairRatios(t *testing.T) {
	for _, c := range []struct {
		name string
		a, b Sample
		want Sample
	}{
		{"pairs", Sample{2, 9, 4}, Sample{4, 3, 4}, Sample{0.5, 3, 1}},
		{"shorter a", Sample{1}, Sample{2, 5}, Sample{0.5}},
		{"shorter b", Sample{1, 7}, Sample{2}, Sample{0.5}},
		{"zero peer left out", Sample{1, 6}, Sample{0, 3}, Sample{2}},
		{"empty", nil, Sample{1}, nil},
	} {
		got := PairRatios(c.a, c.b)
		if len(got) != len(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: %v, want %v", c.name, got, c.want)
			}
		}
	}
}

// TestWithPairedPeer: the ratio is the median of the pairs' ratios, not the
// ratio of the medians. Here the machine got twice as fast after the
// first two pairs: every pair has the figure at 0.9 of its peer, while the
// medians (100 and 200 of the peer's 100, 100, 200, 200) would say 0.9 only
// by luck of the order.
func TestWithPairedPeer(t *testing.T) {
	own := Sample{90, 90, 180, 180}
	peer := Sample{100, 100, 200, 200}
	f := NewFigure("proxy", "x", "1/s", own).WithPairedPeer("direct", own, peer)
	if math.Abs(f.Ratio-0.9) > 1e-9 || f.PeerMedian != 100 || f.Peer != "direct" {
		t.Errorf("paired: ratio %v, peer %s %v; want 0.9, direct 100", f.Ratio, f.Peer, f.PeerMedian)
	}
	// Drift that the ratio of medians gets wrong: own's median is a slow
	// round's, peer's a fast one's.
	own, peer = Sample{90, 95, 180, 190}, Sample{100, 200, 200, 210}
	if got := NewFigure("", "x", "", own).WithPeer("direct", peer).Ratio; math.Abs(got-0.475) > 1e-9 {
		t.Fatalf("ratio of medians %v, want 0.475 (the case this test is about)", got)
	}
	if got := NewFigure("", "x", "", own).WithPairedPeer("direct", own, peer).Ratio; math.Abs(got-0.9) > 1e-9 {
		t.Errorf("paired ratio %v, want 0.9 (the pairs: 0.9, 0.475, 0.9, 0.905)", got)
	}
	if got := NewFigure("", "x", "", nil).WithPairedPeer("direct", nil, Sample{1}).Ratio; got != 0 {
		t.Errorf("no pairs: ratio %v, want 0 (none)", got)
	}
}
