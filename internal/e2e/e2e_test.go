//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/lab"
)

// scenario is one end-to-end scenario: its name (issue 6's number first),
// the time it may take, and its body.
type scenario struct {
	name   string
	budget time.Duration
	run    func(s *sc)
}

// The order puts the scenarios that take a minion away last.
var scenarios = []scenario{
	{"1-tutorial", 3 * time.Minute, scenarioTutorial},
	{"1-access", 2 * time.Minute, scenarioAccess},
	{"2-hostport", 90 * time.Second, scenarioHostPort},
	{"3-services", 3 * time.Minute, scenarioServices},
	{"4-rollingupdate", 3 * time.Minute, scenarioRollingUpdate},
	{"7-pod-to-pod", 90 * time.Second, scenarioPodToPod},
	{"8-liveness", 2 * time.Minute, scenarioLiveness},
	{"12-kubectl-v1", 2 * time.Minute, scenarioKubectlV1},
	{"5-minion-lost", 2 * time.Minute, scenarioMinionLost},
	{"6-partition", 3 * time.Minute, scenarioPartition},
	{"9-insecure", 2 * time.Minute, scenarioInsecure},
}

// sc is what a running scenario has: the cluster, its subtest and a context
// bounded by its budget.
type sc struct {
	*cluster
	t     *testing.T
	ctx   context.Context
	start time.Time
	tmp   string
}

type result struct {
	name string
	pass bool
	ran  bool // false when go test -run left it out
	took time.Duration
}

// TestE2E brings up the lab cluster once and runs every scenario on it, one
// line per scenario on stdout.
func TestE2E(t *testing.T) {
	start := time.Now()
	c := newCluster(t)
	fmt.Printf("E2E %-16s %-4s %6.1fs (lab, images, kubelite started)\n", "setup", "done", time.Since(start).Seconds())
	only := os.Getenv("KUBELITE_E2E_RUN") // comma-separated scenario names, for development
	// The scenarios stop by this deadline, whatever happens, so that the
	// teardown always runs within go test's -timeout (30m in make e2e, which
	// then runs TestMasters).
	c.deadline = start.Add(suiteBudget)
	var results []result
	for _, scn := range scenarios {
		if only != "" && !contains(strings.Split(only, ","), scn.name) {
			continue
		}
		r := c.runScenario(t, scn)
		if !r.ran {
			continue // not selected by go test -run
		}
		results = append(results, r)
		status := "PASS"
		if !r.pass {
			status = "FAIL"
		}
		fmt.Printf("E2E %-16s %-4s %6.1fs\n", r.name, status, r.took.Seconds())
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		rs := time.Now()
		if err := c.reset(ctx, t); err != nil {
			t.Logf("reset after %s (%.1fs): %v", scn.name, time.Since(rs).Seconds(), err)
		} else {
			t.Logf("reset after %s: %.1fs", scn.name, time.Since(rs).Seconds())
		}
		cancel()
	}
	var b strings.Builder
	pass := 0
	for _, r := range results {
		st := "FAIL"
		if r.pass {
			st = "PASS"
			pass++
		}
		fmt.Fprintf(&b, "  %-16s %s %6.1fs\n", r.name, st, r.took.Seconds())
	}
	fmt.Printf("E2E summary: %d/%d passed in %s\n%s", pass, len(results), time.Since(start).Round(time.Second), b.String())
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if strings.TrimSpace(y) == x {
			return true
		}
	}
	return false
}

// suiteBudget bounds setup plus all scenarios (the issue: under 15 minutes).
const suiteBudget = 15 * time.Minute

// runScenario runs one scenario as a subtest. A ready cluster is its
// precondition: if the API or a minion is not ready, it fails at once. It
// gets at most its budget, and never runs past the suite's deadline.
func (c *cluster) runScenario(t *testing.T, scn scenario) result {
	start := time.Now()
	budget := min(scn.budget, time.Until(c.deadline))
	ran := false
	ok := t.Run(scn.name, func(t *testing.T) {
		ran = true
		if budget < 15*time.Second {
			t.Fatalf("not run: the suite's %s budget is spent", suiteBudget)
		}
		ctx, cancel := context.WithTimeout(context.Background(), budget)
		defer cancel()
		s := &sc{cluster: c, t: t, ctx: ctx, start: time.Now(), tmp: t.TempDir()}
		t.Cleanup(func() {
			if t.Failed() {
				dctx, dcancel := context.WithTimeout(context.Background(), time.Minute)
				defer dcancel()
				t.Logf("cluster state after %s failed:\n%s", scn.name, c.dump(dctx))
			}
		})
		if err := c.waitReady(ctx, 30*time.Second); err != nil {
			t.Fatalf("cluster not ready: %v", err)
		}
		scn.run(s)
	})
	return result{name: scn.name, pass: ok, ran: ran, took: time.Since(start)}
}

