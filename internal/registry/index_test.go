package registry

import (
	"fmt"
	"testing"
	"time"

	"kubelite/internal/clock"

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
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	x := newPodIndex(clk.Now)
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
		{"a bind's late accounting after the informer saw the delete ignored", func() { x.observe(hostPod("a", "m1", 6, 8080)) }, 0, false},
		{"even at the deleted revision", func() { x.observe(hostPod("a", "m1", 7, 8080)) }, 0, false},
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

// TestPodIndexTombstones: the informer's deletes are remembered for
// tombstoneTTL, then purged, so the index does not grow with every pod ever
// deleted; a pod deleted and seen again later is accounted as new.
func TestPodIndexTombstones(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	x := newPodIndex(clk.Now)
	for i := 0; i < 100; i++ {
		x.set(fmt.Sprintf("default/p%d", i), hostPod(fmt.Sprintf("p%d", i), "m1", uint64(i+1), 0), uint64(i+1))
		x.drop(fmt.Sprintf("default/p%d", i))
	}
	if len(x.pods) != 100 {
		t.Fatalf("%d entries after 100 deletes, want 100 tombstones", len(x.pods))
	}
	x.set("default/p5", hostPod("p5", "m1", 500, 0), 500) // recreated: no longer a tombstone
	clk.Step(tombstoneTTL)
	x.set("default/last", hostPod("last", "m1", 600, 0), 600)
	x.drop("default/last")
	if len(x.pods) != 2 || len(x.gone) != 1 {
		t.Fatalf("%d entries, %d tombstones queued after the TTL; want the recreated pod and the newest tombstone", len(x.pods), len(x.gone))
	}
	if e := x.pods["default/p5"]; e.pod == nil || !e.gone.IsZero() {
		t.Fatalf("recreated pod p5 = %+v", e)
	}
}
