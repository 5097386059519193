package swarmbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/lab"
	"kubelite/internal/logging"
)

// Options control Run.
type Options struct {
	// Bin is the static kubelite binary (built into the images, run as
	// master, minions and kubectl).
	Bin string
	// Sizes are the replica counts N (default 10, 50, 100).
	Sizes []int
	// Runs is how many times each system is measured at each size,
	// alternating which goes first (default 3).
	Runs int
	// LossRuns is how many host-loss runs each system gets with the same
	// grace (0: none); LossDefaults adds one run at each system's defaults.
	LossRuns     int
	LossDefaults bool
	// LossReplicas is N for the host-loss and traffic runs (default 10).
	LossReplicas int
	// TrafficRuns is how many service-traffic runs each system gets (0: none).
	TrafficRuns int
	// Lab is the lab to build (default name "swarm", 2 minions, index 9).
	Lab lab.Config
	// Progress receives one line per step (nil: none).
	Progress io.Writer
}

// Quick is the small run CI keeps working: 10 replicas, one run each of
// create and scale and of service traffic, no host loss.
func Quick(bin string) Options { return Options{Bin: bin, Sizes: []int{10}, Runs: 1, TrafficRuns: 1} }

// Full is the run of the full bench: 10, 50 and 100 replicas, three runs
// each, service traffic three times, host loss three times with the same
// grace and once at the defaults.
func Full(bin string) Options {
	return Options{Bin: bin, Sizes: []int{10, 50, 100}, Runs: 3, TrafficRuns: 3, LossRuns: 3, LossDefaults: true, LossReplicas: 10}
}

func (o Options) withDefaults() Options {
	if len(o.Sizes) == 0 {
		o.Sizes = []int{10, 50, 100}
	}
	if o.Runs == 0 {
		o.Runs = 3
	}
	if o.LossReplicas == 0 {
		o.LossReplicas = 10
	}
	if o.Lab.Name == "" {
		o.Lab = lab.Config{Name: "swarm", Minions: 2, Index: 9}
	}
	return o
}

// Row is one figure measured on both systems, one value per run.
type Row struct {
	Name, Unit      string
	Kubelite, Swarm []float64
	// HigherIsBetter is set for rates (requests/s); times and memory are
	// better lower.
	HigherIsBetter bool
}

// Result is what Run measured.
type Result struct {
	Rows []Row
	// Notes say what was not measured and why, and how figures are defined.
	Notes []string
}

func (r *Result) add(name, unit, sys string, v float64) { r.addDir(name, unit, sys, v, false) }

// addDir adds one run's value of sys to row name, making the row if needed.
func (r *Result) addDir(name, unit, sys string, v float64, higherIsBetter bool) {
	for i := range r.Rows {
		if r.Rows[i].Name == name {
			if sys == "kubelite" {
				r.Rows[i].Kubelite = append(r.Rows[i].Kubelite, v)
			} else {
				r.Rows[i].Swarm = append(r.Rows[i].Swarm, v)
			}
			return
		}
	}
	r.Rows = append(r.Rows, Row{Name: name, Unit: unit, HigherIsBetter: higherIsBetter})
	r.addDir(name, unit, sys, v, higherIsBetter)
}

const (
	timeoutUnit = time.Minute
	pollEvery   = 100 * time.Millisecond
	// sameGrace is the silence after which both systems give a host up in
	// the same-grace host-loss runs: Swarm's default (a node is down after
	// three missed 5 s heartbeats), and kubelite's default since December
	// 6; kubelite's master gets it as --node_monitor_grace_period, with
	// --pod_eviction_timeout=1s (its replicas go at once by default).
	sameGrace    = 15 * time.Second
	sameEviction = time.Second
)

// Run builds the lab, the registry, the Swarm and the kubelite cluster,
// measures both systems and tears everything down, whatever happened. A
// failed step ends the run with what was measured so far.
func Run(ctx context.Context, o Options) (res *Result, err error) {
	o = o.withDefaults()
	if o.Bin == "" {
		return nil, errors.New("swarm bench: no kubelite binary")
	}
	l, err := lab.New(o.Lab)
	if err != nil {
		return nil, err
	}
	w := &world{o: o, l: l, log: logging.FromContext(ctx).WithFields(logrus.Fields{"component": "bench", "scenario": "swarm"})}
	res = &Result{}
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w\n%s", err, l.Dump(15))
		}
		if terr := w.teardown(); terr != nil {
			err = errors.Join(err, fmt.Errorf("swarm bench teardown: %w", terr))
		}
	}()
	if err := w.setup(ctx); err != nil {
		return res, err
	}
	if err := w.measure(ctx, res); err != nil {
		return res, err
	}
	return res, nil
}

