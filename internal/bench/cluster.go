package bench

import (
	"context"
	"fmt"
	"os"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/store"
)

// schedule: pods onto hollow minions, created to bound, pods/s.
func schedule(ctx context.Context, env Env, o Options) ([]Figure, error) {
	var figs []Figure
	sizes := []struct{ minions, pods, runs int }{{100, pick(o, 2000, 10000), pick(o, 2, 3)}, {1000, pick(o, 3000, 30000), pick(o, 1, 3)}}
	for _, sz := range sizes {
		var rates Sample
		for run := 0; run < sz.runs; run++ {
			r, err := scheduleOnce(ctx, env, sz.minions, sz.pods)
			if err != nil {
				return figs, err
			}
			rates = append(rates, r)
		}
		f := NewFigure("", fmt.Sprintf("%d pods onto %d minions", sz.pods, sz.minions), "pods/s", rates)
		figs = append(figs, f.WithTarget(">= 1,000 pods/s", f.Median >= 1000))
	}
	return figs, nil
}

func scheduleOnce(ctx context.Context, env Env, minions, pods int) (float64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m, err := env.StartMaster(ctx, MasterOptions{Scheduler: true})
	if err != nil {
		return 0, err
	}
	defer m.Close()
	fleet, err := m.Hollow(ctx, "hollow", minions)
	if err != nil {
		return 0, err
	}
	defer fleet.Close()
	// Only bound pods: two events a pod (bind, status) instead of three.
	onlyBound, err := api.ParseSelector(api.FieldDesiredStateHost + "!=")
	if err != nil {
		return 0, err
	}
	c := newCounter(m.Store(), store.ListOptions{Fields: onlyBound}, bound)
	if err := c.start(ctx); err != nil {
		return 0, err
	}
	list := make([]*api.Pod, pods)
	for i := range list {
		list[i] = benchPod(fmt.Sprintf("s%05d", i), map[string]string{"bench": "schedule", "group": fmt.Sprint(i % 10)})
	}
	t0 := time.Now()
	if err := createMany(ctx, m.Store(), list, 16); err != nil {
		return 0, err
	}
	if err := c.waitFor(ctx, 10*time.Minute, "all pods bound", func(n int) bool { return n >= pods }); err != nil {
		return 0, err
	}
	return float64(pods) / time.Since(t0).Seconds(), nil
}

func rc(id string, replicas int) *api.ReplicationController {
	labels := map[string]string{"name": id}
	tmpl := benchPod("", labels)
	return &api.ReplicationController{
		TypeMeta: api.TypeMeta{ID: id, Namespace: api.DefaultNamespace, Labels: labels},
		DesiredState: api.ReplicationControllerState{Replicas: replicas, ReplicaSelector: labels,
			PodTemplate: api.PodTemplate{DesiredState: tmpl.DesiredState, Labels: labels}},
	}
}

func setReplicas(ctx context.Context, st store.Store, id string, n int) error {
	for {
		obj, err := st.Get(ctx, api.ReplicationControllers, api.DefaultNamespace, id)
		if err != nil {
			return err
		}
		r := obj.(*api.ReplicationController)
		r.DesiredState.Replicas = n
		if _, err = st.Update(ctx, r); err == nil || !api.IsConflict(err) {
			return err
		}
	}
}

// rcConverge: an RC of 10,000 replicas on 500 hollow minions: create to all
// Running, and scale to zero to all gone.
func rcConverge(ctx context.Context, env Env, o Options) ([]Figure, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	minions, replicas := pick(o, 50, 500), pick(o, 1000, 10000)
	m, err := env.StartMaster(ctx, MasterOptions{Scheduler: true, Controllers: true})
	if err != nil {
		return nil, err
	}
	defer m.Close()
	fleet, err := m.Hollow(ctx, "hollow", minions)
	if err != nil {
		return nil, err
	}
	defer fleet.Close()
	sel := api.SelectorFromSet(map[string]string{"name": "converge"})
	up := newCounter(m.Store(), store.ListOptions{Labels: sel}, running)
	all := newCounter(m.Store(), store.ListOptions{Labels: sel}, func(*api.Pod) bool { return true })
	if err := up.start(ctx); err != nil {
		return nil, err
	}
	if err := all.start(ctx); err != nil {
		return nil, err
	}
	t0 := time.Now()
	if _, err := m.Store().Create(ctx, rc("converge", replicas)); err != nil {
		return nil, err
	}
	if err := up.waitFor(ctx, 10*time.Minute, "all replicas Running", func(n int) bool { return n >= replicas }); err != nil {
		return nil, err
	}
	createD := time.Since(t0)
	t1 := time.Now()
	if err := setReplicas(ctx, m.Store(), "converge", 0); err != nil {
		return nil, err
	}
	if err := all.waitFor(ctx, 10*time.Minute, "all replicas gone", func(n int) bool { return n == 0 }); err != nil {
		return nil, err
	}
	deleteD := time.Since(t1)
	cf := NewFigure("", fmt.Sprintf("RC of %d on %d minions: create to all Running", replicas, minions), "s", Sample{createD.Seconds()})
	df := NewFigure("", fmt.Sprintf("RC of %d: scale to 0 to all gone", replicas), "s", Sample{deleteD.Seconds()})
	return []Figure{cf.WithTarget("< 30 s", cf.Median < 30), df.WithTarget("< 30 s", df.Median < 30)}, nil
}

