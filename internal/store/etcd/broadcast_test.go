package etcd_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"kubelite/internal/api"
	"kubelite/internal/etcd"
	"kubelite/internal/etcd/etcdtest"
	"kubelite/internal/store"
	etcdstore "kubelite/internal/store/etcd"
)

// recv reads n events from ch (failing after a deadline) as "TYPE id@rv".
// Every event of this store carries its object's key (store.Event.Key).
func recv(t *testing.T, ch <-chan store.Event, n int) ([]string, []api.Object) {
	t.Helper()
	var got []string
	var objs []api.Object
	deadline := time.After(10 * time.Second)
	for len(got) < n {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("watch closed after %v", got)
			}
			if ev.Key != api.Key(ev.Object) {
				t.Fatalf("%s %s: Key %q, want %q", ev.Type, ev.Object.Meta().ID, ev.Key, api.Key(ev.Object))
			}
			m := ev.Object.Meta()
			got = append(got, fmt.Sprintf("%s %s@%d", ev.Type, m.ID, m.ResourceVersion))
			objs = append(objs, ev.Object)
		case <-deadline:
			t.Fatalf("got %v, want %d events", got, n)
		}
	}
	return got, objs
}

// Watchers of one resource share one decoding etcd watch: late joiners
// replay what it already passed, each applies its own selector, a watcher
// that never reads delays no other, and Watch hands out its own copies while
// WatchShared hands out the same objects to all.
func TestSharedWatchFanOut(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, "")
	s := etcdstore.New(srv.Client(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, rev0, err := s.List(ctx, api.Pods, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	from := store.ListOptions{ResourceVersion: rev0}
	stalled, err := s.Watch(ctx, api.Pods, from) // never read
	if err != nil {
		t.Fatal(err)
	}
	_ = stalled
	first, err := s.WatchShared(ctx, api.Pods, from)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := 0; i < 6; i++ {
		p := &api.Pod{TypeMeta: api.TypeMeta{ID: fmt.Sprintf("p%d", i), Labels: map[string]string{"n": fmt.Sprint(i % 2)}}}
		out, err := s.Create(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, fmt.Sprintf("ADDED p%d@%d", i, out.Meta().ResourceVersion))
	}
	got, sharedObjs := recv(t, first, 6)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("first watcher: got %v, want %v", got, want)
	}
	// Late joiners, from the start and from the middle, with and without a selector.
	late, err := s.WatchShared(ctx, api.Pods, from)
	if err != nil {
		t.Fatal(err)
	}
	own, err := s.Watch(ctx, api.Pods, from)
	if err != nil {
		t.Fatal(err)
	}
	sel, _ := api.ParseSelector("n=1")
	odd, err := s.Watch(ctx, api.Pods, store.ListOptions{Labels: sel, ResourceVersion: rev0})
	if err != nil {
		t.Fatal(err)
	}
	mid, err := s.Watch(ctx, api.Pods, store.ListOptions{ResourceVersion: rev0 + 3})
	if err != nil {
		t.Fatal(err)
	}
	del, err := s.Delete(ctx, api.Pods, "default", "p1")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, fmt.Sprintf("DELETED p1@%d", del.Meta().ResourceVersion))
	gotLate, lateObjs := recv(t, late, 7)
	gotOwn, ownObjs := recv(t, own, 7)
	gotOdd, _ := recv(t, odd, 4)
	gotMid, _ := recv(t, mid, 4)
	gotFirst, _ := recv(t, first, 1)
	for name, c := range map[string][2][]string{
		"late":  {gotLate, want},
		"own":   {gotOwn, want},
		"odd":   {gotOdd, {want[1], want[3], want[5], want[6]}},
		"mid":   {gotMid, want[3:]},
		"first": {gotFirst, want[6:]},
	} {
		if fmt.Sprint(c[0]) != fmt.Sprint(c[1]) {
			t.Errorf("%s: got %v, want %v", name, c[0], c[1])
		}
	}
	for i := range sharedObjs {
		if lateObjs[i] != sharedObjs[i] {
			t.Errorf("event %d: WatchShared objects differ between watchers", i)
		}
		if ownObjs[i] == sharedObjs[i] {
			t.Errorf("event %d: Watch handed out the shared object", i)
		}
	}
}

// TestSharedWatchEtcdUnreachable: etcd answered a watcher's read but its
// watch cannot be reached (etcd stopped in between: the client's watch
// waits for a connection, until its ctx ends). Shared watches still return
// at once, writes go on, and every watch ends with its ctx: the shared
// watch used to be opened under the store's lock with a ctx only the last
// watcher leaving ends, so leaving, watching and writing waited for etcd,
// and the master's informers (and its shutdown) hung while etcd was down.
func TestSharedWatchEtcdUnreachable(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, "")
	up := srv.Client(t)
	down, err := etcd.NewClient([]string{"http://" + etcdtest.FreeAddr(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { down.Close() }) // releases a watch that waits for it
	cli := clientv3.NewCtxClient(context.Background())
	cli.KV, cli.Lease, cli.Watcher = up.KV, up.Lease, down.Watcher
	s := etcdstore.New(cli)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type watch struct {
		ch  <-chan store.Event
		err error
	}
	opened := make(chan watch, 3)
	for _, res := range []api.Resource{api.Pods, api.Pods, api.Services} {
		go func() {
			ch, err := s.WatchShared(ctx, res, store.ListOptions{})
			opened <- watch{ch, err}
		}()
	}
	var chs []<-chan store.Event
	for range 3 {
		select {
		case w := <-opened:
			if w.err != nil {
				t.Fatal(w.err)
			}
			chs = append(chs, w.ch)
		case <-time.After(5 * time.Second):
			t.Fatal("WatchShared waited for an unreachable etcd watch")
		}
	}
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	defer wcancel()
	if _, err := s.Create(wctx, &api.Pod{TypeMeta: api.TypeMeta{ID: "p"}}); err != nil {
		t.Fatalf("create while the watch is unreachable: %v", err)
	}
	cancel()
	deadline := time.After(5 * time.Second)
	for i, ch := range chs {
		for ok := true; ok; {
			select {
			case _, ok = <-ch:
			case <-deadline:
				t.Fatalf("watch %d still open 5s after its ctx ended", i)
			}
		}
	}
}
