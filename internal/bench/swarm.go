package bench

import (
	"context"

	"kubelite/internal/bench/swarmbench"
)

// swarmScenario: Docker Swarm and kubelite on the same two lab hosts'
// engines, the same image from a lab registry, alternating runs (see
// internal/bench/swarmbench). Every figure is kubelite's median with
// Swarm's as the same-run peer; the target is a ratio of at most 1.0.
func swarmScenario(ctx context.Context, env Env, o Options) ([]Figure, error) {
	so := pick(o, swarmbench.Quick(env.Binary()), swarmbench.Full(env.Binary()))
	so.Progress = o.progress
	if len(o.SwarmSizes) > 0 {
		so.Sizes = o.SwarmSizes
	}
	res, err := swarmbench.Run(ctx, so)
	if res == nil {
		return nil, err
	}
	for _, n := range res.Notes {
		o.addNote(n)
	}
	return swarmFigures(res), err
}

// swarmFigures turns the runs of both systems into figures: kubelite's
// median and spread, Swarm's median as the peer, kubelite/Swarm as the
// ratio, met when the ratio is at most 1.0 (at least 1.0 for a rate). A row one system has no run
// of carries no ratio and no target.
func swarmFigures(res *swarmbench.Result) []Figure {
	figs := make([]Figure, 0, len(res.Rows))
	for _, row := range res.Rows {
		f := NewFigure("", row.Name, row.Unit, Sample(row.Kubelite))
		if len(row.Swarm) == 0 {
			figs = append(figs, f)
			continue
		}
		f = f.WithPeer("swarm", Sample(row.Swarm))
		if len(row.Kubelite) == 0 || f.PeerMedian == 0 {
			figs = append(figs, f)
			continue
		}
		if row.HigherIsBetter {
			figs = append(figs, f.WithTarget("kubelite/swarm >= 1.0", f.Ratio >= 1.0))
		} else {
			figs = append(figs, f.WithTarget("kubelite/swarm <= 1.0", f.Ratio <= 1.0))
		}
	}
	return figs
}
