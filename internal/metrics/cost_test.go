package metrics_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/apiserver"
	"kubelite/internal/clock"
	"kubelite/internal/clustertest"
	"kubelite/internal/etcd/etcdtest"
	"kubelite/internal/registry"
	"kubelite/internal/scheduler"
	"kubelite/internal/store"
	etcdstore "kubelite/internal/store/etcd"
	"kubelite/internal/testutil"
)

// TestScrapeAt1000Pods runs a master's pieces over an embedded etcd (the
// registry, the API, the scheduler), creates 1,000 pods through the API on
// 10 minions, and scrapes /metrics: etcd's own metrics are there beside
// kubelite's, no label holds a pod's name (cardinality does not grow with
// pods), and it logs what a scrape costs.
func TestScrapeAt1000Pods(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 pods: not in -short")
	}
	const pods, minions = 1000, 10
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv := etcdtest.Start(t, "")
	reg, err := registry.New(etcdstore.New(srv.Client(t)), registry.Config{})
	if err != nil {
		t.Fatal(err)
	}
	run := func(name string, f func(context.Context, func()) error) {
		rctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		started := make(chan struct{})
		go func() { done <- f(rctx, func() { close(started) }) }()
		select {
		case <-started:
		case err := <-done:
			t.Fatalf("%s: %v", name, err)
		}
		t.Cleanup(func() { stop(); <-done })
	}
	run("registry", reg.Run)
	var ids []string
	for i := 0; i < minions; i++ {
		ids = append(ids, fmt.Sprintf("minion-%d", i))
	}
	if err := clustertest.NewMinions(reg, clock.Real{}).Register(ctx, ids, nil); err != nil {
		t.Fatal(err)
	}
	api1, err := apiserver.New(apiserver.Config{Store: reg})
	if err != nil {
		t.Fatal(err)
	}
	h := api1.Handler()
	run("scheduler", scheduler.New(scheduler.Config{Store: reg}).Run)

	var wg sync.WaitGroup
	errs := make(chan error, pods)
	sem := make(chan struct{}, 16)
	for i := 0; i < pods; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			id := fmt.Sprintf("cost-pod-%04d", i)
			body := `{"kind":"Pod","apiVersion":"v1beta1","id":"` + id + `","labels":{"app":"cost"},"desiredState":{"manifest":{"version":"v1beta1","id":"` + id + `","containers":[{"name":"web","image":"nginx"}]}}}`
			req := httptest.NewRequest(http.MethodPost, "/api/v1beta1/pods", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusCreated {
				errs <- fmt.Errorf("create %s: %d %s", id, rec.Code, rec.Body)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	testutil.Eventually(t, time.Minute, func() error {
		objs, _, err := reg.List(ctx, api.Pods, storeAll)
		if err != nil {
			return err
		}
		bound := 0
		for _, o := range objs {
			if o.(*api.Pod).DesiredState.Host != "" {
				bound++
			}
		}
		if bound < pods {
			return fmt.Errorf("%d of %d pods bound", bound, pods)
		}
		return nil
	}, "the scheduler binds every pod")

	var took []time.Duration
	var body []byte
	for i := 0; i < 20; i++ {
		start := time.Now()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		took = append(took, time.Since(start))
		if rec.Code != http.StatusOK {
			t.Fatalf("GET /metrics: %d", rec.Code)
		}
		body, _ = io.ReadAll(rec.Body)
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	series := 0
	for _, line := range strings.Split(string(body), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			series++
		}
	}
	t.Logf("scrape at %d pods on %d minions: p50 %s, max %s, %d bytes, %d series", pods, minions,
		took[len(took)/2].Round(time.Microsecond), took[len(took)-1].Round(time.Microsecond), len(body), series)
	for _, want := range []string{
		"etcd_server_has_leader", "etcd_mvcc_db_total_size_in_bytes", // etcd's own
		`etcd_request_duration_seconds_count{operation="create",type="pods"}`,
		`scheduler_schedule_attempts_total{result="scheduled"}`,
		`workqueue_depth{name="scheduler"}`,
		`apiserver_request_total{code="201",resource="pods",verb="create"}`,
		"go_gc_duration_seconds",
	} {
		if !strings.Contains(string(body), "\n"+want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if m := regexp.MustCompile(`\{[^}]*cost-pod-\d+[^}]*\}`).Find(body); m != nil {
		t.Errorf("a label names a pod: %s", m)
	}
}

var storeAll = store.ListOptions{Namespace: ""}