// --- scenario helpers ------------------------------------------------------

func (s *sc) logf(format string, args ...any) {
	s.t.Helper()
	s.t.Logf("[%5.1fs] %s", time.Since(s.start).Seconds(), fmt.Sprintf(format, args...))
}

func (s *sc) fatalf(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf("[%5.1fs] %s", time.Since(s.start).Seconds(), fmt.Sprintf(format, args...))
}

// kc runs kubectl and fails the scenario if it fails.
func (s *sc) kc(args ...string) string {
	s.t.Helper()
	out, err := s.kubectl(s.ctx, args...)
	if err != nil {
		s.fatalf("kubectl %s: %v", strings.Join(args, " "), err)
	}
	s.logf("$ kubectl %s\n%s", strings.Join(args, " "), strings.TrimRight(out, "\n"))
	return out
}

// create writes obj as JSON to a file and runs `kubectl create -f` on it.
func (s *sc) create(obj map[string]any) {
	s.t.Helper()
	b, err := json.MarshalIndent(obj, "", "  ")
	if err != nil {
		s.fatalf("marshal: %v", err)
	}
	f := filepath.Join(s.tmp, fmt.Sprintf("%s-%s.json", obj["kind"], obj["id"]))
	if err := os.WriteFile(f, b, 0o644); err != nil {
		s.fatalf("%v", err)
	}
	s.kc("create", "-f", f)
}

// eventually polls f until it holds, failing the scenario after timeout.
func (s *sc) eventually(what string, timeout time.Duration, f func() (bool, string)) time.Duration {
	s.t.Helper()
	start := time.Now()
	if err := poll(s.ctx, timeout, f); err != nil {
		s.fatalf("%s: %v", what, err)
	}
	took := time.Since(start)
	s.logf("%s (%.1fs)", what, took.Seconds())
	return took
}

// waitPods polls the pods matching selector until cond holds and returns them.
func (s *sc) waitPods(selector, what string, timeout time.Duration, cond func([]api.Pod) bool) []api.Pod {
	s.t.Helper()
	var ps []api.Pod
	s.eventually(what, timeout, func() (bool, string) {
		var err error
		ps, err = s.pods(s.ctx, selector)
		if err != nil {
			return false, err.Error()
		}
		return cond(ps), podSummary(ps)
	})
	return ps
}

// nRunning is a waitPods condition: exactly n pods, all Running.
func nRunning(n int) func([]api.Pod) bool {
	return func(ps []api.Pod) bool {
		if len(ps) != n {
			return false
		}
		for _, p := range ps {
			if !running(p) || p.CurrentState.PodIP == "" {
				return false
			}
		}
		return true
	}
}

// perHost counts pods by minion.
func perHost(ps []api.Pod) map[string]int {
	m := map[string]int{}
	for _, p := range ps {
		m[host(p)]++
	}
	return m
}

// hostOf returns the lab host with address addr.
func (s *sc) hostOf(addr string) *lab.Host {
	s.t.Helper()
	for _, h := range s.lab.Hosts() {
		if h.Addr.String() == addr {
			return h
		}
	}
	s.fatalf("no lab host has address %q", addr)
	return nil
}

// waitEndpoints waits until service id's endpoints are exactly the pods'
// IPs on port.
func (s *sc) waitEndpoints(id string, ps []api.Pod, port int, timeout time.Duration) {
	s.t.Helper()
	var want []string
	for _, p := range ps {
		want = append(want, fmt.Sprintf("%s:%d", p.CurrentState.PodIP, port))
	}
	sort.Strings(want)
	s.eventually("endpoints of "+id+" are its pods", timeout, func() (bool, string) {
		got, err := s.endpoints(s.ctx, id)
		if err != nil {
			return false, err.Error()
		}
		return strings.Join(got, ",") == strings.Join(want, ","), fmt.Sprintf("endpoints %v, want %v", got, want)
	})
	// A pod is Running once its container started, which may be before its
	// server listens (v0.6 has no readiness): wait until each answers on its
	// pod IP, from its own minion, so that a failed check through the
	// service says something about the service.
	s.eventually("every pod of "+id+" answers on its pod IP", 20*time.Second, func() (bool, string) {
		for _, p := range ps {
			u := fmt.Sprintf("http://%s:%d/", p.CurrentState.PodIP, port)
			as := s.getFrom(s.ctx, s.hostOf(host(p)), 1, u)
			if !as[0].ok() || as[0].Pod != p.ID {
				return false, fmt.Sprintf("%s from %s: %+v", u, host(p), as[0])
			}
		}
		return true, ""
	})
}

