package clustertest_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/clustertest"
	"kubelite/internal/etcd/etcdtest"
	"kubelite/internal/registry"
	"kubelite/internal/scheduler"
	"kubelite/internal/store"
	etcdstore "kubelite/internal/store/etcd"
)

// countBinds counts successful bindings through a store.
type countBinds struct {
	store.Store
	n atomic.Int64
}

func (c *countBinds) Create(ctx context.Context, obj api.Object) (api.Object, error) {
	out, err := c.Store.Create(ctx, obj)
	if _, ok := obj.(*api.Binding); ok && err == nil {
		c.n.Add(1)
	}
	return out, err
}

// scheduleOnEtcd binds pods onto minions through a registry over a durable
// embedded etcd and returns the time from the scheduler's start to the last
// bind.
func scheduleOnEtcd(b *testing.B, minions, pods int) time.Duration {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	srv := etcdtest.StartDurable(b, "")
	raw := etcdstore.New(srv.Client(b))
	reg, err := registry.New(raw, registry.Config{})
	if err != nil {
		b.Fatal(err)
	}
	regCtx, stopReg := context.WithCancel(ctx)
	regDone := make(chan struct{})
	regStarted := make(chan struct{})
	go func() { reg.Run(regCtx, func() { close(regStarted) }); close(regDone) }()
	defer func() { stopReg(); <-regDone }()
	<-regStarted
	st := &countBinds{Store: reg}

	var ids []string
	for i := 0; i < minions; i++ {
		ids = append(ids, fmt.Sprintf("minion-%04d", i))
	}
	capacity := func(m *api.Minion) { m.Resources.Capacity = api.Capacity{CPU: 64000, Memory: 256 << 30} }
	if err := clustertest.NewMinions(st, nil).Register(ctx, ids, capacity); err != nil {
		b.Fatal(err)
	}
	// Create the pods with 16 writers (setup, not measured).
	var wg sync.WaitGroup
	var failed atomic.Value
	next := atomic.Int64{}
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= pods {
					return
				}
				rc := fmt.Sprintf("rc-%02d", i%30)
				p := &api.Pod{TypeMeta: api.TypeMeta{ID: fmt.Sprintf("%s-%05d", rc, i), Namespace: "default", Labels: map[string]string{"name": rc}}}
				p.DesiredState.Manifest.Containers = []api.Container{{Name: "c", Image: "img", CPU: 100, Memory: 64 << 20}}
				if _, err := st.Create(ctx, p); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	s := scheduler.New(scheduler.Config{Store: st, Seed: 42, Workers: benchWorkers()})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	startedAt := make(chan time.Time, 1)
	go func() {
		defer close(done)
		s.Run(runCtx, func() { startedAt <- time.Now() })
	}()
	t0 := <-startedAt
	for st.n.Load() < int64(pods) {
		if ctx.Err() != nil {
			b.Fatalf("only %d of %d pods bound", st.n.Load(), pods)
		}
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(t0)
	stop()
	<-done
	return elapsed
}

// BenchmarkScheduleEtcd binds 30,000 pods onto 100 and 1,000 minions through
// the registry on a durable embedded etcd, as in a real master, and reports
// the median pods/s of b.N runs.
//
//	go test ./internal/clustertest -run '^$' -bench ScheduleEtcd -benchtime 3x -timeout 60m
func BenchmarkScheduleEtcd(b *testing.B) {
	pods := 30000
	if v, err := strconv.Atoi(os.Getenv("KUBELITE_BENCH_PODS")); err == nil && v > 0 {
		pods = v
	}
	for _, minions := range []int{100, 1000} {
		b.Run(fmt.Sprintf("minions=%d", minions), func(b *testing.B) {
			var rates []float64
			for i := 0; i < b.N; i++ {
				d := scheduleOnEtcd(b, minions, pods)
				rates = append(rates, float64(pods)/d.Seconds())
			}
			sort.Float64s(rates)
			b.ReportMetric(rates[len(rates)/2], "pods/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

func benchWorkers() int {
	if v, err := strconv.Atoi(os.Getenv("KUBELITE_BENCH_WORKERS")); err == nil && v > 0 {
		return v
	}
	return 0 // the scheduler's default
}
