package store_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"kubelite/internal/api"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
)

// sharedStore is a memory store that also offers the shared list and watch,
// counting their calls.
type sharedStore struct {
	*memory.Store
	lists, watches atomic.Int32
}

func (s *sharedStore) ListShared(ctx context.Context, res api.Resource, opts store.ListOptions) ([]api.Object, uint64, error) {
	s.lists.Add(1)
	return s.List(ctx, res, opts)
}

func (s *sharedStore) WatchShared(ctx context.Context, res api.Resource, opts store.ListOptions) (<-chan store.Event, error) {
	s.watches.Add(1)
	return s.Watch(ctx, res, opts)
}

// An informer reads through the shared list and watch when the store has
// them, and through List and Watch otherwise; either way it sees changes.
func TestInformerUsesSharedReads(t *testing.T) {
	for _, shared := range []bool{true, false} {
		mem := memory.New()
		var st store.Store = mem
		ss := &sharedStore{Store: mem}
		if shared {
			st = ss
		}
		ctx, cancel := context.WithCancel(context.Background())
		seen := make(chan string, 16)
		inf := store.NewInformer(st, api.Pods, store.ListOptions{}, func(k string) { seen <- k })
		done := make(chan struct{})
		go func() { defer close(done); _ = inf.Run(ctx) }()
		if !inf.WaitSynced(ctx) {
			t.Fatal("not synced")
		}
		pod := &api.Pod{TypeMeta: api.TypeMeta{ID: "web", Namespace: api.DefaultNamespace}}
		if _, err := mem.Create(ctx, pod); err != nil {
			t.Fatal(err)
		}
		select {
		case k := <-seen:
			if k != "default/web" {
				t.Fatalf("shared=%v: changed %q", shared, k)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("shared=%v: the created pod never reached the informer", shared)
		}
		if _, ok := inf.Get("default/web"); !ok {
			t.Fatalf("shared=%v: pod not cached", shared)
		}
		cancel()
		<-done
		if got := ss.lists.Load() > 0 && ss.watches.Load() > 0; got != shared {
			t.Fatalf("shared=%v: shared lists %d, watches %d", shared, ss.lists.Load(), ss.watches.Load())
		}
	}
}

// TestStartInformersStopWithoutCancel: stop ends the informers and returns
// while the caller's ctx is still live (a component returning early, on an
// error, must not wait for ever on its own informers).
func TestStartInformersStopWithoutCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	inf := store.NewInformer(memory.New(), api.Pods, store.ListOptions{}, nil)
	stop := store.StartInformers(ctx, inf)
	if !inf.WaitSynced(ctx) {
		t.Fatal("informer did not sync")
	}
	done := make(chan struct{})
	go func() { stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("stop did not return within 5s with the caller's ctx live")
	}
}

// keyedStore's watch sets each event's Key, a string of its own, and
// hands it out on keys too.
type keyedStore struct {
	*memory.Store
	keys chan string
}

func (s *keyedStore) WatchShared(ctx context.Context, res api.Resource, opts store.ListOptions) (<-chan store.Event, error) {
	in, err := s.Watch(ctx, res, opts)
	if err != nil {
		return nil, err
	}
	out := make(chan store.Event)
	go func() {
		defer close(out)
		for ev := range in {
			ev.Key = strings.Clone(api.Key(ev.Object))
			s.keys <- ev.Key
			out <- ev
		}
	}()
	return out, nil
}

// An event's Key is the key the informer caches and hands to onChange:
// the same string, not one of its own (the informers of a process and the
// indexes keyed by onChange's keys share it).
func TestInformerKeepsEventKey(t *testing.T) {
	mem := memory.New()
	st := &keyedStore{Store: mem, keys: make(chan string, 4)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen := make(chan string, 4)
	inf := store.NewInformer(st, api.Pods, store.ListOptions{}, func(k string) { seen <- k })
	defer store.StartInformers(ctx, inf)()
	if !inf.WaitSynced(ctx) {
		t.Fatal("not synced")
	}
	if _, err := mem.Create(ctx, &api.Pod{TypeMeta: api.TypeMeta{ID: "web", Namespace: api.DefaultNamespace}}); err != nil {
		t.Fatal(err)
	}
	take := func(ch chan string) string {
		select {
		case k := <-ch:
			return k
		case <-time.After(10 * time.Second):
			t.Fatal("the created pod never reached the informer")
			return ""
		}
	}
	sent, got := take(st.keys), take(seen)
	if got != "default/web" || unsafe.StringData(got) != unsafe.StringData(sent) {
		t.Fatalf("onChange got %q, not the event's Key %q itself", got, sent)
	}
}