// reschedule: delete one pod of an RC; delete to replacement Running.
func reschedule(ctx context.Context, env Env, o Options) ([]Figure, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m, err := env.StartMaster(ctx, MasterOptions{Scheduler: true, Controllers: true})
	if err != nil {
		return nil, err
	}
	defer m.Close()
	fleet, err := m.Hollow(ctx, "hollow", 10)
	if err != nil {
		return nil, err
	}
	defer fleet.Close()
	const replicas = 30
	sel := api.SelectorFromSet(map[string]string{"name": "resched"})
	up := newCounter(m.Store(), store.ListOptions{Labels: sel}, running)
	if err := up.start(ctx); err != nil {
		return nil, err
	}
	if _, err := m.Store().Create(ctx, rc("resched", replicas)); err != nil {
		return nil, err
	}
	if err := up.waitFor(ctx, time.Minute, "RC Running", func(n int) bool { return n >= replicas }); err != nil {
		return nil, err
	}
	var lats []time.Duration
	for i := 0; i < pick(o, 10, 50); i++ {
		pods, _, err := m.Store().List(ctx, api.Pods, store.ListOptions{Labels: sel})
		if err != nil {
			return nil, err
		}
		victim := pods[i%len(pods)].Meta().ID
		t0 := time.Now()
		if _, err := m.Store().Delete(ctx, api.Pods, api.DefaultNamespace, victim); err != nil {
			return nil, err
		}
		if err := up.waitFor(ctx, time.Second*30, "victim gone", func(n int) bool { return n < replicas }); err != nil {
			return nil, err
		}
		if err := up.waitFor(ctx, time.Second*30, "replacement Running", func(n int) bool { return n >= replicas }); err != nil {
			return nil, err
		}
		lats = append(lats, time.Since(t0))
	}
	s := Durations(lats)
	f := NewFigure("", "delete to replacement Running p99", "ms", Sample{s.Quantile(0.99)})
	return []Figure{
		NewFigure("", "delete to replacement Running p50", "ms", Sample{s.Quantile(0.5)}),
		f.WithTarget("p99 < 1000 ms", f.Median < 1000),
	}, nil
}

// minionLoss: stop 10 of 100 hollow minions holding 3,000 pods; stop to all
// pods Running elsewhere, against grace + eviction + 5 s.
func minionLoss(ctx context.Context, env Env, o Options) ([]Figure, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	grace, evict := pick(o, 2*time.Second, 5*time.Second), pick(o, 2*time.Second, 5*time.Second)
	minions, replicas, lost := pick(o, 20, 100), pick(o, 600, 3000), pick(o, 2, 10)
	m, err := env.StartMaster(ctx, MasterOptions{Scheduler: true, Controllers: true, NodeGrace: grace, PodEviction: evict})
	if err != nil {
		return nil, err
	}
	defer m.Close()
	fleet, err := m.Hollow(ctx, "hollow", minions)
	if err != nil {
		return nil, err
	}
	defer fleet.Close()
	var victims []string
	victimSet := map[string]bool{}
	for i := 0; i < lost; i++ {
		n := fmt.Sprintf("hollow-%d", i)
		victims = append(victims, n)
		victimSet[n] = true
	}
	sel := api.SelectorFromSet(map[string]string{"name": "loss"})
	up := newCounter(m.Store(), store.ListOptions{Labels: sel}, running)
	healthy := newCounter(m.Store(), store.ListOptions{Labels: sel}, func(p *api.Pod) bool {
		return running(p) && !victimSet[p.DesiredState.Host]
	})
	if err := up.start(ctx); err != nil {
		return nil, err
	}
	if err := healthy.start(ctx); err != nil {
		return nil, err
	}
	if _, err := m.Store().Create(ctx, rc("loss", replicas)); err != nil {
		return nil, err
	}
	if err := up.waitFor(ctx, 5*time.Minute, "RC Running", func(n int) bool { return n >= replicas }); err != nil {
		return nil, err
	}
	t0 := time.Now()
	fleet.Stop(victims...)
	if err := healthy.waitFor(ctx, grace+evict+2*time.Minute, "pods Running on live minions", func(n int) bool { return n >= replicas }); err != nil {
		return nil, err
	}
	d := time.Since(t0)
	target := grace + evict + 5*time.Second
	f := NewFigure("", fmt.Sprintf("stop %d of %d minions (%d pods): all Running elsewhere", lost, minions, replicas), "s", Sample{d.Seconds()})
	return []Figure{f.WithTarget(fmt.Sprintf("< grace %s + eviction %s + 5 s", grace, evict), d < target)}, nil
}

