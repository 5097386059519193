package registry_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kubelite/internal/api"
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
