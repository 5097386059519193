package registry_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"kubelite/internal/api"
	"kubelite/internal/etcd/etcdtest"
	"kubelite/internal/registry"
	"kubelite/internal/store"
	etcdstore "kubelite/internal/store/etcd"
	"kubelite/internal/store/storetest"
)

// TestContractOverEtcd: the registry over a real embedded etcd keeps the
// store contract too.
func TestContractOverEtcd(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, "")
	cli := srv.Client(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		if _, err := cli.Delete(context.Background(), store.KeyPrefix, clientv3.WithPrefix()); err != nil {
			t.Fatal(err)
		}
		raw := etcdstore.New(cli)
		if _, err := raw.Create(context.Background(), readyMinion("m1")); err != nil {
			t.Fatal(err)
		}
		return start(t, raw, registry.Config{})
	})
}

// TestPortalUniqueAcrossEtcdRestart: etcd and the registry stop and start
// again on the same data dir; no new service gets a live service's address.
func TestPortalUniqueAcrossEtcdRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := context.Background()
	live := map[string]string{}
	srv := etcdtest.Start(t, dir)
	cli := srv.Client(t)
	r, stop := startStop(t, etcdstore.New(cli), registry.Config{PortalNet: cidr("10.254.0.0/28")})
	for i := 0; i < 10; i++ {
		o, err := r.Create(c, svc(fmt.Sprintf("s%d", i), ""))
		if err != nil {
			t.Fatal(err)
		}
		live[o.(*api.Service).PortalIP] = o.Meta().ID
	}
	stop()
	cli.Close()
	srv.Stop()

	srv2 := etcdtest.Start(t, dir)
	r2 := start(t, etcdstore.New(srv2.Client(t)), registry.Config{PortalNet: cidr("10.254.0.0/28")})
	for i := 0; i < 4; i++ { // 14 usable addresses, 10 live
		o, err := r2.Create(c, svc(fmt.Sprintf("n%d", i), ""))
		if err != nil {
			t.Fatal(err)
		}
		if owner, ok := live[o.(*api.Service).PortalIP]; ok {
			t.Fatalf("new service got %s of live service %s", o.(*api.Service).PortalIP, owner)
		}
	}
	if _, err := r2.Create(c, svc("full", "")); code(err) != 409 {
		t.Fatalf("want 409 when full, got %v", err)
	}
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	idx := int(float64(len(s)-1) * p)
	return s[idx]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func benchPod(i int) *api.Pod {
	p := pod("", 0)
	p.ID = ""
	p.GenerateName = "webservercontroller-"
	p.Labels = map[string]string{"name": "webserver_pod", "i": fmt.Sprint(i)}
	c := &p.DesiredState.Manifest.Containers[0]
	c.Ports = []api.Port{{ContainerPort: 80}, {ContainerPort: 22}}
	c.Command = []string{"/bin/sh", "-c", "/usr/bin/supervisord -c /etc/supervisord.conf"}
	c.CPU, c.Memory = 100, 50000000
	c.Env = []api.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}}
	return p
}

