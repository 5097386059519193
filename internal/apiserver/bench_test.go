package apiserver_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/apiserver"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
	"kubelite/internal/store/remote"
)

// Latency through the whole HTTP path (remote client -> loopback TCP ->
// apiserver -> memory store), reported as p50/p99 besides ns/op:
//
//	go test -run '^$' -bench . -benchtime 2000x ./internal/apiserver/

func benchClient(b *testing.B, mem *memory.Store) *remote.Store {
	srv, err := apiserver.New(apiserver.Config{Store: mem})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	b.Cleanup(hs.Close)
	r, err := remote.New(hs.URL)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

func reportPercentiles(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	pct := func(p float64) float64 {
		i := int(p * float64(len(d)-1))
		return float64(d[i].Microseconds())
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}

func BenchmarkCreatePodHTTP(b *testing.B) {
	r := benchClient(b, memory.New())
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := testPod(fmt.Sprintf("pod-%d", i), "default", map[string]string{"app": "bench"})
		start := time.Now()
		if _, err := r.Create(ctx, p); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	reportPercentiles(b, lat)
}

func BenchmarkList1000PodsHTTP(b *testing.B) {
	mem := memory.New()
	for i := 0; i < 1000; i++ {
		mustCreate(b, mem, testPod(fmt.Sprintf("pod-%d", i), "default", map[string]string{"app": "bench"}))
	}
	r := benchClient(b, mem)
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		objs, _, err := r.List(ctx, api.Pods, store.ListOptions{Namespace: "default"})
		if err != nil || len(objs) != 1000 {
			b.Fatalf("list: %d objects, %v", len(objs), err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	reportPercentiles(b, lat)
}

// The same list straight from the memory store, to see what HTTP adds.
func BenchmarkList1000PodsDirect(b *testing.B) {
	mem := memory.New()
	for i := 0; i < 1000; i++ {
		mustCreate(b, mem, testPod(fmt.Sprintf("pod-%d", i), "default", nil))
	}
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if _, _, err := mem.List(ctx, api.Pods, store.ListOptions{Namespace: "default"}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	reportPercentiles(b, lat)
}

// BenchmarkRouteHandler measures the handler chain in process (no TCP) on
// a small object and on unknown paths, where routing is most of the cost:
//
//	go test -run '^$' -bench RouteHandler -benchmem ./internal/apiserver/
func BenchmarkRouteHandler(b *testing.B) {
	srv, err := apiserver.New(apiserver.Config{Store: seeded(b), Version: testVersion})
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	for _, target := range []string{"/api/v1beta1/pods/web", "/api/v1beta1/nope/x", "/healthz"} {
		b.Run(target, func(b *testing.B) {
			req := httptest.NewRequest("GET", target, nil)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				h.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}
