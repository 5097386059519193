package clustertest

import (
	"context"
	"testing"

	"kubelite/internal/registry"
	"kubelite/internal/store"
)

// NewRegistry serves raw through the real registry (names, uids,
// creationTimestamp, validation, and binds that re-check the fit), running
// until tb ends; it returns once binds are accepted. The registry keeps the
// wall clock: its portal repair timer would otherwise be one more waiter on
// a test's fake clock.
func NewRegistry(tb testing.TB, raw store.Store) *registry.Registry {
	tb.Helper()
	reg, err := registry.New(raw, registry.Config{})
	if err != nil {
		tb.Fatalf("registry: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	started, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		if err := reg.Run(ctx, func() { close(started) }); err != nil {
			tb.Errorf("registry: %v", err)
		}
	}()
	tb.Cleanup(func() { cancel(); <-done })
	select {
	case <-started:
	case <-done:
		tb.Fatal("registry stopped before it started")
	}
	return reg
}
