package fit

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"kubelite/internal/api"
)

func minion(id string, mut ...func(*api.Minion)) *api.Minion {
	m := &api.Minion{TypeMeta: api.TypeMeta{ID: id}, Status: api.MinionStatus{Condition: api.MinionReady}}
	for _, f := range mut {
		f(m)
	}
	return m
}

type podOpt func(*api.Pod)

func pod(id string, opts ...podOpt) *api.Pod {
	p := &api.Pod{TypeMeta: api.TypeMeta{ID: id, Namespace: "default"}}
	p.DesiredState.Manifest.Containers = []api.Container{{Name: "c", Image: "img"}}
	for _, o := range opts {
		o(p)
	}
	return p
}

func port(host int, proto, ip string) podOpt {
	return func(p *api.Pod) {
		c := &p.DesiredState.Manifest.Containers[0]
		c.Ports = append(c.Ports, api.Port{HostPort: host, ContainerPort: 80, Protocol: proto, HostIP: ip})
	}
}

func res(cpu, mem int64) podOpt {
	return func(p *api.Pod) {
		c := &p.DesiredState.Manifest.Containers[0]
		c.CPU, c.Memory = cpu, mem
	}
}

func selector(s map[string]string) podOpt { return func(p *api.Pod) { p.NodeSelector = s } }
func labels(s map[string]string) podOpt   { return func(p *api.Pod) { p.Labels = s } }
func phase(ph api.PodPhase) podOpt        { return func(p *api.Pod) { p.CurrentState.Phase = ph } }

