package etcd

import (
	"fmt"
	"testing"

	"kubelite/internal/api"
	"kubelite/internal/store"
)

func sel(t testing.TB, s string) api.Selector {
	t.Helper()
	out, err := api.ParseSelector(s)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func podOn(ns, id, host string, labels map[string]string) *api.Pod {
	return &api.Pod{TypeMeta: api.TypeMeta{ID: id, Namespace: ns, Labels: labels}, DesiredState: api.PodState{Host: host}}
}

// routeOptions are the watchers of the routing tests: indexed by host
// (kubelets, the scheduler's unbound pods, with a namespace or a label too,
// the alias, two host terms) and not (everything, a namespace, other
// fields, host inequality).
func routeOptions(t testing.TB) []store.ListOptions {
	return []store.ListOptions{
		{},
		{Namespace: "ns1"},
		{Fields: sel(t, "DesiredState.Host=a")},
		{Fields: sel(t, "DesiredState.Host=b")},
		{Fields: sel(t, "DesiredState.Host=c")},
		{Fields: sel(t, "DesiredState.Host=")},
		{Fields: sel(t, "DesiredState.Host!=")},
		{Fields: sel(t, "DesiredState.Host!=a")},
		{Fields: sel(t, "DesiredState.Host==a")},
		{Fields: sel(t, "Status.Host=a")},
		{Fields: sel(t, "DesiredState.Host=a,DesiredState.Host=b")},
		{Fields: sel(t, "DesiredState.Host=a,name=p")},
		{Fields: sel(t, "name=p")},
		{Fields: sel(t, "Status.Phase=Pending")},
		{Namespace: "ns1", Fields: sel(t, "DesiredState.Host=a")},
		{Labels: sel(t, "app=web"), Fields: sel(t, "DesiredState.Host=a")},
		{Labels: sel(t, "app=web")},
	}
}

// routeChanges are pod changes of every kind: creates, deletes, updates on
// one host, binds, moves between hosts, unbinds, namespace and label
// changes, both sides present or not.
func routeChanges() []change {
	web := map[string]string{"app": "web"}
	pods := []api.Object{
		nil,
		podOn("ns1", "p", "", nil),
		podOn("ns1", "p", "a", nil),
		podOn("ns1", "p", "a", web),
		podOn("ns1", "p", "b", nil),
		podOn("ns2", "p", "a", nil),
		podOn("ns1", "q", "c", web),
	}
	var out []change
	rev := int64(10)
	for _, prev := range pods {
		for _, cur := range pods {
			if prev == nil && cur == nil {
				continue
			}
			rev++
			out = append(out, change{rev: rev, prev: prev, cur: cur})
		}
	}
	return out
}

func eventString(ev store.Event, ok bool) string {
	if !ok {
		return "none"
	}
	return fmt.Sprintf("%s %p", ev.Type, ev.Object)
}

// The shared watch's routing (the host index) gives every watcher exactly
// the events store.FilterEvent gives it, type and object, for every kind of
// change and selector.
func TestRoutingIsFilterEvent(t *testing.T) {
	opts := routeOptions(t)
	for _, c := range routeChanges() {
		b := newBroadcaster(nil, api.Pods, 0, func() {})
		subs := make([]*subscriber, len(opts))
		for i, o := range opts {
			subs[i] = &subscriber{opts: o, wake: make(chan struct{}, 1)}
			subs[i].host, subs[i].indexed = indexHost(api.Pods, o)
			b.add(subs[i])
		}
		b.publish([]change{c})
		for i, sub := range subs {
			want := eventString(store.FilterEvent(opts[i], c.prev, c.cur))
			got := "none"
			queued, _, _ := sub.take()
			if len(queued) > 1 {
				t.Fatalf("change queued %d times", len(queued))
			}
			for _, q := range queued {
				got = eventString(store.FilterEvent(sub.opts, q.prev, q.cur))
			}
			if got != want {
				t.Errorf("watcher %+v, change %v -> %v: got %s, want %s", opts[i], c.prev, c.cur, got, want)
			}
			// A late joiner's replay routes the same way.
			if sub.concerns(c) != (len(queued) == 1) {
				t.Errorf("watcher %+v: concerns %v, queued %d", opts[i], sub.concerns(c), len(queued))
			}
		}
	}
}

// Watchers come and go: the index holds exactly those subscribed, and the
// count of field-selector watchers follows.
func TestIndexFollowsSubscribers(t *testing.T) {
	b := newBroadcaster(nil, api.Pods, 0, func() {})
	opts := routeOptions(t)
	var subs []*subscriber
	for _, o := range opts {
		sub := &subscriber{opts: o, wake: make(chan struct{}, 1)}
		sub.host, sub.indexed = indexHost(api.Pods, o)
		b.add(sub)
		subs = append(subs, sub)
	}
	for _, sub := range subs {
		b.remove(sub)
		b.remove(sub) // twice is harmless
	}
	if len(b.subs) != 0 || len(b.rest) != 0 || len(b.byHost) != 0 {
		t.Fatalf("left: %d subs, %d rest, %d hosts", len(b.subs), len(b.rest), len(b.byHost))
	}
	// Other resources are never indexed: their objects have no host field.
	if _, ok := indexHost(api.Services, store.ListOptions{Fields: sel(t, "DesiredState.Host=a")}); ok {
		t.Fatal("a service watcher indexed by host")
	}
}

// BenchmarkFanOutHostWatchers: one pod change (a bind onto host-17) on a
// shared watch with 5,000 kubelet watchers (DesiredState.Host=host-N) and
// 3 unfiltered ones: queueing it and every watcher's filtering of what it
// was queued. "all" is the old way, every watcher gets every change and
// computes the pod's fields itself; "indexed" the host index with the
// fields computed once.
func BenchmarkFanOutHostWatchers(b *testing.B) {
	const hosts = 5000
	prev := podOn("default", "web-1", "", map[string]string{"app": "web"})
	cur := podOn("default", "web-1", "host-17", map[string]string{"app": "web"})
	for _, indexed := range []bool{false, true} {
		name := "all"
		if indexed {
			name = "indexed"
		}
		b.Run(name, func(b *testing.B) {
			br := newBroadcaster(nil, api.Pods, 0, func() {})
			var subs []*subscriber
			for i := 0; i < hosts+3; i++ {
				var o store.ListOptions
				if i < hosts {
					o.Fields = sel(b, fmt.Sprintf("DesiredState.Host=host-%d", i))
				}
				sub := &subscriber{opts: o, wake: make(chan struct{}, 1)}
				if indexed {
					sub.host, sub.indexed = indexHost(api.Pods, o)
				}
				br.add(sub)
				subs = append(subs, sub)
			}
			// The watchers that run for the change: in the shared watch,
			// each is a goroutine woken by its queue.
			woken := subs
			if indexed {
				woken = nil
				for sub := range br.rest {
					woken = append(woken, sub)
				}
				for _, h := range []string{"", "host-17"} {
					for sub := range br.byHost[h] {
						woken = append(woken, sub)
					}
				}
			}
			delivered, n := 0, 0
			b.ReportAllocs()
			for b.Loop() {
				n++
				c := change{rev: 7, prev: prev, cur: cur}
				br.publish([]change{c})
				for _, sub := range woken {
					chs, _, _ := sub.take()
					for _, q := range chs {
						if _, ok := store.FilterEvent(sub.opts, q.prev, q.cur); ok {
							delivered++
						}
					}
				}
			}
			if delivered != 4*n {
				b.Fatalf("delivered %d events, want %d", delivered, 4*n)
			}
			for _, sub := range subs {
				if chs, _, _ := sub.take(); len(chs) != 0 {
					b.Fatal("a watcher that was not woken had changes queued")
				}
			}
		})
	}
}
