package clustertest_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/clustertest"
	"kubelite/internal/component"
	"kubelite/internal/controller/endpoints"
	"kubelite/internal/controller/node"
	"kubelite/internal/controller/replication"
	"kubelite/internal/etcd/etcdtest"
	"kubelite/internal/record"
	"kubelite/internal/registry"
	"kubelite/internal/scheduler"
	"kubelite/internal/store"
	etcdstore "kubelite/internal/store/etcd"
	"kubelite/internal/store/memory"
	"kubelite/internal/testutil"
)

// cluster is a control plane (registry over a memory store, scheduler,
// replication manager, endpoints and node controllers) with simulated
// minions, on the wall clock with short node durations.
type cluster struct {
	t       *testing.T
	ctx     context.Context
	raw     store.Store
	reg     *registry.Registry
	minions *clustertest.Minions
	grace   time.Duration
	evict   time.Duration

	stopPlane func()
}

func newCluster(t *testing.T, minionIDs ...string) *cluster {
	t.Helper()
	return newClusterOn(t, memory.New(), minionIDs...)
}

// newClusterOn is newCluster over the raw store raw.
func newClusterOn(t *testing.T, raw store.Store, minionIDs ...string) *cluster {
	t.Helper()
	return newClusterGrace(t, raw, time.Second, 2*time.Second, minionIDs...)
}

// newClusterGrace is newClusterOn with the node controller's grace period
// and eviction timeout: tests that do not look at heartbeats make them long,
// so that a loaded machine delaying the simulated heartbeats (every 200 ms)
// past a 1 s grace does not evict pods under them.
func newClusterGrace(t *testing.T, raw store.Store, grace, evict time.Duration, minionIDs ...string) *cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clusterBudget)
	t.Cleanup(cancel)
	reg, err := registry.New(raw, registryConfig)
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, ctx: ctx, raw: raw, reg: reg, grace: grace, evict: evict}
	regCtx, stopReg := context.WithCancel(ctx)
	regDone := runComponents(t, regCtx, reg)
	t.Cleanup(func() { stopReg(); <-regDone })
	c.minions = clustertest.NewMinions(reg, nil)
	if err := c.minions.Register(ctx, minionIDs, nil); err != nil {
		t.Fatal(err)
	}
	simCtx, stopSim := context.WithCancel(ctx)
	simDone := make(chan struct{})
	go func() { c.minions.Run(simCtx, 200*time.Millisecond); close(simDone) }()
	t.Cleanup(func() { stopSim(); <-simDone })
	c.startPlane()
	t.Cleanup(func() { c.stopPlane() })
	return c
}

// clusterBudget bounds a cluster's life: beyond the longest wait of a test
// (the restart tests: a stop of up to 30 s, then 4 min for their pods), so
// that a slow run fails on its own wait, naming what it waited for, and not
// because the whole control plane was cancelled under it.
const clusterBudget = 6 * time.Minute

// registryConfig is the registries' configuration: these tests are not
// about quorum loss (internal/registry's are), so a write has far longer
// than the master's 3 s, which `make test -race` on a loaded machine can
// take over etcd.
var registryConfig = registry.Config{WriteTimeout: 30 * time.Second}

// runComponents starts comps with a component.Runner and waits until all
// started; the returned channel closes when they stopped.
func runComponents(t *testing.T, ctx context.Context, comps ...component.Component) chan struct{} {
	t.Helper()
	started := make(chan string, len(comps))
	done := make(chan struct{})
	go func() {
		defer close(done)
		r := component.Runner{StopTimeout: 30 * time.Second, OnStarted: func(n string) { started <- n }}
		if err := r.Run(ctx, comps...); err != nil {
			t.Errorf("components: %v", err)
		}
	}()
	for range comps {
		select {
		case <-started:
		case <-done:
			t.Fatal("components stopped before they started")
		}
	}
	return done
}

// startPlane starts the scheduler and controllers (again, after stopPlane:
// a master restart over the same store).
func (c *cluster) startPlane() {
	// Each start has its own registry, as a restarted master does; the
	// first one also serves the simulated minions and the test.
	reg, err := registry.New(c.raw, registryConfig)
	if err != nil {
		c.t.Fatal(err)
	}
	rec := func(src string) record.Recorder { return record.New(reg, record.Config{Source: src}) }
	nc, err := node.New(node.Config{Store: reg, Recorder: rec("node-controller"), GracePeriod: c.grace, EvictionTimeout: c.evict})
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(c.ctx)
	done := runComponents(c.t, ctx,
		reg,
		nc,
		scheduler.New(scheduler.Config{Store: reg, Recorder: rec("scheduler"), Seed: 1}),
		replication.New(replication.Config{Store: reg, Recorder: rec("replication-manager")}),
		endpoints.New(endpoints.Config{Store: reg}),
	)
	var once sync.Once
	c.stopPlane = func() { once.Do(func() { cancel(); <-done }) }
}

func (c *cluster) create(obj api.Object) {
	c.t.Helper()
	if _, err := c.reg.Create(c.ctx, obj); err != nil {
		c.t.Fatal(err)
	}
}

