package bench

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"kubelite/internal/logging"
)

// Options control a bench run.
type Options struct {
	Quick    bool     // small sizes, for CI: under 2 minutes
	NoDocker bool     // leave out scenarios needing Docker or iptables (reported as left out)
	Only     []string // run only these scenarios (all when empty)
	Scale    float64  // size of the scale scenario, times its full 150,000 pods on 5,000 minions (0: 1, or 0.01 with Quick)
	// SwarmSizes, when set, are the swarm rows' replica counts N instead
	// of the run's own (10, 50, 100; 10 with Quick).
	SwarmSizes []int
	Command    string // the command line, for the report
	// MasterProfiles, when set, is a directory where each master started
	// in a process of its own writes a CPU profile, master-SCENARIO.pprof.
	MasterProfiles string

	progress io.Writer    // Run's progress writer, for scenarios with steps worth showing
	note     func(string) // adds a note to the report
}

// masterArgs are the flags of a master started in a process of its own
// for scenario: its CPU profile, when asked for.
func (o Options) masterArgs(scenario string) []string {
	if o.MasterProfiles == "" {
		return nil
	}
	return []string{"--cpuprofile=" + filepath.Join(o.MasterProfiles, "master-"+scenario+".pprof")}
}

// addNote records a note (what a scenario left out and why) in the report.
func (o Options) addNote(s string) {
	if o.note != nil {
		o.note(s)
	}
}

// Scenario is one measured situation.
type Scenario struct {
	Name string
	// System is true when the scenario needs Docker or iptables.
	System bool
	Run    func(ctx context.Context, env Env, o Options) ([]Figure, error)
}

// Scenarios is every scenario, in the order they run.
func Scenarios() []Scenario {
	return []Scenario{
		{Name: "api-write", Run: apiWrite},
		{Name: "api-tls", Run: apiTLS},
		{Name: "api-read", Run: apiRead},
		{Name: "watch-fanout", Run: watchFanout},
		{Name: "schedule", Run: schedule},
		{Name: "rc-converge", Run: rcConverge},
		{Name: "reschedule", Run: reschedule},
		{Name: "minion-loss", Run: minionLoss},
		{Name: "scale", Run: scaleScenario},
		{Name: "pod-startup", System: true, Run: podStartup},
		{Name: "proxy", System: true, Run: proxyScenario},
		{Name: "rules-sync", System: true, Run: rulesSync},
		{Name: "swarm", System: true, Run: swarmScenario},
		{Name: "footprint", Run: footprint},
	}
}

// Run runs the scenarios and returns the report. A scenario's error is
// recorded in the report and makes Run return an error after the others ran.
func Run(ctx context.Context, env Env, o Options, progress io.Writer) (*Report, error) {
	start := time.Now()
	r := &Report{Date: start, Command: o.Command, Machine: DescribeMachine()}
	want := map[string]bool{}
	for _, n := range o.Only {
		want[n] = true
	}
	known := map[string]bool{}
	for _, sc := range Scenarios() {
		known[sc.Name] = true
	}
	for n := range want {
		if !known[n] {
			return nil, fmt.Errorf("unknown scenario %q", n)
		}
	}
	var failed []string
	for _, sc := range Scenarios() {
		if len(want) > 0 && !want[sc.Name] {
			continue
		}
		if sc.System && o.NoDocker {
			r.Left = append(r.Left, sc.Name+" (--no-docker)")
			continue
		}
		fmt.Fprintf(progress, "running %s...\n", sc.Name)
		t0 := time.Now()
		so := o
		so.progress = progress
		so.note = func(n string) { r.Notes = append(r.Notes, sc.Name+": "+n) }
		figs, err := sc.Run(ctx, env, so)
		for i := range figs {
			figs[i].Scenario = sc.Name
		}
		r.Figures = append(r.Figures, figs...)
		if err != nil {
			logging.FromContext(ctx).WithField("component", "bench").WithError(err).Errorf("scenario %s failed", sc.Name)
			r.Errors = append(r.Errors, fmt.Sprintf("%s: %v", sc.Name, err))
			failed = append(failed, sc.Name)
		}
		fmt.Fprintf(progress, "  %s done in %s\n", sc.Name, time.Since(t0).Round(100*time.Millisecond))
		if ctx.Err() != nil {
			break
		}
	}
	r.Duration = time.Since(start).Round(time.Second).String()
	if len(failed) > 0 {
		return r, fmt.Errorf("scenarios failed: %s", strings.Join(failed, ", "))
	}
	return r, ctx.Err()
}

func pick[T any](o Options, quick, full T) T {
	if o.Quick {
		return quick
	}
	return full
}
