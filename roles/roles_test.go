package roles

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/component"
)

// TestAllStartedAfterEveryComponent: the plan's hook (the release of the
// binary's start-up pages) runs once, and only after the last component
// has started.
func TestAllStartedAfterEveryComponent(t *testing.T) {
	var started atomic.Int32
	hook := make(chan int32, 2)
	comp := func(name string) component.Component {
		return component.Func{N: name, F: func(ctx context.Context, ready func()) error {
			started.Add(1)
			ready()
			<-ctx.Done()
			return nil
		}}
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := newPlan(ctx, "test")
	p.allStarted = func(*logrus.Entry) { hook <- started.Load() }
	p.add(comp("a"), comp("b"), comp("c"))
	done := make(chan error, 1)
	go func() { done <- p.run(ctx) }()
	select {
	case n := <-hook:
		if n != 3 {
			t.Errorf("the hook ran when %d of 3 components had started", n)
		}
	case err := <-done:
		t.Fatalf("run returned %v before the hook ran", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the hook did not run")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(hook) != 0 {
		t.Error("the hook ran twice")
	}
}