func (w *world) measure(ctx context.Context, res *Result) error {
	res.Notes = append(res.Notes, ipvsNote())
	base, err := w.engineRSS(ctx)
	if err != nil {
		return err
	}
	if err := w.formSwarm(ctx); err != nil {
		return err
	}
	swarmIdle, err := w.engineRSS(ctx)
	if err != nil {
		return err
	}
	if err := w.startKubelite(ctx); err != nil {
		return err
	}
	kubeIdle, err := w.kubeRSS(ctx)
	if err != nil {
		return err
	}
	res.add("control plane memory, idle", "MB", "kubelite", mb(kubeIdle))
	res.add("control plane memory, idle", "MB", "swarm", mb(swarmIdle-base))
	w.progress("idle memory: kubelite master+minions %.1f MB, engines' growth with Swarm on %.1f MB", mb(kubeIdle), mb(swarmIdle-base))

	systems := []system{kubeSystem{w}, swarmSystem{w: w}}
	maxN := 0
	for _, n := range w.o.Sizes {
		maxN = max(maxN, n)
	}
	for _, n := range w.o.Sizes {
		for run := 0; run < w.o.Runs; run++ {
			for i := range systems {
				sys := systems[(i+run)%len(systems)] // alternate who goes first
				var mem func() error
				if n == maxN {
					mem = func() error {
						return w.holdingRSS(ctx, res, sys, n, base, swarmIdle)
					}
				}
				if err := w.upScaleTrial(ctx, res, sys, n, mem); err != nil {
					return fmt.Errorf("%s, %d replicas, run %d: %w", sys.name(), n, run+1, err)
				}
			}
		}
	}
	if w.o.TrafficRuns > 0 {
		ts, err := w.setupTraffic(ctx)
		if err != nil {
			return fmt.Errorf("service traffic: %w", err)
		}
		tsys := []system{kubeSystem{w}, swarmSystem{w: w, network: overlayNet}}
		for run := 0; run < w.o.TrafficRuns; run++ {
			for i := range tsys {
				sys := tsys[(i+run)%len(tsys)]
				if err := w.trafficTrial(ctx, res, ts, sys, w.o.LossReplicas); err != nil {
					return fmt.Errorf("%s, service traffic, run %d: %w", sys.name(), run+1, err)
				}
			}
		}
	}
	if w.o.LossDefaults {
		for _, sys := range systems {
			if err := w.lossTrial(ctx, res, sys, "defaults"); err != nil {
				return fmt.Errorf("%s, host lost at defaults: %w", sys.name(), err)
			}
		}
	}
	if w.o.LossRuns > 0 {
		if err := w.kube.restartMaster(ctx, sameGrace, sameEviction); err != nil {
			return err
		}
		for run := 0; run < w.o.LossRuns; run++ {
			for i := range systems {
				sys := systems[(i+run)%len(systems)]
				if err := w.lossTrial(ctx, res, sys, "same"); err != nil {
					return fmt.Errorf("%s, host lost with the same grace, run %d: %w", sys.name(), run+1, err)
				}
			}
		}
	}
	return nil
}

// upScaleTrial: create n to all answering, scale to 2n, back to n; mem (if
// set) runs while n answer; then the workload is removed. Each step's time
// is recorded as it is measured. When the peer (Swarm) does not converge
// within a step's limit, the step and the rest of the trial are left out
// with a note (what Swarm showed) and the run goes on; kubelite not
// converging fails the run.
func (w *world) upScaleTrial(ctx context.Context, res *Result, sys system, n int, mem func() error) error {
	all := w.l.Minions()
	steps := []struct {
		name   string
		target int
		act    func() error
		within time.Duration
	}{
		{fmt.Sprintf("%d replicas: create to all answering", n), n, func() error { return sys.create(ctx, n) }, 5 * timeoutUnit},
		{fmt.Sprintf("%d replicas: scale to %d, all answering", n, 2*n), 2 * n, func() error { return sys.scale(ctx, 2*n) }, stepLimit},
		{fmt.Sprintf("%d replicas: scale %d back to %d", n, 2*n, n), n, func() error { return sys.scale(ctx, n) }, stepLimit},
	}
	var took []string
	for i, st := range steps {
		t0 := time.Now()
		if err := st.act(); err != nil {
			return err
		}
		met, err := w.waitAnswering(ctx, sys, st.target, all, st.within)
		if err != nil {
			if !w.peerStuck(res, sys, st.name, err) {
				return fmt.Errorf("%s: %w", st.name, err)
			}
			break
		}
		d := met.Sub(t0)
		res.add(st.name, "s", sys.name(), d.Seconds())
		took = append(took, fmt.Sprintf("%5.2fs", d.Seconds()))
		if i == 0 && mem != nil {
			if err := mem(); err != nil {
				return err
			}
		}
	}
	w.progress("%-8s N=%-3d up, x2, back: %s", sys.name(), n, strings.Join(took, "  "))
	return w.clear(ctx, sys)
}