// serves checks that n GETs of u from host h all succeed and reach exactly
// the pods named want.
func (s *sc) serves(h *lab.Host, u string, n int, want []string) (bool, string) {
	as := s.getFrom(s.ctx, h, n, u)
	pods, fails := tally(as)
	if len(fails) > 0 {
		return false, fmt.Sprintf("from %s, %d of the first %d GETs of %s failed (of %d planned), e.g. %s; answered by %v", h.Name, len(fails), len(as), u, n, fails[0], pods)
	}
	if len(as) != n {
		return false, fmt.Sprintf("from %s, %d answers to %d GETs of %s", h.Name, len(as), n, u)
	}
	got := keys(pods)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		return false, fmt.Sprintf("from %s, %d GETs of %s answered by %v, want exactly %v", h.Name, n, u, pods, want)
	}
	return true, ""
}

// mustServe is serves, failing the scenario.
func (s *sc) mustServe(h *lab.Host, u string, n int, want []string) {
	s.t.Helper()
	if ok, why := s.serves(h, u, n, want); !ok {
		s.fatalf("%s", why)
	}
	s.logf("from %s, %d GETs of %s reached exactly %v", h.Name, n, u, want)
}

func portalURL(svc *api.Service, path string) string {
	return fmt.Sprintf("http://%s:%d%s", svc.PortalIP, svc.Port, path)
}

// --- objects ---------------------------------------------------------------

// rcObject is a replication controller of the test web server, labelled and
// selecting name=<id>; hostPort 0 means none.
func rcObject(id string, replicas int, image string, hostPort int) map[string]any {
	port := map[string]any{"containerPort": 80}
	if hostPort != 0 {
		port["hostPort"] = hostPort
	}
	return map[string]any{
		"id": id, "kind": "ReplicationController", "apiVersion": "v1beta1",
		"labels": map[string]string{"name": id},
		"desiredState": map[string]any{
			"replicas":        replicas,
			"replicaSelector": map[string]string{"name": id},
			"podTemplate": map[string]any{
				"labels": map[string]string{"name": id},
				"desiredState": map[string]any{"manifest": map[string]any{
					"version": "v1beta1", "id": id,
					"containers": []any{map[string]any{"name": "web", "image": image, "ports": []any{port}}},
				}},
			},
		},
	}
}

// serviceObject selects name=<selector> on port -> container port 80.
func serviceObject(id string, port int, selector string) map[string]any {
	return map[string]any{
		"id": id, "kind": "Service", "apiVersion": "v1beta1",
		"port": port, "containerPort": 80, "protocol": "TCP",
		"selector": map[string]string{"name": selector},
	}
}

// --- between scenarios -------------------------------------------------------

