package registry

import (
	"testing"

	"kubelite/internal/api"
)

func hostPod(id, host string, rv uint64, hostPort int) *api.Pod {
	p := &api.Pod{TypeMeta: api.TypeMeta{ID: id, Namespace: "default", ResourceVersion: rv}}
	p.DesiredState.Host = host
	p.DesiredState.Manifest.Containers = []api.Container{{Name: "c", Image: "i", Ports: []api.Port{{ContainerPort: 80, HostPort: hostPort}}}}
	return p
}

// TestPodIndexOrdering: updates older than what was accounted are ignored,
// so an informer that lags behind the registry's own writes cannot undo them.
func TestPodIndexOrdering(t *testing.T) {
	m1 := &api.Minion{TypeMeta: api.TypeMeta{ID: "m1"}, Status: api.MinionStatus{Condition: api.MinionReady}}
	x := newPodIndex()
	steps := []struct {
		name     string
		do       func()
		onM1     int
		port8080 bool // a new pod wanting 8080 on m1 is refused
	}{
		{"bind accounted", func() { x.observe(hostPod("a", "m1", 5, 8080)) }, 1, true},
		{"stale unbound from informer ignored", func() { x.set("default/a", hostPod("a", "", 4, 8080), 4) }, 1, true},
		{"same pod newer, still bound", func() { x.set("default/a", hostPod("a", "m1", 6, 8080), 6) }, 1, true},
		{"deleted by the registry", func() { x.forget("default/a", 7) }, 0, false},
		{"stale informer update after the delete ignored", func() { x.set("default/a", hostPod("a", "m1", 6, 8080), 6) }, 0, false},
		{"informer sees the delete", func() { x.drop("default/a") }, 0, false},
		{"recreated and bound", func() { x.observe(hostPod("a", "m1", 9, 8080)) }, 1, true},
		{"terminated pod frees its port", func() {
			p := hostPod("a", "m1", 10, 8080)
			p.CurrentState.Phase = api.PodPhaseFailed
			x.set("default/a", p, 10)
		}, 0, false},
	}
	for _, s := range steps {
		s.do()
		if got := x.podsOn("m1"); got != s.onM1 {
			t.Fatalf("%s: %d pods on m1, want %d", s.name, got, s.onM1)
		}
		refused := len(x.check(hostPod("new", "", 0, 8080), m1)) > 0
		if refused != s.port8080 {
			t.Fatalf("%s: new pod on 8080 refused=%v, want %v", s.name, refused, s.port8080)
		}
	}
}

func TestFootprintIsIndependent(t *testing.T) {
	p := hostPod("a", "m1", 1, 8080)
	p.Labels = map[string]string{"k": "v"}
	fp := footprint(p)
	p.Labels["k"] = "changed"
	p.DesiredState.Manifest.Containers[0].Ports[0].HostPort = 9090
	if fp.Labels["k"] != "v" || fp.DesiredState.Manifest.Containers[0].Ports[0].HostPort != 8080 || fp.DesiredState.Host != "m1" {
		t.Fatalf("footprint shares memory with the pod: %+v", fp)
	}
}