// stepLimit bounds a scale step; Swarm has been seen to stop short of the
// count asked (54 tasks Running after `service scale web=50`, for minutes).
const stepLimit = 3 * timeoutUnit

// peerStuck reports whether a failed wait is the peer's (Swarm's) and, if
// so, notes it in res: the run goes on without that figure.
func (w *world) peerStuck(res *Result, sys system, step string, err error) bool {
	if sys.name() != "swarm" {
		return false
	}
	msg := fmt.Sprintf("Swarm did not converge in one run of %q, which is left out of that row and the rest of its trial: %v", step, err)
	res.Notes = append(res.Notes, msg)
	w.progress("%s", msg)
	w.log.Warn(msg)
	return true
}

// clear removes sys's workload and waits until no replica runs anywhere.
func (w *world) clear(ctx context.Context, sys system) error {
	if err := sys.remove(ctx); err != nil {
		return err
	}
	if _, err := w.waitAnswering(ctx, sys, 0, w.l.Minions(), 3*timeoutUnit); err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	return nil
}

// lossTrial: n replicas on both hosts; minion2's kubelite (SIGKILL) and its
// engine (stopped as a shutdown would) go; from then to n answering on
// minion1. mode "defaults" or "same" names the timers in effect.
func (w *world) lossTrial(ctx context.Context, res *Result, sys system, mode string) error {
	n := w.o.LossReplicas
	m1, m2 := w.m1(), w.m2()
	if err := sys.create(ctx, n); err != nil {
		return err
	}
	if _, err := w.waitAnswering(ctx, sys, n, w.l.Minions(), 5*timeoutUnit); err != nil {
		return fmt.Errorf("create: %w", err)
	}
	onM2, err := sys.replicas(ctx, m2)
	if err != nil {
		return err
	}
	if len(onM2) == 0 {
		return fmt.Errorf("no replica was placed on %s: nothing to lose", m2.Name)
	}
	t0 := time.Now()
	if err := w.kube.minions[m2.Name].Kill(); err != nil {
		return err
	}
	if err := w.l.KillEngine(m2); err != nil {
		return err
	}
	within := 3 * timeoutUnit
	if mode == "defaults" {
		within = 6 * timeoutUnit
	}
	met, err := w.waitAnswering(ctx, sys, n, []*lab.Host{m1}, within)
	if err != nil {
		return fmt.Errorf("after losing %s: %w", m2.Name, err)
	}
	d := met.Sub(t0)
	name := fmt.Sprintf("host lost (%d replicas): kill to all on the other host, each system's defaults", n)
	if mode == "same" {
		name = fmt.Sprintf("host lost (%d replicas): kill to all on the other host, same grace %s", n, sameGrace)
	}
	res.add(name, "s", sys.name(), d.Seconds())
	w.progress("%-8s host lost (%s): %5.2fs (%d of %d replicas were there)", sys.name(), mode, d.Seconds(), len(onM2), n)
	// Bring minion2 back and leave nothing running.
	if err := w.l.StartEngine(ctx, m2); err != nil {
		return err
	}
	if err := w.trustRegistry(ctx, m2); err != nil {
		return err
	}
	if err := w.kube.minions[m2.Name].Restart(); err != nil {
		return err
	}
	if err := w.waitSwarmNodes(ctx, 2, 2*timeoutUnit); err != nil {
		return err
	}
	if err := w.kube.waitMinions(ctx, 2, 2*timeoutUnit); err != nil {
		return err
	}
	return w.clear(ctx, sys)
}

// waitAnswering waits until the engines of hosts run exactly n replicas of
// sys and each answers HTTP from its host's namespace, and returns when it
// saw that.
func (w *world) waitAnswering(ctx context.Context, sys system, n int, hosts []*lab.Host, within time.Duration) (time.Time, error) {
	return w.waitAnsweringVia(ctx, sys, n, hosts, nil, within)
}

