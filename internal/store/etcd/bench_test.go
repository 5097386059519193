package etcd_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/etcd/etcdtest"
	"kubelite/internal/store"
	etcdstore "kubelite/internal/store/etcd"
)

// benchPod is a pod as the bench's writers create them: a template's, with
// its id, uid and creation time.
func benchPod(i int) *api.Pod {
	env := make([]api.EnvVar, 12)
	for j := range env {
		env[j] = api.EnvVar{Name: fmt.Sprintf("SETTING_%02d", j), Value: strings.Repeat("v", 40)}
	}
	p := &api.Pod{
		TypeMeta: api.TypeMeta{ID: fmt.Sprintf("web-%07d", i), UID: fmt.Sprintf("uid-%07d", i), Namespace: "default",
			CreationTimestamp: time.Now(), Labels: map[string]string{"app": "web", "tier": "frontend"}},
		DesiredState: api.PodState{Manifest: api.ContainerManifest{Version: "v1beta1", ID: fmt.Sprintf("web-%07d", i),
			Containers: []api.Container{{Name: "web", Image: "kubelite/webserver:v1", Ports: []api.Port{{Name: "http", ContainerPort: 80}}, Env: env}}}},
		NodeSelector: map[string]string{"disk": "ssd"},
	}
	api.SetKind(p)
	return p
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCreateWatched: creates of a template pod, one after the other,
// on an embedded etcd (in this process), with a shared watch consuming them
// as the registry's informer does; cpu-us/op is the CPU of the whole process
// (client, etcd, the watch) per create, measured until the watch has seen
// every create. The store's client is a network client of the server
// (gRPC over loopback, as with --etcd_servers) or its in-process client (the
// master's own embedded etcd); Create returns a copy, CreateOwned (the
// registry's) the object given:
//
//	go test -run '^$' -bench CreateWatched -benchmem ./internal/store/etcd/
func BenchmarkCreateWatched(b *testing.B) {
	cases := []struct {
		name  string
		local bool
		owned bool
	}{
		{"network/Create", false, false},
		{"local/Create", true, false},
		{"local/CreateOwned", true, true},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			srv := etcdtest.Start(b, "")
			cli := srv.Client(b)
			if tc.local {
				cli = srv.LocalClient(b)
			}
			s := etcdstore.New(cli)
			create := s.Create
			if tc.owned {
				create = s.CreateOwned
			}
			benchCreateWatched(b, s, create)
		})
	}
}

func benchCreateWatched(b *testing.B, s *etcdstore.Store, create func(context.Context, api.Object) (api.Object, error)) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := s.WatchShared(ctx, api.Pods, store.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	pods := make([]*api.Pod, b.N)
	for i := range pods {
		pods[i] = benchPod(i)
	}
	all := make(chan struct{})
	go func() {
		n := 0
		for range ch {
			if n++; n == b.N {
				close(all)
			}
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuNow()
	for _, p := range pods {
		if _, err := create(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-all:
	case <-time.After(time.Minute):
		b.Fatal("the watch did not see every create")
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuNow()-cpu0).Microseconds())/float64(b.N), "cpu-us/op")
}

// BenchmarkWatchHostFanOut: pod creates onto 5,000 hosts (a pod each, host
// by host) on an embedded etcd, with a shared watch per host as 5,000
// kubelets hold (DesiredState.Host=host-N) and 3 unfiltered ones;
// cpu-us/op is the CPU of the whole process per create, until every
// watcher has had its events and the process is idle again.
func BenchmarkWatchHostFanOut(b *testing.B) {
	const hosts, unfiltered = 5000, 3
	srv := etcdtest.Start(b, "")
	s := etcdstore.New(srv.Client(b))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var delivered atomic.Int64
	watch := func(opts store.ListOptions) {
		ch, err := s.WatchShared(ctx, api.Pods, opts)
		if err != nil {
			b.Fatal(err)
		}
		go func() {
			for range ch {
				delivered.Add(1)
			}
		}()
	}
	for h := 0; h < hosts; h++ {
		sel, err := api.ParseSelector(fmt.Sprintf("%s=host-%d", api.FieldDesiredStateHost, h))
		if err != nil {
			b.Fatal(err)
		}
		watch(store.ListOptions{Fields: sel})
	}
	for u := 0; u < unfiltered; u++ {
		watch(store.ListOptions{})
	}
	pods := make([]*api.Pod, b.N)
	for i := range pods {
		pods[i] = benchPod(i)
		pods[i].DesiredState.Host = fmt.Sprintf("host-%d", i%hosts)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuNow()
	for _, p := range pods {
		if _, err := s.Create(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
	want := int64(b.N * (unfiltered + 1))
	deadline := time.Now().Add(5 * time.Minute)
	for delivered.Load() < want && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // a benchmark's end: nothing to signal it
	}
	if got := delivered.Load(); got != want {
		b.Fatalf("delivered %d events, want %d", got, want)
	}
	// Watchers the events were not for may still be filtering them: wait
	// until the process is idle (under 2 ms of CPU in 100 ms).
	for last := cpuNow(); ; {
		time.Sleep(100 * time.Millisecond)
		now := cpuNow()
		if now-last < 2*time.Millisecond {
			break
		}
		last = now
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuNow()-cpu0).Microseconds())/float64(b.N), "cpu-us/op")
}
