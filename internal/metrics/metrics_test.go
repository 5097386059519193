package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestHandlerServesEveryFamily(t *testing.T) {
	APIRequests.WithLabelValues("get", "pods", "200").Inc()
	SchedulerAttempts.WithLabelValues("scheduled").Inc()
	WorkqueueDepth.WithLabelValues("test").Add(0)
	WorkqueueRetries.WithLabelValues("test").Add(0)
	RCSyncs.WithLabelValues("success").Add(0)
	APIRequestDuration.WithLabelValues("get", "pods").Observe(0.01)
	APIInflight.WithLabelValues("readOnly").Add(0)
	EtcdRequestDuration.WithLabelValues("get", "pods").Observe(0.001)
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("code %d", rec.Code)
	}
	body, _ := io.ReadAll(rec.Body)
	for _, name := range []string{
		"apiserver_request_total", "apiserver_request_duration_seconds", "apiserver_current_inflight_requests",
		"etcd_request_duration_seconds", "workqueue_depth", "workqueue_retries_total",
		"scheduler_schedule_attempts_total", "scheduler_e2e_scheduling_duration_seconds",
		"replication_controller_syncs_total", "kubelet_pod_start_duration_seconds", "kubelet_running_pods",
		"kubeproxy_sync_proxy_rules_duration_seconds",
		"go_goroutines", "process_resident_memory_bytes",
	} {
		if !strings.Contains(string(body), "\n# TYPE "+name+" ") {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}

func TestRegisterTwiceKeepsOneCopy(t *testing.T) {
	Register()
	Register()
	if err := prometheus.DefaultRegisterer.Register(KubeletRunningPods); err == nil {
		t.Fatal("KubeletRunningPods was not registered")
	}
}

func TestGaugeDeltaSumsOwners(t *testing.T) {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "x"})
	a, b := NewGaugeDelta(g), NewGaugeDelta(g)
	a.Set(3)
	b.Set(2)
	a.Set(1)
	reg := prometheus.NewRegistry()
	reg.MustRegister(g)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if v := mfs[0].GetMetric()[0].GetGauge().GetValue(); v != 3 {
		t.Fatalf("gauge %v, want 3", v)
	}
}

func TestLabelsAreBounded(t *testing.T) {
	for _, tc := range []struct{ in, verb, res string }{
		{"get", "get", "pods"},
		{"PROPFIND", "other", "other"},
		{"watch", "watch", "other"},
	} {
		if got := Verb(tc.in); got != tc.verb {
			t.Errorf("Verb(%q) = %q, want %q", tc.in, got, tc.verb)
		}
	}
	for in, want := range map[string]string{"pods": "pods", "": "", "my-pod-123": "other", "replicationControllers": "replicationControllers"} {
		if got := Resource(in); got != want {
			t.Errorf("Resource(%q) = %q, want %q", in, got, want)
		}
	}
	if Code(404) != "404" {
		t.Error("Code(404)")
	}
}

func TestValueSumsSeries(t *testing.T) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "c_total", Help: "c"}, []string{"l"})
	c.WithLabelValues("a").Add(2)
	c.WithLabelValues("b").Add(3)
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "h", Help: "h"})
	h.Observe(1)
	for _, tc := range []struct {
		c    prometheus.Collector
		want float64
	}{{c, 5}, {c.WithLabelValues("a"), 2}, {h, 1}} {
		if v, err := Value(tc.c); err != nil || v != tc.want {
			t.Errorf("Value = %v, %v; want %v", v, err, tc.want)
		}
	}
}
