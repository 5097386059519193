package etcd

import (
	"context"
	"fmt"
	"testing"

	"kubelite/internal/api"
	"kubelite/internal/etcd/etcdtest"
	"kubelite/internal/store"
)

func TestListCache(t *testing.T) {
	srv := etcdtest.Start(t, "")
	s := New(srv.Client(t))
	c := context.Background()
	for i := 0; i < 300; i++ { // more than one parallel chunk
		ns := "default"
		if i%3 == 0 {
			ns = "other"
		}
		if _, err := s.Create(c, &api.Pod{TypeMeta: api.TypeMeta{ID: fmt.Sprintf("p%03d", i), Namespace: ns, Labels: map[string]string{"i": fmt.Sprint(i)}}}); err != nil {
			t.Fatal(err)
		}
	}
	list := func(opts store.ListOptions) []api.Object {
		t.Helper()
		objs, _, err := s.List(c, api.Pods, opts)
		if err != nil {
			t.Fatal(err)
		}
		return objs
	}
	first := list(store.ListOptions{})
	if len(first) != 300 || len(s.cache[api.Pods]) != 300 {
		t.Fatalf("listed %d, cached %d", len(first), len(s.cache[api.Pods]))
	}
	// Handed-out objects are copies: mutating them changes no later list.
	for _, o := range first {
		o.Meta().Labels["i"] = "mutated"
	}
	for _, o := range list(store.ListOptions{}) {
		if o.Meta().Labels["i"] == "mutated" {
			t.Fatalf("list returned the cache's object")
		}
	}
	// An update is seen (new revision: decoded again), a delete drops the key.
	got, _ := s.Get(c, api.Pods, "default", "p001")
	got.Meta().Labels["i"] = "updated"
	if _, err := s.Update(c, got); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(c, api.Pods, "default", "p002"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.cache[api.Pods]["/registry/pods/default/p002"]; ok {
		t.Fatal("deleted key still cached")
	}
	def := list(store.ListOptions{Namespace: "default"})
	if len(def) != 199 {
		t.Fatalf("default has %d pods, want 199", len(def))
	}
	for _, o := range def {
		if o.Meta().ID == "p001" && o.Meta().Labels["i"] != "updated" {
			t.Fatalf("stale cached object: %v", o.Meta().Labels)
		}
	}
	// A key deleted behind the store's back leaves the cache at the next list
	// of its namespace, and other namespaces stay cached.
	if _, err := s.cli.Delete(c, "/registry/pods/default/p004"); err != nil {
		t.Fatal(err)
	}
	if n := len(list(store.ListOptions{Namespace: "default"})); n != 198 {
		t.Fatalf("after a raw delete: %d", n)
	}
	if _, ok := s.cache[api.Pods]["/registry/pods/default/p004"]; ok {
		t.Fatal("key deleted in etcd still cached after a namespace list")
	}
	if n := len(s.cache[api.Pods]); n != 298 {
		t.Fatalf("cache has %d entries, want 298", n)
	}
	// Selectors apply to cached objects too.
	sel, _ := api.ParseSelector("i=3")
	if objs := list(store.ListOptions{Labels: sel}); len(objs) != 1 || objs[0].Meta().ID != "p003" {
		t.Fatalf("selector over cache: %v", objs)
	}
}
