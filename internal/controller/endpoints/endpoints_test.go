package endpoints

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
	"kubelite/internal/testutil"
)

func svc(id string, port api.IntOrString) *api.Service {
	return &api.Service{TypeMeta: api.TypeMeta{ID: id, Namespace: "default"}, Port: 80,
		Selector: map[string]string{"name": "web"}, ContainerPort: port}
}

func pod(id, ip string, phase api.PodPhase, labels map[string]string, ports ...api.Port) *api.Pod {
	p := &api.Pod{TypeMeta: api.TypeMeta{ID: id, Namespace: "default", Labels: labels}}
	p.DesiredState.Manifest.Containers = []api.Container{{Name: "c", Image: "i", Ports: ports}}
	p.CurrentState.Phase, p.CurrentState.PodIP = phase, ip
	p.DesiredState.Host = "m1"
	if phase == api.PodPhaseRunning {
		p.CurrentState.Status = api.PodRunning
	}
	return p
}

var web = map[string]string{"name": "web"}

// readyMinion is the Ready minion m1 the test pods are bound to.
func readyMinion() *api.Minion {
	return &api.Minion{TypeMeta: api.TypeMeta{ID: "m1"}, Status: api.MinionStatus{Condition: api.MinionReady}}
}

func onlyM1(host string) bool { return host == "m1" }

func TestCompute(t *testing.T) {
	named := api.Port{Name: "http", ContainerPort: 8080}
	other := api.Port{Name: "metrics", ContainerPort: 9090}
	cases := []struct {
		name string
		svc  *api.Service
		pods []*api.Pod
		want []string
	}{
		{"port by number", svc("s", api.NewIntOrStringFromInt(8000)),
			[]*api.Pod{pod("b", "10.0.0.2", api.PodPhaseRunning, web), pod("a", "10.0.0.1", api.PodPhaseRunning, web)},
			[]string{"10.0.0.1:8000", "10.0.0.2:8000"}},
		{"port by name", svc("s", api.NewIntOrStringFromString("http")),
			[]*api.Pod{pod("a", "10.0.0.1", api.PodPhaseRunning, web, other, named), pod("b", "10.0.0.2", api.PodPhaseRunning, web, other)},
			[]string{"10.0.0.1:8080"}},
		{"unset: first container port", svc("s", api.IntOrString{}),
			[]*api.Pod{pod("a", "10.0.0.1", api.PodPhaseRunning, web, named)}, []string{"10.0.0.1:8080"}},
		{"unset and no ports: service port", svc("s", api.IntOrString{}),
			[]*api.Pod{pod("a", "10.0.0.1", api.PodPhaseRunning, web)}, []string{"10.0.0.1:80"}},
		{"only running pods with an IP matching the selector", svc("s", api.NewIntOrStringFromInt(80)),
			[]*api.Pod{
				pod("pending", "10.0.0.1", api.PodPhasePending, web),
				pod("failed", "10.0.0.2", api.PodPhaseFailed, web),
				pod("noip", "", api.PodPhaseRunning, web),
				pod("other", "10.0.0.4", api.PodPhaseRunning, map[string]string{"name": "db"}),
				pod("ok", "10.0.0.5", api.PodPhaseRunning, map[string]string{"name": "web", "v": "2"}),
			}, []string{"10.0.0.5:80"}},
		{"v1beta1 status only", svc("s", api.NewIntOrStringFromInt(80)),
			[]*api.Pod{func() *api.Pod { p := pod("a", "10.0.0.1", "", web); p.CurrentState.Status = api.PodRunning; return p }()},
			[]string{"10.0.0.1:80"}},
		{"other namespace", svc("s", api.NewIntOrStringFromInt(80)),
			[]*api.Pod{func() *api.Pod { p := pod("a", "10.0.0.1", api.PodPhaseRunning, web); p.Namespace = "other"; return p }()},
			[]string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Compute(tc.svc, tc.pods, onlyM1); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Compute = %q, want %q", got, tc.want)
			}
		})
	}
}

func endpointsOf(t *testing.T, st store.Store, id string) ([]string, bool) {
	t.Helper()
	obj, err := st.Get(context.Background(), api.EndpointsResource, "default", id)
	if api.IsNotFound(err) {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return obj.(*api.Endpoints).Endpoints, true
}

func TestSyncCreateUpdateDelete(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st := memory.New()
	mustCreate := func(o api.Object) {
		if _, err := st.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	mustCreate(svc("web", api.NewIntOrStringFromInt(80)))
	mustCreate(readyMinion())
	mustCreate(pod("a", "10.0.0.1", api.PodPhaseRunning, web))
	c := New(Config{Store: st})
	defer store.StartInformers(ctx, c.services, c.pods, c.minions)()
	defer cancel()
	if !c.WaitSynced(ctx) {
		t.Fatal("no sync")
	}
	if err := c.Sync(ctx, "default/web"); err != nil {
		t.Fatal(err)
	}
	if eps, _ := endpointsOf(t, st, "web"); !reflect.DeepEqual(eps, []string{"10.0.0.1:80"}) {
		t.Fatalf("endpoints %v", eps)
	}
	obj, _ := st.Get(ctx, api.EndpointsResource, "default", "web")
	rv := obj.Meta().ResourceVersion
	if err := c.Sync(ctx, "default/web"); err != nil {
		t.Fatal(err)
	}
	if obj, _ := st.Get(ctx, api.EndpointsResource, "default", "web"); obj.Meta().ResourceVersion != rv {
		t.Fatalf("an unchanged sync rewrote the endpoints")
	}
	if _, err := st.Delete(ctx, api.Services, "default", "web"); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, func() bool {
		_, ok := c.services.Get("default/web")
		return !ok
	}, "service delete seen by the cache")
	if err := c.Sync(ctx, "default/web"); err != nil {
		t.Fatal(err)
	}
	if _, ok := endpointsOf(t, st, "web"); ok {
		t.Fatalf("endpoints of a deleted service remain")
	}
}

// TestLoopFollowsPods runs the controller and checks that endpoints follow
// pod changes.
func TestLoopFollowsPods(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st := memory.New()
	if _, err := st.Create(ctx, svc("web", api.NewIntOrStringFromInt(80))); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Create(ctx, readyMinion()); err != nil {
		t.Fatal(err)
	}
	c := New(Config{Store: st})
	started := make(chan struct{})
	done := make(chan struct{})
	go func() { c.Run(ctx, func() { close(started) }); close(done) }()
	defer func() { cancel(); <-done }()
	<-started
	waitFor := func(what string, want []string) {
		t.Helper()
		testutil.Eventually(t, 10*time.Second, func() error {
			got, _ := endpointsOf(t, st, "web")
			if reflect.DeepEqual(got, want) || (len(got) == 0 && len(want) == 0) {
				return nil
			}
			return fmt.Errorf("endpoints %v, want %v", got, want)
		}, "%s", what)
	}
	p := pod("a", "", api.PodPhasePending, web)
	created, err := st.Create(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	waitFor("pending pod", nil)
	running := created.(*api.Pod)
	running.CurrentState.Phase, running.CurrentState.Status, running.CurrentState.PodIP = api.PodPhaseRunning, api.PodRunning, "10.0.0.9"
	if _, err := st.Update(ctx, running); err != nil {
		t.Fatal(err)
	}
	waitFor("running pod", []string{"10.0.0.9:80"})
	if _, err := st.Delete(ctx, api.Pods, "default", "a"); err != nil {
		t.Fatal(err)
	}
	waitFor("deleted pod", nil)
}