// reset brings the cluster back to its start: every host connected, every
// kubelite running with its default flags, no replication controller,
// service or pod, and no kubelite container on any engine.
func (c *cluster) reset(ctx context.Context, t *testing.T) error {
	var problems []string
	if c.insecure {
		if err := c.setInsecure(ctx, false); err != nil {
			problems = append(problems, "back to the secure cluster: "+err.Error())
		}
	}
	for _, h := range c.lab.Minions() {
		if err := c.lab.Heal(ctx, h); err != nil {
			problems = append(problems, err.Error())
		}
		c.mu.Lock()
		p, extra := c.minions[h.Name], c.extra[h.Name]
		c.mu.Unlock()
		if p.Paused() {
			_ = p.Resume()
		}
		if len(extra) > 0 {
			if err := c.switchProxyMode(ctx, h, "iptables"); err != nil {
				problems = append(problems, err.Error())
			}
		} else if done, _ := p.Exited(); done {
			if err := c.restartMinion(h); err != nil {
				problems = append(problems, err.Error())
			}
		}
	}
	if done, _ := c.master.Exited(); done {
		if err := c.master.Restart(); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if err := c.waitReady(ctx, 60*time.Second); err != nil {
		problems = append(problems, "cluster not ready: "+err.Error())
	}
	if rcs, err := c.rcs(ctx); err == nil {
		for _, rc := range rcs {
			if err := c.del(ctx, "replicationControllers", rc.ID); err != nil {
				problems = append(problems, err.Error())
			}
		}
	} else {
		problems = append(problems, err.Error())
	}
	if svcs, err := c.services(ctx); err == nil {
		for _, svc := range svcs {
			if err := c.del(ctx, "services", svc.ID); err != nil {
				problems = append(problems, err.Error())
			}
		}
	}
	err := poll(ctx, 30*time.Second, func() (bool, string) {
		ps, err := c.pods(ctx, "")
		if err != nil {
			return false, err.Error()
		}
		for _, p := range ps {
			_ = c.del(ctx, "pods", p.ID)
		}
		return len(ps) == 0, podSummary(ps)
	})
	if err != nil {
		problems = append(problems, "pods left: "+err.Error())
	}
	err = poll(ctx, 30*time.Second, func() (bool, string) {
		var left []string
		for _, h := range c.lab.Minions() {
			cs, err := c.containers(ctx, h)
			if err != nil {
				left = append(left, err.Error())
			}
			for _, ct := range cs {
				if ct.running {
					left = append(left, h.Name+":"+ct.pod+"/"+ct.name)
				}
			}
		}
		return len(left) == 0, strings.Join(left, " ")
	})
	if err != nil {
		problems = append(problems, "containers left running (removed by force): "+err.Error())
	}
	// Start the next scenario from empty engines, whatever the kubelets did.
	for _, h := range c.lab.Minions() {
		cs, _ := c.containers(ctx, h)
		for _, ct := range cs {
			_, _ = c.lab.Docker(ctx, h, "rm", "-f", ct.id)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

// dump describes the cluster for a failure report: kubectl get of every
// resource (events included), each engine's containers, the last lines of
// every kubelite process and the kubelets' recent log lines.
func (c *cluster) dump(ctx context.Context) string {
	var b strings.Builder
	for _, res := range []string{"minions", "pods", "replicationControllers", "services", "endpoints", "events"} {
		out, err := c.kubectl(ctx, "get", res)
		fmt.Fprintf(&b, "$ kubectl get %s\n%s", res, out)
		if err != nil {
			fmt.Fprintf(&b, "(kubectl: %v)\n", err)
			// The raw API, in case the CLI is what is broken.
			var raw json.RawMessage
			if err := c.getJSON(ctx, c.apiURL(res, "", nil), &raw); err == nil {
				fmt.Fprintf(&b, "GET %s:\n%s\n", c.apiURL(res, "", nil), raw)
			} else {
				fmt.Fprintf(&b, "(api: %v)\n", err)
			}
		}
	}
	for _, h := range c.lab.Minions() {
		cs, err := c.containers(ctx, h)
		fmt.Fprintf(&b, "--- containers on %s (%s):\n", h.Name, h.Addr)
		if err != nil {
			fmt.Fprintf(&b, "  %v\n", err)
		}
		for _, ct := range cs {
			st := "exited"
			if ct.running {
				st = "running"
			}
			fmt.Fprintf(&b, "  %.12s %-8s pod=%s container=%s %s\n", ct.id, st, ct.pod, ct.name, ct.ports)
		}
	}
	c.mu.Lock()
	procs := []*lab.Process{c.master}
	for _, h := range c.lab.Minions() {
		procs = append(procs, c.minions[h.Name])
	}
	c.mu.Unlock()
	for _, p := range procs {
		state := "running"
		if done, err := p.Exited(); done {
			state = fmt.Sprintf("exited (%v)", err)
		}
		tail := p.Tail(400)
		if p.Host.Engine != nil {
			var kl []string
			for _, l := range tail {
				if strings.Contains(l, "kubelet") {
					kl = append(kl, l)
				}
			}
			if len(kl) > 40 {
				kl = kl[len(kl)-40:]
			}
			fmt.Fprintf(&b, "--- %s %s (%s): recent kubelet lines:\n", p.Host.Name, p.Name, state)
			for _, l := range kl {
				fmt.Fprintf(&b, "  %s\n", l)
			}
		}
		if len(tail) > 30 {
			tail = tail[len(tail)-30:]
		}
		fmt.Fprintf(&b, "--- %s %s (%s): last %d lines of %s:\n", p.Host.Name, p.Name, state, len(tail), p.LogPath)
		for _, l := range tail {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	return b.String()
}