func (c *cluster) pods() []*api.Pod {
	c.t.Helper()
	objs, _, err := c.reg.List(c.ctx, api.Pods, store.ListOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	out := make([]*api.Pod, len(objs))
	for i, o := range objs {
		out[i] = o.(*api.Pod)
	}
	return out
}

// eventually waits for cond (a real-world integration: polling with a
// deadline); a failure lists the pods.
func (c *cluster) eventually(within time.Duration, what string, cond func() bool) time.Duration {
	c.t.Helper()
	return testutil.Eventually(c.t, within, func() error {
		if cond() {
			return nil
		}
		return fmt.Errorf("pods: %s", describe(c.pods()))
	}, "%s", what)
}

func describe(pods []*api.Pod) string {
	var parts []string
	for _, p := range pods {
		parts = append(parts, fmt.Sprintf("%s@%s/%s(%s)", p.ID, p.DesiredState.Host, p.CurrentState.Phase, p.CurrentState.Message))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

func running(pods []*api.Pod) map[string]int {
	out := map[string]int{}
	for _, p := range pods {
		if p.CurrentState.Phase == api.PodPhaseRunning {
			out[p.DesiredState.Host]++
		}
	}
	return out
}

func nginxRC(id string, replicas int, hostPort int) *api.ReplicationController {
	rc := &api.ReplicationController{TypeMeta: api.TypeMeta{ID: id, Namespace: "default", Labels: map[string]string{"name": id}}}
	rc.DesiredState.Replicas = replicas
	rc.DesiredState.ReplicaSelector = map[string]string{"name": id}
	rc.DesiredState.PodTemplate.Labels = map[string]string{"name": id}
	port := api.Port{ContainerPort: 80, HostPort: hostPort}
	rc.DesiredState.PodTemplate.DesiredState.Manifest = api.ContainerManifest{Version: "v1beta1", ID: id,
		Containers: []api.Container{{Name: "nginx", Image: "dockerfile/nginx", Ports: []api.Port{port}}}}
	return rc
}

func TestSixReplicasSpreadThreeThree(t *testing.T) {
	c := newCluster(t, "10.0.0.1", "10.0.0.2")
	c.create(nginxRC("nginx", 6, 0))
	c.eventually(10*time.Second, "6 pods Running 3/3", func() bool {
		r := running(c.pods())
		return r["10.0.0.1"] == 3 && r["10.0.0.2"] == 3
	})
	// Endpoints of a service over them list all six.
	c.create(&api.Service{TypeMeta: api.TypeMeta{ID: "nginx", Namespace: "default"}, Port: 8000,
		Selector: map[string]string{"name": "nginx"}, ContainerPort: api.NewIntOrStringFromInt(80)})
	c.eventually(time.Second, "6 endpoints", func() bool {
		o, err := c.reg.Get(c.ctx, api.EndpointsResource, "default", "nginx")
		return err == nil && len(o.(*api.Endpoints).Endpoints) == 6
	})
	c.eventually(2*time.Second, "rc currentState.replicas = 6", func() bool {
		o, _ := c.reg.Get(c.ctx, api.ReplicationControllers, "default", "nginx")
		return o.(*api.ReplicationController).CurrentState.Replicas == 6
	})
}

func TestDeletedPodIsReplacedWithinASecond(t *testing.T) {
	c := newCluster(t, "10.0.0.1", "10.0.0.2")
	c.create(nginxRC("nginx", 3, 0))
	c.eventually(10*time.Second, "3 Running", func() bool { r := running(c.pods()); return r["10.0.0.1"]+r["10.0.0.2"] == 3 })
	victim := c.pods()[0].ID
	if _, err := c.reg.Delete(c.ctx, api.Pods, "default", victim); err != nil {
		t.Fatal(err)
	}
	took := c.eventually(time.Second, "a replacement pod", func() bool {
		pods := c.pods()
		if len(pods) != 3 {
			return false
		}
		for _, p := range pods {
			if p.ID == victim {
				return false
			}
		}
		return true
	})
	t.Logf("replacement created %s after the delete", took)
	c.eventually(5*time.Second, "3 Running again", func() bool { r := running(c.pods()); return r["10.0.0.1"]+r["10.0.0.2"] == 3 })
}

func TestHostPortReplicasBeyondMinionsStayPending(t *testing.T) {
	c := newCluster(t, "10.0.0.1", "10.0.0.2")
	c.create(nginxRC("web", 3, 8080))
	const want = "0/2 minions fit: 2 hostPort 8080 in use"
	c.eventually(10*time.Second, "2 Running + 1 Pending with the reason", func() bool {
		pods := c.pods()
		r := running(pods)
		pending := 0
		for _, p := range pods {
			if p.DesiredState.Host == "" && p.CurrentState.Reason == scheduler.ReasonUnschedulable && p.CurrentState.Message == want {
				pending++
			}
		}
		return len(pods) == 3 && r["10.0.0.1"] == 1 && r["10.0.0.2"] == 1 && pending == 1
	})
	c.eventually(2*time.Second, "a failedScheduling event", func() bool {
		objs, _, _ := c.reg.List(c.ctx, api.Events, store.ListOptions{})
		for _, o := range objs {
			if e := o.(*api.Event); e.Reason == scheduler.EventFailedScheduling && e.Message == want {
				return true
			}
		}
		return false
	})
	// A third minion appears: the pending pod is bound at once.
	if err := c.minions.Register(c.ctx, []string{"10.0.0.3"}, nil); err != nil {
		t.Fatal(err)
	}
	c.eventually(2*time.Second, "the pending pod Running on the new minion", func() bool { return running(c.pods())["10.0.0.3"] == 1 })
}

func TestSilentMinionLosesItsPods(t *testing.T) {
	c := newCluster(t, "10.0.0.1", "10.0.0.2")
	c.create(nginxRC("nginx", 4, 0))
	c.eventually(10*time.Second, "4 Running 2/2", func() bool {
		r := running(c.pods())
		return r["10.0.0.1"] == 2 && r["10.0.0.2"] == 2
	})
	stopped := time.Now()
	c.minions.Stop("10.0.0.1")
	limit := c.grace + c.evict + 5*time.Second
	c.eventually(limit, "all 4 Running on 10.0.0.2", func() bool {
		pods := c.pods()
		return len(pods) == 4 && running(pods)["10.0.0.2"] == 4
	})
	t.Logf("pods moved %s after the heartbeats stopped (limit %s)", time.Since(stopped).Round(10*time.Millisecond), limit)
	o, _ := c.reg.Get(c.ctx, api.Minions, "", "10.0.0.1")
	if cond := o.(*api.Minion).Status.Condition; cond != api.MinionNotReady {
		t.Fatalf("silent minion is %s, want NotReady", cond)
	}
	reasons := map[string]int{}
	c.eventually(2*time.Second, "1 NotReady and 2 evicted events", func() bool {
		objs, _, _ := c.reg.List(c.ctx, api.Events, store.ListOptions{})
		reasons = map[string]int{}
		for _, o := range objs {
			reasons[o.(*api.Event).Reason]++
		}
		return reasons[node.EventNotReady] == 1 && reasons[node.EventEvicted] == 2
	})
}

// The restart tests count pods: an eviction (a heartbeat late on a loaded
// machine) would delete and recreate some, so the minions never time out.
func TestRestartMidScaleCreatesNoExtra(t *testing.T) {
	restartMidScale(t, newClusterGrace(t, memory.New(), time.Hour, time.Hour, "10.0.0.1", "10.0.0.2"), 1200, "big")
}

// TestRestartMidScaleOnEtcd is the restart test over an embedded etcd.
func TestRestartMidScaleOnEtcd(t *testing.T) {
	srv := etcdtest.Start(t, "")
	restartMidScale(t, newClusterGrace(t, etcdstore.New(srv.Client(t)), time.Hour, time.Hour, "10.0.0.1", "10.0.0.2"), 1200, "big")
}

// restartMidScale stops and restarts the control plane while RCs of n pods
// each (above one burst) scale up, and checks that no RC's pod count ever
// exceeds n.
func restartMidScale(t *testing.T, c *cluster, n int, ids ...string) {
	// Watch the pod counts from the start: none may exceed the replicas.
	_, rev, err := c.reg.List(c.ctx, api.Pods, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.reg.Watch(c.ctx, api.Pods, store.ListOptions{ResourceVersion: rev})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	count, peak := map[string]int{}, map[string]int{}
	go func() {
		for ev := range w {
			id := ev.Object.Meta().Labels["name"]
			mu.Lock()
			switch ev.Type {
			case store.Added:
				count[id]++
			case store.Deleted:
				count[id]--
			}
			peak[id] = max(peak[id], count[id])
			mu.Unlock()
		}
	}()
	defer func() { // also when a wait below fails: how high the counts went
		mu.Lock()
		defer mu.Unlock()
		if t.Failed() {
			t.Logf("peaks per rc %v, counts by the watch %v (want at most %d)", peak, count, n)
		}
	}()
	for _, id := range ids {
		c.create(nginxRC(id, n, 0))
	}
	total := n * len(ids)
	c.eventually(10*time.Second, "some pods created", func() bool { return len(c.pods()) > 0 })
	c.stopPlane() // the master stops mid-scale...
	mid := len(c.pods())
	c.startPlane() // ...and comes back
	c.eventually(4*time.Minute, fmt.Sprintf("%d pods", total), func() bool { return len(c.pods()) == total })
	time.Sleep(500 * time.Millisecond) // let any extra creates surface
	listed := map[string]int{}
	for _, p := range c.pods() {
		listed[p.Labels["name"]]++
	}
	mu.Lock()
	defer mu.Unlock()
	top := 0
	for _, id := range ids {
		if listed[id] != n || peak[id] != n {
			t.Errorf("rc %s: %d pods listed, %d by the watch, peak %d, want exactly %d (restart at %d of %d)", id, listed[id], count[id], peak[id], n, mid, total)
		}
		top = max(top, peak[id])
	}
	t.Logf("restarted at %d of %d pods; highest peak %d of %d", mid, total, top, n)
}