// waitAnsweringVia is waitAnswering probing from via's namespace (nil: from
// each replica's host). Each poll lists the replicas and probes the ones
// not answered yet (answers): a probe that hangs delays only its own
// replica.
func (w *world) waitAnsweringVia(ctx context.Context, sys system, n int, hosts []*lab.Host, via *prober, within time.Duration) (time.Time, error) {
	a := newAnswers(func(t probeTarget) error { return t.via.probe(t.addr) }, pollEvery)
	defer a.wait()
	var met time.Time
	err := poll(ctx, within, pollEvery, func() (bool, string) {
		var targets []probeTarget
		for _, h := range hosts {
			rs, err := sys.replicas(ctx, h)
			if err != nil {
				return false, err.Error()
			}
			p := via
			if p == nil {
				p = w.probers[h.Name]
			}
			for _, r := range rs {
				targets = append(targets, probeTarget{key: h.Name + "/" + r.ID + "@" + r.IP, addr: r.IP + ":80", via: p})
			}
		}
		ok := a.round(targets)
		if len(targets) == n && ok == n {
			met = time.Now()
			return true, ""
		}
		return false, fmt.Sprintf("%d replicas, %d answering, want %d (last error: %v)", len(targets), ok, n, a.err())
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w; %s", sys.name(), err, sys.diag(ctx))
	}
	return met, nil
}

// Memory.

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// rss samples f five times a second apart and returns the median: Go
// processes' RSS moves with their collector.
func rss(ctx context.Context, f func() (int64, error)) (int64, error) {
	var s []int64
	for i := 0; i < 5; i++ {
		v, err := f()
		if err != nil {
			return 0, err
		}
		s = append(s, v)
		if i < 4 {
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-time.After(time.Second):
			}
		}
	}
	return median64(s), nil
}

func median64(s []int64) int64 {
	c := append([]int64(nil), s...)
	for i := range c { // insertion sort: five values
		for j := i; j > 0 && c[j] < c[j-1]; j-- {
			c[j], c[j-1] = c[j-1], c[j]
		}
	}
	return c[len(c)/2]
}

func pidRSS(pid int) (int64, error) {
	b, err := os.ReadFile(filepath.Join("/proc", fmt.Sprint(pid), "status"))
	if err != nil {
		return 0, err
	}
	return ParseVmRSS(b)
}

// engineRSS is the minion engines' dockerd RSS, summed.
func (w *world) engineRSS(ctx context.Context) (int64, error) {
	return rss(ctx, func() (int64, error) {
		var sum int64
		for _, h := range w.l.Minions() {
			pid, err := enginePid(h)
			if err != nil {
				return 0, err
			}
			v, err := pidRSS(pid)
			if err != nil {
				return 0, fmt.Errorf("dockerd of %s: %w", h.Name, err)
			}
			sum += v
		}
		return sum, nil
	})
}

// kubeRSS is the kubelite master's and minions' RSS, summed.
func (w *world) kubeRSS(ctx context.Context) (int64, error) {
	return rss(ctx, func() (int64, error) {
		procs := []*lab.Process{w.kube.master}
		for _, h := range w.l.Minions() {
			procs = append(procs, w.kube.minions[h.Name])
		}
		var sum int64
		for _, p := range procs {
			v, err := pidRSS(p.Pid())
			if err != nil {
				return 0, fmt.Errorf("%s on %s: %w", p.Name, p.Host.Name, err)
			}
			sum += v
		}
		return sum, nil
	})
}

// holdingRSS records what each system adds above the plain engines while n
// replicas run: for Swarm the engines' growth since before Swarm was on
// (base); for kubelite its processes plus the engines' growth since Swarm
// was on and idle (swarmIdle), so both include the engines' own
// per-container state and neither pays for the other's idle presence.
func (w *world) holdingRSS(ctx context.Context, res *Result, sys system, n int, base, swarmIdle int64) error {
	eng, err := w.engineRSS(ctx)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("memory holding %d replicas (engines' growth included)", n)
	if sys.name() == "swarm" {
		res.add(name, "MB", "swarm", mb(eng-base))
		return nil
	}
	k, err := w.kubeRSS(ctx)
	if err != nil {
		return err
	}
	res.add(name, "MB", "kubelite", mb(k+eng-swarmIdle))
	return nil
}

// ipvsNote says whether this kernel can give Swarm its service VIPs.
func ipvsNote() string {
	if _, err := os.Stat("/proc/net/ip_vs"); err == nil {
		return "IPVS is loaded, but Swarm services still run with --endpoint-mode dnsrr here: service traffic compares Swarm's DNS round robin with kubelite's portal IP"
	}
	rel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	mods := filepath.Join("/lib/modules", strings.TrimSpace(string(rel)))
	found := false
	_ = filepath.WalkDir(mods, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), "ip_vs.ko") {
			found = true
			return filepath.SkipAll
		}
		return nil
	})
	if found {
		return "IPVS is a module of this kernel but not loaded (the bench loads none): Swarm services run with --endpoint-mode dnsrr, and service traffic compares Swarm's DNS round robin with kubelite's portal IP"
	}
	return "this kernel has no IPVS (no /proc/net/ip_vs, no ip_vs module), which Swarm's service VIPs need: Swarm services run with --endpoint-mode dnsrr, and service traffic compares Swarm's DNS round robin with kubelite's portal IP"
}
