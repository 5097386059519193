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
	t.Parallel()
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

// One decoded object per key and revision: the shared watch, the previous
// side of the next change and lists all hand out the same object, and a
// delete's last state carries the delete's revision without touching it.
func TestDecodedOnceForWatchAndList(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, "")
	s := New(srv.Client(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := s.WatchShared(ctx, api.Pods, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	created, err := s.Create(ctx, &api.Pod{TypeMeta: api.TypeMeta{ID: "p", Namespace: "default"}})
	if err != nil {
		t.Fatal(err)
	}
	added := <-ch
	if added.Type != store.Added || added.Object.Meta().ResourceVersion != created.Meta().ResourceVersion {
		t.Fatalf("added: %+v", added)
	}
	objs, _, err := s.ListShared(ctx, api.Pods, store.ListOptions{})
	if err != nil || len(objs) != 1 {
		t.Fatalf("list: %v %v", objs, err)
	}
	if objs[0] != added.Object {
		t.Fatal("the list decoded the watched object again")
	}
	rv := added.Object.Meta().ResourceVersion
	if _, err := s.Delete(ctx, api.Pods, "default", "p"); err != nil {
		t.Fatal(err)
	}
	deleted := <-ch
	if deleted.Type != store.Deleted || deleted.Object.Meta().ResourceVersion <= rv {
		t.Fatalf("deleted: %+v", deleted)
	}
	if added.Object.Meta().ResourceVersion != rv {
		t.Fatal("the delete changed the shared object's resourceVersion")
	}
	if _, ok := s.cached(api.Pods, []byte("/registry/pods/default/p"), int64(rv)); ok {
		t.Fatal("deleted key still cached")
	}
}

// A list of a warm cache reads only the values that changed, at the
// revision of its key read, and agrees with a fresh store's list.
func TestListReadsChangedValuesOnly(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, "")
	cli := srv.Client(t)
	s := New(cli)
	c := context.Background()
	for i := 0; i < 40; i++ {
		if _, err := s.Create(c, &api.Pod{TypeMeta: api.TypeMeta{ID: fmt.Sprintf("p%02d", i), Namespace: "default"}}); err != nil {
			t.Fatal(err)
		}
	}
	first, _, err := s.ListShared(c, api.Pods, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Change a few (under a quarter: read one by one) and then many behind
	// the store's back (one read of everything).
	for _, changed := range []int{3, 30} {
		for i := 0; i < changed; i++ {
			if _, err := cli.Put(c, fmt.Sprintf("/registry/pods/default/p%02d", i), fmt.Sprintf(`{"id":"p%02d","labels":{"n":"%d"}}`, i, changed)); err != nil {
				t.Fatal(err)
			}
		}
		got, rev, err := s.ListShared(c, api.Pods, store.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want, wrev, err := New(cli).List(c, api.Pods, store.ListOptions{})
		if err != nil || wrev != rev || len(got) != len(want) {
			t.Fatalf("changed %d: %d objects at %d, fresh store %d at %d (%v)", changed, len(got), rev, len(want), wrev, err)
		}
		for i := range got {
			if got[i].Meta().ResourceVersion != want[i].Meta().ResourceVersion || got[i].Meta().Labels["n"] != want[i].Meta().Labels["n"] {
				t.Fatalf("changed %d: object %d is %+v, want %+v", changed, i, got[i].Meta(), want[i].Meta())
			}
			if i >= changed && got[i] != first[i] {
				t.Fatalf("changed %d: unchanged object %d decoded again", changed, i)
			}
		}
	}
}

// Lists racing a shared watch that moves the cache on: an object taken
// from the cache by the keys-only read is used as taken, never decoded
// from a value-less key (once: every such pod listed as undecodable).
func TestListWhileWatchMovesCache(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, "")
	s := New(srv.Client(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const n = 40
	for i := 0; i < n; i++ {
		if _, err := s.Create(ctx, &api.Pod{TypeMeta: api.TypeMeta{ID: fmt.Sprintf("p%02d", i), Namespace: "default"}}); err != nil {
			t.Fatal(err)
		}
	}
	ch, err := s.WatchShared(ctx, api.Pods, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for range ch {
		}
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ctx.Err() == nil && i < 400; i++ {
			p, err := s.Get(ctx, api.Pods, "default", fmt.Sprintf("p%02d", i%n))
			if err != nil {
				return
			}
			p.Meta().Labels = map[string]string{"i": fmt.Sprint(i)}
			_, _ = s.Update(ctx, p)
		}
	}()
	for {
		objs, _, err := s.ListShared(ctx, api.Pods, store.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(objs) != n {
			t.Fatalf("listed %d pods, want %d", len(objs), n)
		}
		select {
		case <-done:
			return
		default:
		}
	}
}
