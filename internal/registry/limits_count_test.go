package registry_test

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/clock"
	"kubelite/internal/registry"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
	"kubelite/internal/testutil"
)

// gatedLists is a memory store whose pod lists (the registry's namespace
// count) wait for a gate and are counted.
type gatedLists struct {
	*memory.Store
	armed atomic.Bool // gate and count only once armed (not the registry's own start)
	gate  chan struct{}
	lists atomic.Int32
}

func (g *gatedLists) List(ctx context.Context, res api.Resource, opts store.ListOptions) ([]api.Object, uint64, error) {
	if res == api.Pods && g.armed.Load() {
		g.lists.Add(1)
		<-g.gate
	}
	return g.Store.List(ctx, res, opts)
}

// TestConcurrentCreatesCountOnce: creates that find the namespace's count
// stale at the same moment read it once between them, not once each (a
// burst of creates listed the whole namespace per create every 10 s).
func TestConcurrentCreatesCountOnce(t *testing.T) {
	raw := &gatedLists{Store: memory.New(), gate: make(chan struct{})}
	r := start(t, raw, registry.Config{MaxObjectsPerNamespace: 1000})
	c := ctx(t)
	raw.armed.Store(true)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.Create(c, pod(fmt.Sprintf("burst-%d", i))); err != nil {
				errs <- err
			}
		}()
	}
	// Every create is in checkCount: one reading, the others waiting.
	testutil.Eventually(t, 10*time.Second, func() error {
		if got := goroutinesIn("registry.(*Registry).checkCount"); got != n {
			return fmt.Errorf("%d creates in checkCount, want %d", got, n)
		}
		return nil
	}, "every create waiting on the namespace's count")
	close(raw.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("create: %v", err)
	}
	if got := raw.lists.Load(); got != 1 {
		t.Fatalf("%d counts of the namespace for %d concurrent creates, want 1", got, n)
	}
	objs, _, err := raw.Store.List(c, api.Pods, store.ListOptions{})
	if err != nil || len(objs) != n {
		t.Fatalf("%d pods stored (%v), want %d", len(objs), err, n)
	}
}

func goroutinesIn(fn string) int {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, fn) {
			n++
		}
	}
	return n
}

// TestCountReadsNearTheLimit: the namespace's count is read every 10 s far
// from the limit, every second within 10% of it (each create there read the
// whole namespace, one create at a time), and whenever it is at the limit,
// so a delete makes room at once.
func TestCountReadsNearTheLimit(t *testing.T) {
	gate := make(chan struct{})
	close(gate) // counted, never held
	raw := &gatedLists{Store: memory.New(), gate: gate}
	clk := clock.NewFake(t0)
	r := start(t, raw, registry.Config{MaxObjectsPerNamespace: 100, Clock: clk})
	c := ctx(t)
	raw.armed.Store(true)
	next := 0
	create := func(n int) func() error {
		return func() error {
			for i := 0; i < n; i++ {
				next++
				if _, err := r.Create(c, pod(fmt.Sprintf("p%d", next))); err != nil {
					return err
				}
			}
			return nil
		}
	}
	deleteN := func(n int) func() error {
		return func() error {
			objs, _, err := raw.Store.List(c, api.Pods, store.ListOptions{Namespace: api.DefaultNamespace})
			if err != nil {
				return err
			}
			for _, o := range objs[:n] {
				if _, err := r.Delete(c, api.Pods, api.DefaultNamespace, o.Meta().ID); err != nil {
					return err
				}
			}
			return nil
		}
	}
	steps := []struct {
		name  string
		do    func() error
		reads int32 // counts of the namespace so far
		code  int   // of the step's error, 0: none
	}{
		{"first create reads the count", create(1), 1, 0},
		{"far from the limit: trusted for 10 s", create(9), 1, 0},
		{"a second later, still far", func() error { clk.Step(time.Second); return create(1)() }, 1, 0},
		{"10 s after the read", func() error { clk.Step(9 * time.Second); return create(1)() }, 2, 0},
		{"up to the limit within the second: no read", create(88), 2, 0},
		{"at the limit: read, refused", create(1), 3, http.StatusForbidden},
		{"deletes seen at the next create", deleteN(5), 3, 0},
		{"a create after the deletes reads", create(1), 4, 0},
		{"within 10%, within the second", create(1), 4, 0},
		{"within 10%, a second later", func() error { clk.Step(time.Second); return create(1)() }, 5, 0},
	}
	for _, s := range steps {
		err := s.do()
		if code(err) != s.code {
			t.Fatalf("%s: %v (code %d), want code %d", s.name, err, code(err), s.code)
		}
		if got := raw.lists.Load(); got != s.reads {
			t.Fatalf("%s: %d counts of the namespace so far, want %d", s.name, got, s.reads)
		}
	}
}
