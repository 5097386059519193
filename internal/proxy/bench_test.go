package proxy

import (
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/netfilter"
	"kubelite/internal/testutil"
)

// manyServices returns n services with eps endpoints each.
func manyServices(n, eps int) ([]*api.Service, []*api.Endpoints) {
	var svcs []*api.Service
	var ends []*api.Endpoints
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("svc-%04d", i)
		svcs = append(svcs, &api.Service{
			TypeMeta: api.TypeMeta{ID: id, Namespace: "default"},
			Port:     80, PortalIP: fmt.Sprintf("10.254.%d.%d", 1+i/250, 1+i%250),
		})
		e := &api.Endpoints{TypeMeta: api.TypeMeta{ID: id, Namespace: "default"}}
		for j := 0; j < eps; j++ {
			k := i*eps + j
			e.Endpoints = append(e.Endpoints, fmt.Sprintf("10.244.%d.%d:8080", k/250, 1+k%250))
		}
		ends = append(ends, e)
	}
	return svcs, ends
}

// BenchmarkPlan: the pure part of a sync of 1,000 services x 3 endpoints.
func BenchmarkPlan(b *testing.B) {
	svcs, eps := manyServices(1000, 3)
	ports := map[string]int{}
	for i, s := range svcs {
		ports[nameOf(&s.TypeMeta)] = 30000 + i
	}
	b.Run("iptables", func(b *testing.B) {
		b.ReportAllocs()
		var size int
		for i := 0; i < b.N; i++ {
			in, _ := servicesFrom(svcs, eps, "")
			text := planIptables(in, nil, DefaultAffinityTimeout).Bytes()
			size = len(text)
		}
		b.ReportMetric(float64(size), "bytes/sync")
	})
	b.Run("userspace", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			in, _ := servicesFrom(svcs, eps, "")
			_ = planUserspace(in, ports, nil).Bytes()
		}
	})
}

// BenchmarkApply1000Services: one whole sync (read the tables, plan, one
// iptables-restore, check the jumps) of 1,000 services x 3 endpoints on real
// iptables, from empty tables ("fresh") and over the same rules ("resync",
// the periodic full sync); "one-change" is the incremental sync after one
// service's endpoints changed.
func BenchmarkApply1000Services(b *testing.B) {
	testutil.RequireNetns(b)
	nf, err := netfilter.New()
	if err != nil {
		b.Fatal(err)
	}
	svcs, eps := manyServices(1000, 3)
	for _, mode := range bothModes {
		p, err := New(Config{Store: nopStore{}, Mode: mode, Netfilter: nf})
		if err != nil {
			b.Fatal(err)
		}
		p.listen = func(in []service, _ map[string]int) (map[string]int, []error) {
			out := map[string]int{}
			for i, s := range in {
				out[s.Name] = 30000 + i
			}
			return out, nil
		}
		b.Run(string(mode)+"/fresh", func(b *testing.B) {
			b.Cleanup(func() { _ = Cleanup(nf) })
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				if err := Cleanup(nf); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, _, err := p.syncObjects(svcs, eps, true); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(string(mode)+"/one-change", func(b *testing.B) {
			b.Cleanup(func() { _ = Cleanup(nf) })
			if _, _, err := p.syncObjects(svcs, eps, true); err != nil {
				b.Fatal(err)
			}
			orig := eps[500]
			changed := api.Copy(orig)
			changed.Endpoints = changed.Endpoints[:2]
			if mode == ModeUserspace {
				changed.Endpoints = nil // userspace rules only change when a service gains or loses all endpoints
			}
			b.Cleanup(func() { eps[500] = orig })
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i%2 == 0 {
					eps[500] = changed
				} else {
					eps[500] = orig
				}
				if _, size, err := p.syncObjects(svcs, eps, false); err != nil || size == 0 {
					b.Fatalf("incremental sync: %d bytes, %v", size, err)
				}
			}
		})
		b.Run(string(mode)+"/resync", func(b *testing.B) {
			b.Cleanup(func() { _ = Cleanup(nf) })
			if _, _, err := p.syncObjects(svcs, eps, true); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, _, err := p.syncObjects(svcs, eps, true); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkThroughput: the same backend reached directly and through the
// portal IP in each mode, in one run. "conn": a new connection per small
// request, one client after the other (req/s; parallel clients measured
// mostly the scheduler of a busy 2-core machine); "1MiB": 1 MiB responses
// over a kept-alive connection (MB/s).
func BenchmarkThroughput(b *testing.B) {
	testutil.RequireNetns(b)
	bs := startBackends(b, 1, 8090)
	for _, target := range []string{"direct", string(ModeIptables), string(ModeUserspace)} {
		url := "http://" + bs[0].addr
		var teardown func()
		if target != "direct" {
			e := newEnv(b, Mode(target))
			e.putService(&api.Service{TypeMeta: api.TypeMeta{ID: "bench"}, Port: 80, PortalIP: "10.254.0.200"})
			rv := e.putEndpoints("bench", bs[0].addr)
			e.start(nil)
			e.waitApplied(rv, 5*time.Second)
			url = "http://10.254.0.200:80"
			teardown = func() {
				e.stop()
				if err := Cleanup(e.nf); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.Run(target+"/conn", func(b *testing.B) {
			tr := &http.Transport{DisableKeepAlives: true}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				resp, err := c.Get(url + "/")
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
		b.Run(target+"/1MiB", func(b *testing.B) {
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			b.SetBytes(int64(len(bigBody)))
			for i := 0; i < b.N; i++ {
				resp, err := c.Get(url + "/big")
				if err != nil {
					b.Fatal(err)
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if n != int64(len(bigBody)) {
					b.Fatalf("short body: %d bytes", n)
				}
			}
		})
		if teardown != nil {
			teardown()
		}
	}
}
