package etcd

import (
	"context"
	"reflect"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/etcd/etcdtest"
	"kubelite/internal/store"
)

// What a writer creates and updates reaches the shared watch without being
// decoded again, and is exactly what a decode of the stored bytes gives
// (Get), resourceVersion and times included; neither the writer's object
// nor what it got back is shared with the watchers.
func TestWrittenObjectsAreNotDecodedAgain(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, "")
	s := New(srv.Client(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	all, err := s.WatchShared(ctx, api.Pods, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	onM1, err := s.WatchShared(ctx, api.Pods, store.ListOptions{Fields: sel(t, "DesiredState.Host=m1")})
	if err != nil {
		t.Fatal(err)
	}
	before := s.decodes.Load()
	p := decodeTemplate(t, 1)
	p.CreationTimestamp = time.Now() // a monotonic reading, the local zone
	p.UID = "u-1"
	api.SetKind(p)
	created, err := s.Create(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	p.Labels["app"] = "changed by the writer afterwards"
	bound := api.DeepCopy(created).(*api.Pod)
	bound.DesiredState.Host = "m1"
	bound2, err := s.Update(ctx, bound)
	if err != nil {
		t.Fatal(err)
	}
	bound.DesiredState.Host = "changed"
	running := api.DeepCopy(bound2).(*api.Pod)
	running.CurrentState = api.PodState{Status: api.PodRunning, Host: "m1", Info: api.PodInfo{
		{Name: "web", ContainerStatus: api.ContainerStatus{State: api.ContainerState{Running: &api.ContainerStateRunning{StartedAt: time.Now()}}}}}}
	final, err := s.Update(ctx, running)
	if err != nil {
		t.Fatal(err)
	}
	final.Meta().Labels["tier"] = "changed by the caller"
	running.CurrentState.Info.Set("web", api.ContainerStatus{})

	_, evs := recvEvents(t, all, 3)
	stored, err := s.Get(ctx, api.Pods, "default", p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(evs[2], stored) {
		t.Fatalf("watched %#v\nstored  %#v", evs[2], stored)
	}
	for i, rv := range []uint64{created.Meta().ResourceVersion, bound2.Meta().ResourceVersion, stored.Meta().ResourceVersion} {
		if got := evs[i].Meta().ResourceVersion; got != rv {
			t.Errorf("event %d: resourceVersion %d, want %d", i, got, rv)
		}
	}
	if h := evs[1].(*api.Pod).DesiredState.Host; h != "m1" {
		t.Errorf("bind event's host %q", h)
	}
	if got := evs[0].Meta().Labels["app"]; got != "web" {
		t.Errorf("the created event's label is %q: shared with the writer", got)
	}
	types, _ := recvEvents(t, onM1, 2)
	if types[0] != store.Added || types[1] != store.Modified {
		t.Errorf("the host's watcher saw %v, want ADDED then MODIFIED", types)
	}
	if n := s.decodes.Load() - before; n != 0 {
		t.Errorf("the watch decoded %d values the writer had just written", n)
	}
}

func recvEvents(t *testing.T, ch <-chan store.Event, n int) ([]store.EventType, []api.Object) {
	t.Helper()
	var types []store.EventType
	var objs []api.Object
	for len(objs) < n {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("watch closed")
			}
			types, objs = append(types, ev.Type), append(objs, ev.Object)
		case <-time.After(10 * time.Second):
			t.Fatalf("got %d events, want %d", len(objs), n)
		}
	}
	return types, objs
}

// An expected object is taken once, by the put of its key with its very
// bytes, with that put's revision; a write that fails takes it back (but not
// a later writer's); nothing is expected of events, without a shared watch,
// or once the watch has ended.
func TestExpectedTakenByItsBytes(t *testing.T) {
	s := New(nil)
	b := newBroadcaster(s, api.Pods, 10, func() {})
	s.bcasts[api.Pods] = b
	p := &api.Pod{TypeMeta: api.TypeMeta{ID: "p", Namespace: "default"}}
	data, err := encode(p)
	if err != nil {
		t.Fatal(err)
	}
	w := s.expect(api.Pods, "k", data, p)
	if w == nil {
		t.Fatal("nothing expected")
	}
	if got := b.takeFresh([]byte("k"), []byte(`{"id":"other"}`), 11); got != nil || len(b.fresh) != 1 {
		t.Fatal("other bytes took (or dropped) what a writer still writes")
	}
	got := b.takeFresh([]byte("k"), data, 12)
	if got == nil || got == api.Object(p) || got.Meta().ResourceVersion != 12 || len(b.fresh) != 0 {
		t.Fatalf("not taken at its put: %#v", got)
	}
	if b.takeFresh([]byte("k"), data, 13) != nil {
		t.Fatal("taken twice")
	}
	// Writes of one key faster than the watch: each is taken by its put.
	p2 := &api.Pod{TypeMeta: api.TypeMeta{ID: "p", Namespace: "default", Labels: map[string]string{"a": "b"}}}
	data2, err := encode(p2)
	if err != nil {
		t.Fatal(err)
	}
	if s.expect(api.Pods, "k", data, p) == nil || s.expect(api.Pods, "k", data2, p2) == nil {
		t.Fatal("nothing expected")
	}
	if got := b.takeFresh([]byte("k"), data, 14); got == nil || got.Meta().Labels != nil {
		t.Fatalf("first put: %#v", got)
	}
	if got := b.takeFresh([]byte("k"), data2, 15); got == nil || got.Meta().Labels["a"] != "b" || len(b.fresh) != 0 {
		t.Fatalf("second put: %#v", got)
	}
	w1 := s.expect(api.Pods, "k", data, p)
	w2 := s.expect(api.Pods, "k", data2, p2)
	w1.abandon()
	if ws := b.fresh["k"]; len(ws) != 1 || ws[0] != w2 {
		t.Fatal("a failed write took back a later writer's object")
	}
	w2.abandon()
	if len(b.fresh) != 0 {
		t.Fatal("a failed write left its object")
	}
	for i := 0; i < 2*maxExpected; i++ {
		s.expect(api.Pods, "k", data, p)
	}
	if n := len(b.fresh["k"]); n != maxExpected {
		t.Fatalf("%d objects expected for one key, want at most %d", n, maxExpected)
	}
	delete(b.fresh, "k")
	if s.expect(api.Events, "e", data, &api.Event{}) != nil || s.expect(api.Services, "s", data, &api.Service{}) != nil {
		t.Fatal("expected an event, or without a shared watch")
	}
	b.freshMu.Lock()
	b.dead, b.fresh = true, nil
	b.freshMu.Unlock()
	if s.expect(api.Pods, "k", data, p) != nil {
		t.Fatal("expected after the watch ended")
	}
	var none *written
	none.abandon()
}
