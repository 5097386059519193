package replication

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"kubelite/internal/api"
)

func TestDecide(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pod := func(id, ns string, labels map[string]string, host string, phase api.PodPhase, age time.Duration) *api.Pod {
		p := &api.Pod{TypeMeta: api.TypeMeta{ID: id, Namespace: ns, Labels: labels, CreationTimestamp: t0.Add(-age)}}
		p.DesiredState.Host = host
		p.CurrentState.Phase = phase
		return p
	}
	web := map[string]string{"name": "web", "tier": "front"}
	running := func(id string, age time.Duration) *api.Pod {
		return pod(id, "default", web, "m1", api.PodPhaseRunning, age)
	}
	// Pods the RC does not count: another namespace, other labels,
	// terminated.
	others := []*api.Pod{
		pod("elsewhere", "prod", web, "m1", api.PodPhaseRunning, time.Hour),
		pod("db", "default", map[string]string{"name": "db"}, "m1", api.PodPhaseRunning, time.Hour),
		pod("done", "default", web, "m1", api.PodPhaseSucceeded, time.Hour),
		pod("failed", "default", web, "m1", api.PodPhaseFailed, time.Hour),
	}
	tests := []struct {
		name     string
		replicas int
		pods     []*api.Pod
		settled  bool
		burst    int
		want     string // active, create, deleted ids
	}{
		{"empty: create all", 3, nil, true, 500, "active 0 create 3 delete -"},
		{"burst caps creates", 1200, nil, true, 500, "active 0 create 500 delete -"},
		{"last burst: only what is missing", 5, []*api.Pod{running("a", time.Hour), running("b", time.Hour), running("c", time.Hour), running("d", time.Hour)}, true, 2, "active 4 create 1 delete -"},
		{"only selected active pods count", 3, append([]*api.Pod{running("a", time.Hour)}, others...), true, 500, "active 1 create 2 delete -"},
		{"pending expectations: count only", 3, []*api.Pod{running("a", time.Hour)}, false, 500, "active 1 create 0 delete -"},
		{"pending expectations: no delete", 0, []*api.Pod{running("a", time.Hour)}, false, 500, "active 1 create 0 delete -"},
		{"at size", 2, []*api.Pod{running("a", time.Hour), running("b", time.Hour)}, true, 500, "active 2 create 0 delete -"},
		{"surplus: unbound, then not running, then newest", 1, []*api.Pod{
			running("old", 3*time.Hour), running("new", time.Hour),
			pod("pending", "default", web, "m1", api.PodPhasePending, 5*time.Hour),
			pod("unbound", "default", web, "", "", 9*time.Hour),
		}, true, 500, "active 4 create 0 delete unbound,pending,new"},
		{"burst caps deletes", 0, []*api.Pod{running("a", time.Hour), running("b", 2*time.Hour), running("c", 3*time.Hour)}, true, 2, "active 3 create 0 delete a,b"},
		{"no namespace is default", 2, []*api.Pod{pod("a", "", web, "m1", api.PodPhaseRunning, time.Hour)}, true, 500, "active 1 create 1 delete -"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rc("web", tc.replicas)
			r.DesiredState.ReplicaSelector = map[string]string{"name": "web"}
			in := append([]*api.Pod(nil), tc.pods...)
			plan := Decide(r, in, tc.settled, tc.burst)
			del := "-"
			if len(plan.Delete) > 0 {
				var ids []string
				for _, p := range plan.Delete {
					ids = append(ids, p.ID)
				}
				del = strings.Join(ids, ",")
			}
			got := fmt.Sprintf("active %d create %d delete %s", plan.Active, plan.Create, del)
			if got != tc.want {
				t.Fatalf("Decide = %q, want %q", got, tc.want)
			}
			for i := range in {
				if in[i] != tc.pods[i] {
					t.Fatalf("Decide reordered its input")
				}
			}
		})
	}
}
