package bench

import (
	"math"
	"testing"

	"kubelite/internal/bench/swarmbench"
)

func TestSwarmFigures(t *testing.T) {
	res := &swarmbench.Result{Rows: []swarmbench.Row{
		{Name: "10 replicas: create to all answering", Unit: "s", Kubelite: []float64{3, 1, 2}, Swarm: []float64{4, 6, 5}},
		{Name: "memory", Unit: "MB", Kubelite: []float64{80}, Swarm: []float64{40}},
		{Name: "only kubelite", Unit: "s", Kubelite: []float64{1}},
		{Name: "only swarm", Unit: "s", Swarm: []float64{2}},
		{Name: "swarm zero", Unit: "MB", Kubelite: []float64{2}, Swarm: []float64{0}},
		{Name: "requests/s", Unit: "1/s", Kubelite: []float64{900, 1100}, Swarm: []float64{1000}, HigherIsBetter: true},
		{Name: "requests/s, slower", Unit: "1/s", Kubelite: []float64{500}, Swarm: []float64{1000}, HigherIsBetter: true},
	}}
	figs := swarmFigures(res)
	if len(figs) != 7 {
		t.Fatalf("%d figures, want 7", len(figs))
	}
	tests := []struct {
		median, min, max, peer, ratio float64
		runs                          int
		met                           *bool
	}{
		{2, 1, 3, 5, 0.4, 3, ptr(true)},
		{80, 80, 80, 40, 2, 1, ptr(false)},
		{1, 1, 1, 0, 0, 1, nil},
		{math.NaN(), math.NaN(), math.NaN(), 2, 0, 0, nil},
		{2, 2, 2, 0, 0, 1, nil},
		{900, 900, 1100, 1000, 0.9, 2, ptr(false)}, // nearest-rank median of two is the lower
		{500, 500, 500, 1000, 0.5, 1, ptr(false)},
	}
	for i, tc := range tests {
		f := figs[i]
		if !same(f.Median, tc.median) || !same(f.Min, tc.min) || !same(f.Max, tc.max) || f.Runs != tc.runs ||
			f.PeerMedian != tc.peer || math.Abs(f.Ratio-tc.ratio) > 1e-9 {
			t.Errorf("%s: got median %v (%v..%v, %d runs) peer %v ratio %v; want %+v", f.Name, f.Median, f.Min, f.Max, f.Runs, f.PeerMedian, f.Ratio, tc)
		}
		switch {
		case tc.met == nil && f.Met != nil:
			t.Errorf("%s: target %q set, want none", f.Name, f.Target)
		case tc.met != nil && (f.Met == nil || *f.Met != *tc.met):
			t.Errorf("%s: met %v, want %v", f.Name, f.Met, *tc.met)
		}
		if f.Unit != res.Rows[i].Unit {
			t.Errorf("%s: unit %q, want %q", f.Name, f.Unit, res.Rows[i].Unit)
		}
	}
	if figs[0].Peer != "swarm" {
		t.Errorf("peer %q, want swarm", figs[0].Peer)
	}
	if figs[0].Target != "kubelite/swarm <= 1.0" || figs[5].Target != "kubelite/swarm >= 1.0" {
		t.Errorf("targets %q and %q", figs[0].Target, figs[5].Target)
	}
}

func ptr(b bool) *bool { return &b }

func same(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }
