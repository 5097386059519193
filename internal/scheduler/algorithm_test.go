package scheduler

import (
	"fmt"
	"testing"

	"kubelite/internal/api"
	"kubelite/internal/fit"
)

func readyMinion(id string, mut ...func(*api.Minion)) *api.Minion {
	m := &api.Minion{TypeMeta: api.TypeMeta{ID: id}, Status: api.MinionStatus{Condition: api.MinionReady}}
	for _, f := range mut {
		f(m)
	}
	return m
}

func testPod(id string, labels map[string]string, mut ...func(*api.Pod)) *api.Pod {
	p := &api.Pod{TypeMeta: api.TypeMeta{ID: id, Namespace: "default", Labels: labels}}
	p.DesiredState.Manifest.Containers = []api.Container{{Name: "c", Image: "img"}}
	for _, f := range mut {
		f(p)
	}
	return p
}

func withHostPort(port int) func(*api.Pod) {
	return func(p *api.Pod) {
		p.DesiredState.Manifest.Containers[0].Ports = []api.Port{{HostPort: port, ContainerPort: 80}}
	}
}

func withCPU(cpu int64) func(*api.Pod) {
	return func(p *api.Pod) { p.DesiredState.Manifest.Containers[0].CPU = cpu }
}

// place schedules pods one after the other, binding each where chosen.
func place(t *testing.T, pods []*api.Pod, minions []*api.Minion, by map[string][]*api.Pod, seed int64) (map[string]int, []string) {
	t.Helper()
	counts := map[string]int{}
	var order []string
	if by == nil {
		by = map[string][]*api.Pod{}
	}
	for _, p := range pods {
		host, reasons := ScheduleMinions(p, minions, by, seed)
		if host == "" {
			order = append(order, "")
			_ = reasons
			continue
		}
		p.DesiredState.Host = host
		by[host] = append(by[host], p)
		counts[host]++
		order = append(order, host)
	}
	return counts, order
}

func TestSpreadSixOnTwo(t *testing.T) {
	for seed := int64(0); seed < 20; seed++ {
		var pods []*api.Pod
		for i := 0; i < 6; i++ {
			pods = append(pods, testPod(fmt.Sprintf("nginx-%d", i), map[string]string{"name": "nginx"}))
		}
		counts, _ := place(t, pods, []*api.Minion{readyMinion("a"), readyMinion("b")}, nil, seed)
		if counts["a"] != 3 || counts["b"] != 3 {
			t.Fatalf("seed %d: placement %v, want 3/3", seed, counts)
		}
	}
}

func TestSpreadBeatsLeastRequested(t *testing.T) {
	// b is busier in cpu but runs no pod of the RC: spreading wins.
	capacity := func(m *api.Minion) { m.Resources.Capacity.CPU = 1000 }
	minions := []*api.Minion{readyMinion("a", capacity), readyMinion("b", capacity)}
	by := map[string][]*api.Pod{
		"a": {testPod("x", map[string]string{"name": "web"})},
		"b": {testPod("y", map[string]string{"name": "db"}, withCPU(500))},
	}
	host, _ := ScheduleMinions(testPod("p", map[string]string{"name": "web"}), minions, by, 1)
	if host != "b" {
		t.Fatalf("chose %q, want b (no web pod there)", host)
	}
	// Equal spreading: least requested decides.
	host, _ = ScheduleMinions(testPod("q", map[string]string{"name": "cache"}), minions, by, 1)
	if host != "a" {
		t.Fatalf("chose %q, want a (least requested)", host)
	}
}

func TestSpreadCountsSupersetLabels(t *testing.T) {
	// Pods carrying more labels than the new pod still count as its kind.
	minions := []*api.Minion{readyMinion("a"), readyMinion("b")}
	by := map[string][]*api.Pod{"a": {testPod("x", map[string]string{"name": "web", "v": "1"})}}
	host, _ := ScheduleMinions(testPod("p", map[string]string{"name": "web"}), minions, by, 3)
	if host != "b" {
		t.Fatalf("chose %q, want b", host)
	}
}

func TestFewestPodsBreaksTies(t *testing.T) {
	minions := []*api.Minion{readyMinion("a"), readyMinion("b")}
	by := map[string][]*api.Pod{"a": {testPod("x", nil)}}
	host, _ := ScheduleMinions(testPod("p", map[string]string{"other": "1"}), minions, by, 0)
	if host != "b" {
		t.Fatalf("chose %q, want b", host)
	}
}

func TestDeterministicSeed(t *testing.T) {
	var minions []*api.Minion
	for i := 0; i < 10; i++ {
		minions = append(minions, readyMinion(fmt.Sprintf("m%d", i)))
	}
	choose := func(seed int64) string {
		h, _ := ScheduleMinions(testPod("p", nil), minions, nil, seed)
		return h
	}
	differs := false
	for seed := int64(0); seed < 10; seed++ {
		if a, b := choose(seed), choose(seed); a != b || a == "" {
			t.Fatalf("seed %d: %q then %q", seed, a, b)
		}
		if choose(seed) != choose(0) {
			differs = true
		}
	}
	if !differs {
		t.Fatalf("every seed chose the same minion: ties are not spread")
	}
}

func TestPredicatesExcludeMinions(t *testing.T) {
	notReady := func(m *api.Minion) { m.Status.Condition = api.MinionNotReady }
	unsched := func(m *api.Minion) { m.Unschedulable = true }
	ssd := func(m *api.Minion) { m.Labels = map[string]string{"disk": "ssd"} }
	small := func(m *api.Minion) { m.Resources.Capacity.CPU = 100 }
	cases := []struct {
		name    string
		pod     *api.Pod
		minions []*api.Minion
		by      map[string][]*api.Pod
		want    string
		summary string
	}{
		{"not ready skipped", testPod("p", nil), []*api.Minion{readyMinion("a", notReady), readyMinion("b")}, nil, "b", ""},
		{"unschedulable skipped", testPod("p", nil), []*api.Minion{readyMinion("a"), readyMinion("b", unsched)}, nil, "a", ""},
		{"nodeSelector", testPod("p", nil, func(p *api.Pod) { p.NodeSelector = map[string]string{"disk": "ssd"} }),
			[]*api.Minion{readyMinion("a"), readyMinion("b", ssd)}, nil, "b", ""},
		{"cpu", testPod("p", nil, withCPU(200)), []*api.Minion{readyMinion("a", small), readyMinion("b")}, nil, "b", ""},
		{"hostPort", testPod("p", nil, withHostPort(8080)), []*api.Minion{readyMinion("a"), readyMinion("b")},
			map[string][]*api.Pod{"b": {testPod("o", nil, withHostPort(8080))}}, "a", ""},
		{"nowhere", testPod("p", nil, withHostPort(8080)), []*api.Minion{readyMinion("a"), readyMinion("b")},
			map[string][]*api.Pod{"a": {testPod("o", nil, withHostPort(8080))}, "b": {testPod("o2", nil, withHostPort(8080))}},
			"", "0/2 minions fit: 2 hostPort 8080 in use"},
		{"nowhere mixed", testPod("p", nil, withHostPort(8080)), []*api.Minion{readyMinion("a", notReady), readyMinion("b")},
			map[string][]*api.Pod{"b": {testPod("o2", nil, withHostPort(8080))}},
			"", "0/2 minions fit: 1 hostPort 8080 in use, 1 minion NotReady"},
		{"no minions", testPod("p", nil), nil, nil, "", "0/0 minions fit: no minions registered"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			host, reasons := ScheduleMinions(tc.pod, tc.minions, tc.by, 7)
			if host != tc.want {
				t.Fatalf("chose %q, want %q (reasons %v)", host, tc.want, reasons)
			}
			if tc.want == "" {
				if got := summarize(len(tc.minions), reasons); got != tc.summary {
					t.Fatalf("summary %q, want %q", got, tc.summary)
				}
			}
		})
	}
}

func TestFeasibleToFind(t *testing.T) {
	for _, tc := range []struct{ n, want int }{
		{0, 0}, {1, 1}, {100, 100}, {101, 100}, {200, 100}, {1000, 420}, {5000, 500}, {6000, 300}, {20000, 1000},
	} {
		if got := feasibleToFind(tc.n); got != tc.want {
			t.Errorf("feasibleToFind(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}

// TestSampledDecisionsRotate: at 1,000 minions a decision looks at 420 of
// them, from where the last one stopped, and takes the one with fewest
// pods of the kind in that window; 2,000 pods of one kind end within one
// of two a minion (without sampling: exactly two); a minion that alone
// fits is found wherever the window stands.
func TestSampledDecisionsRotate(t *testing.T) {
	const n = 1000
	var nodes []*fit.Node
	for i := 0; i < n; i++ {
		nodes = append(nodes, fit.NewNode(readyMinion(fmt.Sprintf("m%04d", i))))
	}
	enough := feasibleToFind(n)
	counts := map[string]int{}
	start := 0
	for i := 0; i < 2*n; i++ {
		p := testPod(fmt.Sprintf("web-%d", i), map[string]string{"name": "web"})
		pi := fit.NewPodInfo(p)
		spread := func(j int) int { return counts[nodes[j].Minion.ID] }
		host, _, next := scheduleInfo(pi, nodes, spread, func(j int) uint64 { return hashString(0, nodes[j].Minion.ID) }, 1, enough, start)
		if want := (start + enough) % n; next != want {
			t.Fatalf("pod %d: next %d, want %d", i, next, want)
		}
		start = next
		if host == "" {
			t.Fatalf("pod %d not placed", i)
		}
		least := -1
		for k := 0; k < enough; k++ {
			if c := counts[nodes[(start-enough+n+k)%n].Minion.ID]; least < 0 || c < least {
				least = c
			}
		}
		if counts[host] != least {
			t.Fatalf("pod %d placed on %s with %d of its kind; its window's least was %d", i, host, counts[host], least)
		}
		counts[host]++
	}
	for _, nd := range nodes {
		if c := counts[nd.Minion.ID]; c < 1 || c > 3 {
			t.Errorf("%s holds %d pods of the kind, want 1..3 (2,000 on 1,000)", nd.Minion.ID, c)
		}
	}
	// Only m0007 fits a pod asking for its host port; every other minion has it taken.
	for i, nd := range nodes {
		if i != 7 {
			nd.Add(testPod(fmt.Sprintf("hp-%d", i), nil, withHostPort(8080)))
		}
	}
	host, _, _ := scheduleInfo(fit.NewPodInfo(testPod("wants-8080", nil, withHostPort(8080))), nodes,
		func(int) int { return 0 }, func(int) uint64 { return 0 }, 1, enough, 500)
	if host != "m0007" {
		t.Fatalf("host %q, want m0007, the only one that fits", host)
	}
}
