package scheduler

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/clustertest"
	"kubelite/internal/registry"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
)

// benchPods is how many pods every benchmark run binds.
var benchPods = envInt("KUBELITE_BENCH_PODS", 30000)

// runSchedule creates minions and pods in a fresh store wrapped by wrap,
// starts a scheduler and returns how long it took to bind every pod.
func runSchedule(tb testing.TB, minions, pods int, wrap func(store.Store, *binds) store.Store) time.Duration {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bound := newBinds(pods)
	st := wrap(memory.NewWithHistory(4*pods), bound)
	var ids []string
	for i := 0; i < minions; i++ {
		ids = append(ids, fmt.Sprintf("minion-%04d", i))
	}
	capacity := func(m *api.Minion) { m.Resources.Capacity = api.Capacity{CPU: 64000, Memory: 256 << 30} }
	if err := clustertest.NewMinions(st, nil).Register(ctx, ids, capacity); err != nil {
		tb.Fatal(err)
	}
	for i := 0; i < pods; i++ {
		rc := fmt.Sprintf("rc-%02d", i%30)
		p := testPod(fmt.Sprintf("%s-%05d", rc, i), map[string]string{"name": rc}, withCPU(100))
		p.DesiredState.Manifest.Containers[0].Memory = 64 << 20
		if _, err := st.Create(ctx, p); err != nil {
			tb.Fatal(err)
		}
	}
	s := New(Config{Store: st, Seed: 42})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	startedAt := make(chan time.Time, 1)
	go func() {
		defer close(done)
		s.Run(runCtx, func() { startedAt <- time.Now() })
	}()
	t0 := <-startedAt
	select {
	case <-bound.all:
	case <-ctx.Done():
		tb.Fatalf("only %d of %d pods bound", bound.n.Load(), pods)
	}
	elapsed := time.Since(t0)
	stop()
	<-done
	return elapsed
}

// binds counts successful bindings and closes all once want were made.
type binds struct {
	n    atomic.Int64
	want int64
	all  chan struct{}
}

func newBinds(want int) *binds { return &binds{want: int64(want), all: make(chan struct{})} }

func (b *binds) add() {
	if b.n.Add(1) == b.want {
		close(b.all)
	}
}

// countBinds counts successful bindings through a store.
type countBinds struct {
	store.Store
	n *binds
}

func (c *countBinds) Create(ctx context.Context, obj api.Object) (api.Object, error) {
	out, err := c.Store.Create(ctx, obj)
	if _, ok := obj.(*api.Binding); ok && err == nil {
		c.n.add()
	}
	return out, err
}

// registryWrap serves the raw store through a running registry.
func registryWrap(tb testing.TB) func(store.Store, *binds) store.Store {
	return func(raw store.Store, n *binds) store.Store {
		reg, err := registry.New(raw, registry.Config{})
		if err != nil {
			tb.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		started := make(chan struct{})
		done := make(chan struct{})
		go func() { reg.Run(ctx, func() { close(started) }); close(done) }()
		<-started
		tb.Cleanup(func() { cancel(); <-done })
		return &countBinds{Store: reg, n: n}
	}
}

// bindOnly makes a Binding set the pod's desiredState.host by
// compare-and-swap and nothing else (no fit re-check, unlike the registry):
// BenchmarkSchedule measures the scheduler, not the store's binding.
type bindOnly struct {
	store.Store
	n *binds
}

func (b *bindOnly) Create(ctx context.Context, obj api.Object) (api.Object, error) {
	bd, ok := obj.(*api.Binding)
	if !ok {
		return b.Store.Create(ctx, obj)
	}
	for {
		o, err := b.Store.Get(ctx, api.Pods, bd.Namespace, bd.PodID)
		if err != nil {
			return nil, err
		}
		p := o.(*api.Pod)
		if p.DesiredState.Host != "" {
			return nil, api.NewConflict("Binding", bd.PodID, "pod is already bound to "+p.DesiredState.Host)
		}
		p.DesiredState.Host = bd.Host
		if _, err := b.Store.Update(ctx, p); api.IsConflict(err) {
			continue
		} else if err != nil {
			return nil, err
		}
		b.n.add()
		return bd, nil
	}
}

func bindOnlyWrap(raw store.Store, n *binds) store.Store { return &bindOnly{Store: raw, n: n} }

// BenchmarkSchedule binds 30,000 pods (30 RCs) onto 100, 1,000 and 5,000
// minions through the memory store and reports the median pods/s of b.N
// runs (at 5,000, decisions sample: see feasibleToFind).
//
//	go test ./internal/scheduler -run '^$' -bench Schedule -benchtime 5x
func BenchmarkSchedule(b *testing.B) {
	for _, minions := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprintf("minions=%d", minions), func(b *testing.B) {
			var rates []float64
			for i := 0; i < b.N; i++ {
				d := runSchedule(b, minions, benchPods, bindOnlyWrap)
				rates = append(rates, float64(benchPods)/d.Seconds())
			}
			sort.Float64s(rates)
			b.ReportMetric(rates[len(rates)/2], "pods/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkScheduleRegistry is BenchmarkSchedule with every bind going
// through the registry (over the memory store), which re-checks fit.
func BenchmarkScheduleRegistry(b *testing.B) {
	for _, minions := range []int{100, 1000} {
		b.Run(fmt.Sprintf("minions=%d", minions), func(b *testing.B) {
			var rates []float64
			for i := 0; i < b.N; i++ {
				d := runSchedule(b, minions, benchPods, registryWrap(b))
				rates = append(rates, float64(benchPods)/d.Seconds())
			}
			sort.Float64s(rates)
			b.ReportMetric(rates[len(rates)/2], "pods/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

func envInt(name string, def int) int {
	var v int
	if _, err := fmt.Sscan(os.Getenv(name), &v); err != nil || v <= 0 {
		return def
	}
	return v
}
