package metrics_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/apiserver"
	"kubelite/internal/clock"
	"kubelite/internal/clustertest"
	"kubelite/internal/scheduler"
	"kubelite/internal/store/memory"
	"kubelite/internal/testutil"
)

// scrape GETs /metrics from h and returns the value of the series whose
// line starts with series (name and labels as Prometheus prints them), 0
// when absent.
func scrape(t *testing.T, h http.Handler, series string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	body, _ := io.ReadAll(rec.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		return 0
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatalf("series %s: %v", series, err)
	}
	return v
}

// TestMetricsMoveAfterCreateAndSchedule runs the API and the scheduler over
// a memory store, creates a pod through the API, waits for its binding, and
// reads the counters from /metrics before and after.
func TestMetricsMoveAfterCreateAndSchedule(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st := clustertest.NewRegistry(t, memory.New())
	if err := clustertest.NewMinions(st, clock.Real{}).Register(ctx, []string{"minion-1"}, nil); err != nil {
		t.Fatal(err)
	}
	srv, err := apiserver.New(apiserver.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()

	const (
		created   = `apiserver_request_total{code="201",resource="pods",verb="create"}`
		scheduled = `scheduler_schedule_attempts_total{result="scheduled"}`
		e2e       = `scheduler_e2e_scheduling_duration_seconds_count`
		latency   = `apiserver_request_duration_seconds_count{resource="pods",verb="create"}`
	)
	before := map[string]float64{}
	for _, s := range []string{created, scheduled, e2e, latency} {
		before[s] = scrape(t, h, s)
	}

	sched := scheduler.New(scheduler.Config{Store: st})
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- sched.Run(sctx, func() {}) }()
	defer func() { stop(); <-done }()

	body := `{"kind":"Pod","apiVersion":"v1beta1","id":"web","desiredState":{"manifest":{"version":"v1beta1","id":"web","containers":[{"name":"web","image":"nginx"}]}}}`
	req := httptest.NewRequest(http.MethodPost, "/api/v1beta1/pods", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create pod: %d %s", rec.Code, rec.Body)
	}
	testutil.Eventually(t, 10*time.Second, func() bool {
		o, err := st.Get(ctx, api.Pods, api.DefaultNamespace, "web")
		return err == nil && o.(*api.Pod).DesiredState.Host != ""
	}, "pod web was not scheduled")

	testutil.Eventually(t, 5*time.Second, func() bool {
		return scrape(t, h, scheduled) >= before[scheduled]+1
	}, "%s did not move", scheduled)
	for _, s := range []string{created, e2e, latency} {
		if got := scrape(t, h, s); got < before[s]+1 {
			t.Errorf("%s = %v, was %v before the create and schedule", s, got, before[s])
		}
	}
	if got := scrape(t, h, `apiserver_current_inflight_requests{request_kind="readOnly"}`); got != 1 {
		t.Errorf("readOnly requests in flight during a scrape = %v, want 1 (the scrape)", got)
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if scrape(t, h, name) <= 0 {
			t.Errorf("%s missing from /metrics", name)
		}
	}
}
