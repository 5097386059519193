// Package storetest is the contract test suite every store.Store
// implementation runs (memory, etcd, remote): one suite, many stores.
package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/store"
)

// Run runs the contract that holds for raw stores and for the registry alike.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("CreateGetDelete", func(t *testing.T) { testCreateGetDelete(t, newStore(t)) })
	t.Run("UpdateCAS", func(t *testing.T) { testUpdateCAS(t, newStore(t)) })
	t.Run("ListSelectors", func(t *testing.T) { testList(t, newStore(t)) })
	t.Run("WatchFromRevision", func(t *testing.T) { testWatch(t, newStore(t)) })
	t.Run("WatchFilterTransitions", func(t *testing.T) { testWatchTransitions(t, newStore(t)) })
	t.Run("ListEmptyThenWatch", func(t *testing.T) { testListEmptyThenWatch(t, newStore(t)) })
}

func pod(id string, labels map[string]string) *api.Pod {
	return &api.Pod{
		TypeMeta: api.TypeMeta{ID: id, Namespace: "default", Labels: labels},
		DesiredState: api.PodState{Manifest: api.ContainerManifest{Version: "v1beta1", ID: id,
			Containers: []api.Container{{Name: "web", Image: "kubelite/webserver:v1"}}}},
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func testCreateGetDelete(t *testing.T, s store.Store) {
	c := ctx(t)
	got, err := s.Create(c, pod("a", map[string]string{"app": "x"}))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if got.Meta().ResourceVersion == 0 {
		t.Fatalf("create returned resourceVersion 0")
	}
	if _, err := s.Create(c, pod("a", nil)); !api.IsAlreadyExists(err) {
		t.Fatalf("second create: want AlreadyExists, got %v", err)
	}
	g, err := s.Get(c, api.Pods, "default", "a")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if g.Meta().ResourceVersion != got.Meta().ResourceVersion || g.Meta().Labels["app"] != "x" {
		t.Fatalf("get returned %+v, want rv %d and label app=x", g.Meta(), got.Meta().ResourceVersion)
	}
	g.Meta().Labels["app"] = "mutated"
	g2, _ := s.Get(c, api.Pods, "default", "a")
	if g2.Meta().Labels["app"] != "x" {
		t.Fatalf("mutating a returned object changed the store")
	}
	if _, err := s.Get(c, api.Pods, "default", "missing"); !api.IsNotFound(err) {
		t.Fatalf("get missing: want NotFound, got %v", err)
	}
	if _, err := s.Delete(c, api.Pods, "default", "a"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := s.Delete(c, api.Pods, "default", "a"); !api.IsNotFound(err) {
		t.Fatalf("second delete: want NotFound, got %v", err)
	}
	if _, err := s.Get(c, api.Pods, "default", "a"); !api.IsNotFound(err) {
		t.Fatalf("get after delete: want NotFound, got %v", err)
	}
}

func testUpdateCAS(t *testing.T, s store.Store) {
	c := ctx(t)
	created, err := s.Create(c, pod("b", nil))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	p := created.(*api.Pod)
	p.Meta().Labels = map[string]string{"v": "1"}
	upd, err := s.Update(c, p)
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if upd.Meta().ResourceVersion <= created.Meta().ResourceVersion {
		t.Fatalf("update did not advance resourceVersion: %d -> %d", created.Meta().ResourceVersion, upd.Meta().ResourceVersion)
	}
	p.Meta().Labels = map[string]string{"v": "stale"}
	if _, err := s.Update(c, p); !api.IsConflict(err) {
		t.Fatalf("stale update: want Conflict, got %v", err)
	}
	missing := pod("nope", nil)
	missing.ResourceVersion = 1
	if _, err := s.Update(c, missing); !api.IsNotFound(err) {
		t.Fatalf("update missing: want NotFound, got %v", err)
	}
}

func testList(t *testing.T, s store.Store) {
	c := ctx(t)
	for i := 0; i < 6; i++ {
		p := pod(fmt.Sprintf("p%d", i), map[string]string{"tier": []string{"web", "db"}[i%2]})
		if i < 2 {
			p.DesiredState.Host = "m1"
		}
		if _, err := s.Create(c, p); err != nil {
			t.Fatalf("create: %v", err)
		}
	}
	other := pod("o1", map[string]string{"tier": "web"})
	other.Namespace = "other"
	if _, err := s.Create(c, other); err != nil {
		t.Fatalf("create other ns: %v", err)
	}
	sel := func(s string) api.Selector {
		x, err := api.ParseSelector(s)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	cases := []struct {
		name string
		opts store.ListOptions
		want int
	}{
		{"all namespaces", store.ListOptions{}, 7},
		{"default", store.ListOptions{Namespace: "default"}, 6},
		{"other", store.ListOptions{Namespace: "other"}, 1},
		{"labels", store.ListOptions{Namespace: "default", Labels: sel("tier=web")}, 3},
		{"labels !=", store.ListOptions{Labels: sel("tier!=web")}, 3},
		{"unbound", store.ListOptions{Namespace: "default", Fields: sel("DesiredState.Host=")}, 4},
		{"bound to m1", store.ListOptions{Fields: sel("DesiredState.Host=m1")}, 2},
		{"and", store.ListOptions{Labels: sel("tier=web"), Fields: sel("DesiredState.Host=m1")}, 1},
	}
	for _, tc := range cases {
		objs, rev, err := s.List(c, api.Pods, tc.opts)
		if err != nil {
			t.Fatalf("%s: list: %v", tc.name, err)
		}
		if len(objs) != tc.want {
			t.Errorf("%s: got %d objects, want %d", tc.name, len(objs), tc.want)
		}
		if rev == 0 {
			t.Errorf("%s: list revision 0", tc.name)
		}
	}
}

func next(t *testing.T, ch <-chan store.Event) store.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatalf("watch closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatalf("no watch event within 10s")
	}
	return store.Event{}
}

func testWatch(t *testing.T, s store.Store) {
	c := ctx(t)
	a, err := s.Create(c, pod("w1", nil))
	if err != nil {
		t.Fatal(err)
	}
	_, rev, err := s.List(c, api.Pods, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Changes after the list must all arrive, in order, from rev.
	p := a.(*api.Pod)
	p.Labels = map[string]string{"x": "y"}
	if _, err := s.Update(c, p); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(c, pod("w2", nil)); err != nil {
		t.Fatal(err)
	}
	ch, err := s.Watch(c, api.Pods, store.ListOptions{ResourceVersion: rev})
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	if _, err := s.Delete(c, api.Pods, "default", "w1"); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		typ store.EventType
		id  string
	}{{store.Modified, "w1"}, {store.Added, "w2"}, {store.Deleted, "w1"}}
	last := rev
	for _, w := range want {
		ev := next(t, ch)
		if ev.Type != w.typ || ev.Object.Meta().ID != w.id {
			t.Fatalf("got %s %s, want %s %s", ev.Type, ev.Object.Meta().ID, w.typ, w.id)
		}
		if ev.Object.Meta().ResourceVersion <= last {
			t.Fatalf("event revision %d not after %d", ev.Object.Meta().ResourceVersion, last)
		}
		last = ev.Object.Meta().ResourceVersion
	}
}

func testWatchTransitions(t *testing.T, s store.Store) {
	c := ctx(t)
	unbound, _ := api.ParseSelector("DesiredState.Host=")
	ch, err := s.Watch(c, api.Pods, store.ListOptions{Fields: unbound})
	if err != nil {
		t.Fatal(err)
	}
	created, err := s.Create(c, pod("t1", nil))
	if err != nil {
		t.Fatal(err)
	}
	if ev := next(t, ch); ev.Type != store.Added {
		t.Fatalf("got %s, want ADDED", ev.Type)
	}
	p := created.(*api.Pod)
	p.DesiredState.Host = "m1"
	if _, err := s.Update(c, p); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, ch); ev.Type != store.Deleted || ev.Object.Meta().ID != "t1" {
		t.Fatalf("got %s %s, want DELETED t1 when the pod stops matching", ev.Type, ev.Object.Meta().ID)
	}
}

// testListEmptyThenWatch: the revision a List of an empty store returns is
// one a Watch can start from without missing a create in between.
func testListEmptyThenWatch(t *testing.T, s store.Store) {
	c := ctx(t)
	_, rev, err := s.List(c, api.Services, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rev == 0 {
		t.Fatalf("List of an empty resource returned revision 0 (a Watch from 0 means from now)")
	}
	svc := &api.Service{TypeMeta: api.TypeMeta{ID: "between", Namespace: "default"}, Port: 80,
		Selector: map[string]string{"a": "b"}}
	if _, err := s.Create(c, svc); err != nil {
		t.Fatal(err)
	}
	ch, err := s.Watch(c, api.Services, store.ListOptions{ResourceVersion: rev})
	if err != nil {
		t.Fatal(err)
	}
	if ev := next(t, ch); ev.Type != store.Added || ev.Object.Meta().ID != "between" {
		t.Fatalf("got %s %s, want ADDED between", ev.Type, ev.Object.Meta().ID)
	}
}