// BenchmarkCreateLatency creates 1,000 pods through the registry on a real
// embedded etcd at 200/s, interleaved with 1,000 raw etcd puts of the same
// bytes, and reports median and p99 of both (b.N is ignored: one run of
// 1,000 each). Run: go test -run XXX -bench CreateLatency -benchtime 1x ./internal/registry/
func BenchmarkCreateLatency(b *testing.B) {
	srv := etcdtest.StartDurable(b, "")
	cli := srv.Client(b)
	r := startB(b, etcdstore.New(cli))
	c := context.Background()
	const n = 1000
	var reg, raw []time.Duration
	tick := time.NewTicker(5 * time.Millisecond) // 200/s
	defer tick.Stop()
	b.ResetTimer()
	for i := 0; i < n; i++ {
		<-tick.C
		t0 := time.Now()
		o, err := r.Create(c, benchPod(i))
		reg = append(reg, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
		data, _ := json.Marshal(o)
		t1 := time.Now()
		if _, err := cli.Put(c, fmt.Sprintf("/bench/raw/%d", i), string(data)); err != nil {
			b.Fatal(err)
		}
		raw = append(raw, time.Since(t1))
	}
	b.StopTimer()
	b.ReportMetric(ms(percentile(reg, 0.5)), "create-p50-ms")
	b.ReportMetric(ms(percentile(reg, 0.99)), "create-p99-ms")
	b.ReportMetric(ms(percentile(raw, 0.5)), "rawput-p50-ms")
	b.ReportMetric(ms(percentile(raw, 0.99)), "rawput-p99-ms")
}

// BenchmarkBindThroughput binds 3,000 pods to 30 minions from 16 goroutines
// through the registry on etcd and reports binds per second.
func BenchmarkBindThroughput(b *testing.B) {
	srv := etcdtest.StartDurable(b, "")
	cli := srv.Client(b)
	raw := etcdstore.New(cli)
	c := context.Background()
	const minions, pods, workers = 30, 3000, 16
	for i := 0; i < minions; i++ {
		if _, err := raw.Create(c, readyMinion(fmt.Sprintf("m%d", i))); err != nil {
			b.Fatal(err)
		}
	}
	r := startB(b, raw)
	ids := make([]string, pods)
	for i := range ids {
		p := benchPod(i)
		p.ID = fmt.Sprintf("p%d", i)
		p.DesiredState.Manifest.Containers[0].Ports = []api.Port{{ContainerPort: 80, HostPort: 8000 + i/minions}}
		if _, err := r.Create(c, p); err != nil {
			b.Fatal(err)
		}
		ids[i] = p.ID
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Int64
	b.ResetTimer()
	t0 := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= pods {
					return
				}
				if _, err := r.Create(c, &api.Binding{PodID: ids[i], Host: fmt.Sprintf("m%d", i%minions)}); err != nil {
					failed.Add(1)
					b.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(t0)
	b.StopTimer()
	b.ReportMetric(float64(pods)/el.Seconds(), "binds/s")
	if failed.Load() > 0 {
		b.Fatalf("%d binds failed", failed.Load())
	}
}

// BenchmarkList1000 lists 1,000 pods through the registry on etcd 200 times
// and reports median and p99.
func BenchmarkList1000(b *testing.B) {
	srv := etcdtest.StartDurable(b, "")
	cli := srv.Client(b)
	r := startB(b, etcdstore.New(cli))
	c := context.Background()
	for i := 0; i < 1000; i++ {
		if _, err := r.Create(c, benchPod(i)); err != nil {
			b.Fatal(err)
		}
	}
	var d []time.Duration
	b.ResetTimer()
	for i := 0; i < 200; i++ {
		t0 := time.Now()
		objs, _, err := r.List(c, api.Pods, store.ListOptions{Namespace: "default"})
		d = append(d, time.Since(t0))
		if err != nil || len(objs) != 1000 {
			b.Fatalf("list: %d %v", len(objs), err)
		}
	}
	b.StopTimer()
	b.ReportMetric(ms(percentile(d, 0.5)), "list-p50-ms")
	b.ReportMetric(ms(percentile(d, 0.99)), "list-p99-ms")
}

func startB(b *testing.B, raw store.Store) *registry.Registry {
	r, err := registry.New(raw, registry.Config{})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	started := make(chan struct{})
	go func() { done <- r.Run(ctx, func() { close(started) }) }()
	select {
	case <-started:
	case err := <-done:
		b.Fatal(err)
	}
	b.Cleanup(func() { cancel(); <-done })
	return r
}

// TestCreateOverEtcdKeepsTheCallersObject: over store/etcd, whose
// CreateOwned returns the object it stores, Create still neither returns nor
// changes the caller's object; CreateOwned returns the one it was given.
func TestCreateOverEtcdKeepsTheCallersObject(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, "")
	r := start(t, etcdstore.New(srv.LocalClient(t)), registry.Config{})
	c := ctx(t)
	in := pod("web-1")
	out, err := r.Create(c, in)
	if err != nil {
		t.Fatal(err)
	}
	if out == api.Object(in) || in.UID != "" || in.ResourceVersion != 0 {
		t.Errorf("Create returned or changed the caller's object: same %v, uid %q, rv %d", out == api.Object(in), in.UID, in.ResourceVersion)
	}
	owned := pod("web-2")
	out, err = r.CreateOwned(c, owned)
	if err != nil {
		t.Fatal(err)
	}
	if out != api.Object(owned) || owned.ResourceVersion == 0 || owned.UID == "" {
		t.Errorf("CreateOwned: returned its object %v, rv %d, uid %q", out == api.Object(owned), owned.ResourceVersion, owned.UID)
	}
}