// podStartup: real Docker, image present: create to Running seen on a
// watch, one pod after another. First on the pod network `kubelite minion`
// runs by default (the target's row; it needs root, as the minion does),
// then on the engine's default bridge with an infra container a pod, the
// model of Kubernetes v0.6 (--network=none), for comparison.
func podStartup(ctx context.Context, env Env, o Options) ([]Figure, error) {
	n := pick(o, 10, 50)
	var figs []Figure
	if os.Geteuid() == 0 {
		lats, err := startupRun(ctx, env, n, PodNetwork)
		if err != nil {
			return nil, fmt.Errorf("on the pod network: %w", err)
		}
		p50, p99 := startupFigures(lats, fmt.Sprintf("(%d pods, the minion's default pod network: one container a pod)", n))
		figs = append(figs, p50, p99.WithTarget("p99 < 1000 ms", p99.Median < 1000))
	} else {
		o.addNote("pod-startup: the row on the minion's default pod network needs root (the kubelet attaches each pod to it); only the engine's default bridge was measured")
	}
	lats, err := startupRun(ctx, env, n, EngineBridge)
	if err != nil {
		return nil, fmt.Errorf("on the engine's default bridge: %w", err)
	}
	p50, p99 := startupFigures(lats, fmt.Sprintf("(%d pods, the engine's default bridge: an infra container a pod, as Kubernetes v0.6)", n))
	return append(figs, p50, p99), nil
}

// startupFigures are the p50 and p99 of lats, named after what they measured.
func startupFigures(lats []time.Duration, what string) (p50, p99 Figure) {
	s := Durations(lats)
	return NewFigure("", "create to Running p50 "+what, "ms", Sample{s.Quantile(0.5)}),
		NewFigure("", "create to Running p99 "+what, "ms", Sample{s.Quantile(0.99)})
}

// startupRun starts a master and one kubelet on Docker with its pods on nw,
// creates n pods one at a time, each once the last is Running, and returns
// each one's time from its create to Running seen on a watch.
func startupRun(ctx context.Context, env Env, n int, nw DockerNetwork) ([]time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m, err := env.StartMaster(ctx, MasterOptions{Scheduler: true})
	if err != nil {
		return nil, err
	}
	defer m.Close()
	stop, err := m.DockerKubelet(ctx, "bench-docker", nw)
	if err != nil {
		return nil, fmt.Errorf("start a kubelet on Docker: %w", err)
	}
	created := make(map[string]time.Time, n)
	ch, err := m.Store().Watch(ctx, api.Pods, store.ListOptions{})
	if err != nil {
		_ = stop()
		return nil, err
	}
	var lats []time.Duration
	var ids []string
	for i := 0; i < n; i++ {
		p := benchPod(fmt.Sprintf("startup-%d", i), map[string]string{"bench": "startup"})
		c := &p.DesiredState.Manifest.Containers[0]
		c.Env = nil
		c.Memory = 32 << 20 // Docker refuses limits under 6 MB
		created[p.ID] = time.Now()
		if _, err := m.Store().Create(ctx, p); err != nil {
			_ = stop()
			return nil, err
		}
		ids = append(ids, p.ID)
		// One at a time, as a user would see each: wait for it to run.
		deadline := time.After(60 * time.Second)
	wait:
		for {
			select {
			case ev, ok := <-ch:
				if !ok {
					_ = stop()
					return nil, fmt.Errorf("watch closed")
				}
				if pod, isPod := ev.Object.(*api.Pod); isPod && pod.ID == p.ID && running(pod) {
					lats = append(lats, time.Since(created[p.ID]))
					break wait
				}
			case <-deadline:
				_ = stop()
				return nil, fmt.Errorf("pod %s not Running within 60s", p.ID)
			}
		}
	}
	for _, id := range ids {
		_, _ = m.Store().Delete(ctx, api.Pods, api.DefaultNamespace, id)
	}
	if err := stop(); err != nil {
		return nil, fmt.Errorf("stop kubelet: %w", err)
	}
	return lats, nil
}
