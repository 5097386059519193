package kubelet

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"kubelite/internal/runtime"
	"kubelite/internal/store/memory"
)

// slowEvents is the fake runtime whose first event subscription takes
// 300 ms (an engine slow to answer) and notes how many containers had been
// created by the time it exists.
type slowEvents struct {
	runtime.Runtime
	created       atomic.Int32
	createdAtSub  atomic.Int32
	subscriptions atomic.Int32
	subscribed    chan struct{} // closed once the first subscription is noted
}

func (r *slowEvents) Create(ctx context.Context, spec runtime.ContainerSpec) (string, error) {
	r.created.Add(1)
	return r.Runtime.Create(ctx, spec)
}

func (r *slowEvents) Events(ctx context.Context) (<-chan runtime.Event, error) {
	ch, err := r.Runtime.Events(ctx)
	if r.subscriptions.Add(1) == 1 {
		time.Sleep(300 * time.Millisecond) // real time tested: an engine slow to answer widens the window a concurrent subscription would lose
		r.createdAtSub.Store(r.created.Load())
		close(r.subscribed)
	}
	return ch, err
}

// TestEventsSubscribedBeforeFirstSync: the kubelet subscribes to container
// events before it creates any container, so a container that stops right
// after its start is seen (with the subscription made concurrently, a crash
// could come first and wait for the next resync: TestFakePodLifecycle
// failed about once in 10 runs).
func TestEventsSubscribedBeforeFirstSync(t *testing.T) {
	rt := &slowEvents{Runtime: fakeRT(), subscribed: make(chan struct{})}
	st := memory.New()
	e := startKubelet(t, st, rt, nil)
	e.createPod(webPod("web"))
	e.waitPod("web", 10*time.Second, "Running", running)
	select {
	case <-rt.subscribed:
	case <-time.After(10 * time.Second):
		t.Fatal("no event subscription")
	}
	if n := rt.subscriptions.Load(); n != 1 {
		t.Fatalf("%d event subscriptions, want 1", n)
	}
	if n := rt.createdAtSub.Load(); n != 0 {
		t.Fatalf("events subscribed after %d containers were created, want before any", n)
	}
}