func TestCheck(t *testing.T) {
	capacity := func(cpu, mem int64) func(*api.Minion) {
		return func(m *api.Minion) { m.Resources.Capacity = api.Capacity{CPU: cpu, Memory: mem} }
	}
	cases := []struct {
		name   string
		pod    *api.Pod
		minion *api.Minion
		others []*api.Pod
		want   []string
	}{
		{"empty minion fits", pod("p", port(8080, "", "")), minion("m"), nil, nil},
		{"hostPort taken", pod("p", port(8080, "", "")), minion("m"), []*api.Pod{pod("o", port(8080, "TCP", ""))}, []string{"hostPort 8080 in use"}},
		{"hostPort other protocol is free", pod("p", port(53, "UDP", "")), minion("m"), []*api.Pod{pod("o", port(53, "TCP", ""))}, nil},
		{"hostPort same UDP taken", pod("p", port(53, "udp", "")), minion("m"), []*api.Pod{pod("o", port(53, "UDP", ""))}, []string{"hostPort 53/UDP in use"}},
		{"hostPort distinct host IPs are free", pod("p", port(80, "", "10.0.0.1")), minion("m"), []*api.Pod{pod("o", port(80, "", "10.0.0.2"))}, nil},
		{"hostPort same host IP taken", pod("p", port(80, "", "10.0.0.1")), minion("m"), []*api.Pod{pod("o", port(80, "", "10.0.0.1"))}, []string{"hostPort 10.0.0.1:80 in use"}},
		{"hostPort wildcard vs specific taken", pod("p", port(80, "", "10.0.0.1")), minion("m"), []*api.Pod{pod("o", port(80, "", "0.0.0.0"))}, []string{"hostPort 10.0.0.1:80 in use"}},
		{"hostPort specific vs wildcard taken", pod("p", port(80, "", "")), minion("m"), []*api.Pod{pod("o", port(80, "", "10.0.0.1"))}, []string{"hostPort 80 in use"}},
		{"hostPort of a failed pod is free", pod("p", port(8080, "", "")), minion("m"), []*api.Pod{pod("o", port(8080, "", ""), phase(api.PodPhaseFailed))}, nil},
		{"the pod itself is skipped", pod("p", port(8080, "", "")), minion("m"), []*api.Pod{pod("p", port(8080, "", ""))}, nil},
		{"no hostPort never conflicts", pod("p"), minion("m"), []*api.Pod{pod("o", port(8080, "", ""))}, nil},
		{"cpu within capacity", pod("p", res(500, 0)), minion("m", capacity(1000, 0)), []*api.Pod{pod("o", res(500, 0))}, nil},
		{"cpu over capacity", pod("p", res(501, 0)), minion("m", capacity(1000, 0)), []*api.Pod{pod("o", res(500, 0))}, []string{ReasonCPU}},
		{"memory over capacity", pod("p", res(0, 600)), minion("m", capacity(0, 1000)), []*api.Pod{pod("o", res(0, 500))}, []string{ReasonMemory}},
		{"both over capacity", pod("p", res(2000, 2000)), minion("m", capacity(1000, 1000)), nil, []string{ReasonCPU, ReasonMemory}},
		{"capacity 0 is unlimited", pod("p", res(1<<40, 1<<40)), minion("m"), []*api.Pod{pod("o", res(1<<40, 1<<40))}, nil},
		{"terminated pods free resources", pod("p", res(800, 0)), minion("m", capacity(1000, 0)), []*api.Pod{pod("o", res(800, 0), phase(api.PodPhaseSucceeded))}, nil},
		{"nodeSelector subset", pod("p", selector(map[string]string{"disk": "ssd"})), minion("m", func(m *api.Minion) { m.Labels = map[string]string{"disk": "ssd", "zone": "a"} }), nil, nil},
		{"nodeSelector mismatch", pod("p", selector(map[string]string{"disk": "ssd"})), minion("m", func(m *api.Minion) { m.Labels = map[string]string{"disk": "hdd"} }), nil, []string{ReasonNodeSelector}},
		{"nodeSelector missing label", pod("p", selector(map[string]string{"disk": "ssd"})), minion("m"), nil, []string{ReasonNodeSelector}},
		{"not ready", pod("p"), minion("m", func(m *api.Minion) { m.Status.Condition = api.MinionNotReady }), nil, []string{ReasonNotReady}},
		{"unknown condition", pod("p"), minion("m", func(m *api.Minion) { m.Status.Condition = "" }), nil, []string{"minion Unknown"}},
		{"unschedulable", pod("p"), minion("m", func(m *api.Minion) { m.Unschedulable = true }), nil, []string{ReasonUnschedulable}},
		{"all reasons together", pod("p", port(8080, "", ""), res(10, 10), selector(map[string]string{"a": "b"})),
			minion("m", capacity(5, 5), func(m *api.Minion) { m.Status.Condition = api.MinionNotReady; m.Unschedulable = true }),
			[]*api.Pod{pod("o", port(8080, "", ""))},
			[]string{ReasonNotReady, ReasonUnschedulable, "hostPort 8080 in use", ReasonCPU, ReasonMemory, ReasonNodeSelector}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Check(tc.pod, tc.minion, tc.others)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Check = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNodeAddRemove(t *testing.T) {
	n := NewNode(minion("m"))
	a := pod("a", port(80, "", ""), res(100, 200), labels(map[string]string{"app": "web", "tier": "fe"}))
	b := pod("b", labels(map[string]string{"app": "web", "tier": "fe"}))
	c := pod("c", labels(map[string]string{"app": "db"}))
	for _, p := range []*api.Pod{a, b, c} {
		n.Add(p)
	}
	if n.Pods != 3 || n.CPU != 100 || n.Memory != 200 {
		t.Fatalf("after adds: pods %d cpu %d mem %d", n.Pods, n.CPU, n.Memory)
	}
	if got := n.Matching(map[string]string{"app": "web"}); got != 2 {
		t.Fatalf("Matching app=web = %d, want 2", got)
	}
	if got := n.Matching(map[string]string{"app": "web", "tier": "fe"}); got != 2 {
		t.Fatalf("Matching app=web,tier=fe = %d, want 2", got)
	}
	if got := n.Matching(map[string]string{"app": "db", "tier": "fe"}); got != 0 {
		t.Fatalf("Matching app=db,tier=fe = %d, want 0", got)
	}
	if !n.PortInUse(HostPort{Protocol: "TCP", Port: 80}) {
		t.Fatalf("port 80 should be in use")
	}
	n.Remove(a)
	if n.PortInUse(HostPort{Protocol: "TCP", Port: 80}) || n.CPU != 0 || n.Pods != 2 {
		t.Fatalf("after remove: port still in use or cpu %d pods %d", n.CPU, n.Pods)
	}
	if got := n.Matching(map[string]string{"app": "web"}); got != 1 {
		t.Fatalf("Matching app=web after remove = %d, want 1", got)
	}
	n.Remove(b)
	n.Remove(c)
	if len(n.groups) != 0 || len(n.ports) != 0 || n.Pods != 0 {
		t.Fatalf("node not empty after removing everything: %+v", n)
	}
}

func TestSummarize(t *testing.T) {
	cases := []struct {
		total int
		by    map[string][]string
		want  string
	}{
		{2, map[string][]string{"a": {"hostPort 8080 in use"}, "b": {"hostPort 8080 in use"}}, "0/2 minions fit: 2 hostPort 8080 in use"},
		{3, map[string][]string{"a": {"hostPort 8080 in use"}, "b": {"hostPort 8080 in use"}, "c": {ReasonNotReady, ReasonCPU}},
			"0/3 minions fit: 2 hostPort 8080 in use, 1 insufficient cpu, 1 minion NotReady"},
		{0, nil, "0/0 minions fit: no minions registered"},
	}
	for _, tc := range cases {
		if got := Summarize(tc.total, tc.by); got != tc.want {
			t.Errorf("Summarize = %q, want %q", got, tc.want)
		}
	}
}

// TestPredicatesEachFailsAlone: every predicate has a distinct name, and a
// pod/minion pair that breaks only that predicate gets only its reasons:
// the table and the rules cannot drift apart unnoticed.
func TestPredicatesEachFailsAlone(t *testing.T) {
	breaks := map[string]struct {
		pod    *api.Pod
		minion *api.Minion
		others []*api.Pod
		want   []string
	}{
		"MinionReady":  {pod("p"), minion("m", func(m *api.Minion) { m.Status.Condition = api.MinionNotReady }), nil, []string{ReasonNotReady}},
		"Schedulable":  {pod("p"), minion("m", func(m *api.Minion) { m.Unschedulable = true }), nil, []string{ReasonUnschedulable}},
		"HostPorts":    {pod("p", port(80, "", "")), minion("m"), []*api.Pod{pod("o", port(80, "", ""))}, []string{"hostPort 80 in use"}},
		"Resources":    {pod("p", res(600, 600)), minion("m", func(m *api.Minion) { m.Resources.Capacity = api.Capacity{CPU: 1000, Memory: 1000} }), []*api.Pod{pod("o", res(500, 500))}, []string{ReasonCPU, ReasonMemory}},
		"NodeSelector": {pod("p", selector(map[string]string{"disk": "ssd"})), minion("m"), nil, []string{ReasonNodeSelector}},
	}
	seen := map[string]bool{}
	for _, p := range Predicates {
		if p.Name == "" || seen[p.Name] || p.Check == nil {
			t.Fatalf("predicate %q: empty, repeated or without a check", p.Name)
		}
		seen[p.Name] = true
		b, ok := breaks[p.Name]
		if !ok {
			t.Errorf("predicate %s: no case here that breaks it alone", p.Name)
			continue
		}
		if got := Check(b.pod, b.minion, b.others); !reflect.DeepEqual(got, b.want) {
			t.Errorf("predicate %s broken alone: reasons %q, want %q", p.Name, got, b.want)
		}
	}
	if len(breaks) != len(Predicates) {
		t.Errorf("%d cases for %d predicates", len(breaks), len(Predicates))
	}
}

func TestLabelKey(t *testing.T) {
	long := strings.Repeat("x", 300) // past the stack buffer
	many := map[string]string{}
	for i := range 10 { // past the stack array of keys
		many[fmt.Sprintf("k%d", 9-i)] = "v"
	}
	for _, tc := range []struct {
		labels map[string]string
		want   string
	}{
		{nil, ""},
		{map[string]string{}, ""},
		{map[string]string{"app": "web"}, "app=web"},
		{map[string]string{"tier": "db", "app": "web", "a": ""}, "a=,app=web,tier=db"},
		{map[string]string{"k": long}, "k=" + long},
		{many, "k0=v,k1=v,k2=v,k3=v,k4=v,k5=v,k6=v,k7=v,k8=v,k9=v"},
	} {
		if got := LabelKey(tc.labels); got != tc.want {
			t.Errorf("LabelKey(%v) = %q, want %q", tc.labels, got, tc.want)
		}
	}
}

// Equal label sets share one rendering, and a set seen before costs no
// allocation.
func TestLabelKeyInterned(t *testing.T) {
	a := LabelKey(map[string]string{"app": "interned", "tier": "web"})
	b := LabelKey(map[string]string{"tier": "web", "app": "interned"})
	if unsafe.StringData(a) != unsafe.StringData(b) {
		t.Errorf("equal label sets rendered as two strings")
	}
	labels := map[string]string{"app": "interned", "tier": "web"}
	if n := testing.AllocsPerRun(100, func() { _ = LabelKey(labels) }); n != 0 {
		t.Errorf("LabelKey of a known set: %v allocations, want 0", n)
	}
}

func TestInternerBound(t *testing.T) {
	in := newInterner(2)
	x := in.intern([]byte("a"))
	in.intern([]byte("b"))
	if len(in.m) != 2 {
		t.Fatalf("%d interned, want 2", len(in.m))
	}
	if c := in.intern([]byte("c")); c != "c" || len(in.m) != 1 {
		t.Fatalf("past the bound: got %q with %d interned, want %q alone", c, len(in.m), "c")
	}
	if y := in.intern([]byte("a")); y != "a" || x != "a" {
		t.Fatalf("after a reset: %q, %q", x, y)
	}
}

// BenchmarkLabelKey renders a known set (as the scheduler and the
// registry's index do for every pod change).
func BenchmarkLabelKey(b *testing.B) {
	labels := map[string]string{"bench": "scale", "group": "3"}
	b.ReportAllocs()
	for b.Loop() {
		_ = LabelKey(labels)
	}
}
