package metrics

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/sirupsen/logrus"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Request duration buckets: 5 ms to 60 s, as the API's requests go.
var requestBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// Fast buckets for store calls and rule syncs: 0.5 ms to 10 s.
var fastBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

var (
	// APIRequests counts API requests by verb, resource and HTTP code.
	APIRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "apiserver_request_total",
		Help: "API requests by verb, resource and HTTP response code.",
	}, []string{"verb", "resource", "code"})
	// APIRequestDuration observes the duration of API requests that are not
	// long-running (watches, log follows and proxies are left out).
	APIRequestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "apiserver_request_duration_seconds",
		Help:    "Duration of API requests (watches and proxies excluded), by verb and resource.",
		Buckets: requestBuckets,
	}, []string{"verb", "resource"})
	// APIInflight is the number of API requests being served, watches apart.
	APIInflight = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "apiserver_current_inflight_requests",
		Help: "API requests being served (long-running requests excluded), by kind: readOnly or mutating.",
	}, []string{"request_kind"})
	// EtcdRequestDuration observes kubelite's calls to etcd.
	EtcdRequestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "etcd_request_duration_seconds",
		Help:    "Duration of the API store's etcd requests, by operation and resource.",
		Buckets: fastBuckets,
	}, []string{"operation", "type"})
	// WorkqueueDepth is how many keys wait in the named queues.
	WorkqueueDepth = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "workqueue_depth",
		Help: "Keys waiting in the work queue.",
	}, []string{"name"})
	// WorkqueueRetries counts keys requeued with backoff after a failure.
	WorkqueueRetries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "workqueue_retries_total",
		Help: "Keys requeued with backoff after a failed sync.",
	}, []string{"name"})
	// SchedulerAttempts counts scheduling attempts by result.
	SchedulerAttempts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "scheduler_schedule_attempts_total",
		Help: "Scheduling attempts by result: scheduled, unschedulable or error.",
	}, []string{"result"})
	// SchedulerE2E observes the time from a pod's arrival at the scheduler
	// to its binding.
	SchedulerE2E = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "scheduler_e2e_scheduling_duration_seconds",
		Help:    "Time from taking a pod off the scheduling queue to its binding written.",
		Buckets: fastBuckets,
	})
	// RCSyncs counts replication controller syncs by result.
	RCSyncs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "replication_controller_syncs_total",
		Help: "Replication controller syncs by result: success or error.",
	}, []string{"result"})
	// KubeletPodStart observes the time from a kubelet first seeing a pod to
	// all its containers running.
	KubeletPodStart = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "kubelet_pod_start_duration_seconds",
		Help:    "Time from the kubelet seeing a pod to all of its containers running.",
		Buckets: requestBuckets,
	})
	// KubeletRunningPods is the number of pods with a running infra
	// container, summed over the kubelets of the process.
	KubeletRunningPods = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "kubelet_running_pods",
		Help: "Pods running on this minion (every kubelet of the process summed).",
	})
	// ProxySyncDuration observes how long a sync of the proxy's iptables
	// rules takes.
	ProxySyncDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "kubeproxy_sync_proxy_rules_duration_seconds",
		Help:    "Duration of a sync of the service proxy's iptables rules.",
		Buckets: fastBuckets,
	})
)

// all is every collector Register adds.
func all() []prometheus.Collector {
	return []prometheus.Collector{
		APIRequests, APIRequestDuration, APIInflight, EtcdRequestDuration,
		WorkqueueDepth, WorkqueueRetries, SchedulerAttempts, SchedulerE2E,
		RCSyncs, KubeletPodStart, KubeletRunningPods, ProxySyncDuration,
	}
}

var registerOnce sync.Once

// Register adds kubelite's collectors to prometheus.DefaultRegisterer; only
// the first call does anything. A collector already registered (by another
// copy of the same vector) is kept.
func Register() {
	registerOnce.Do(func() {
		for _, c := range all() {
			var already prometheus.AlreadyRegisteredError
			if err := prometheus.DefaultRegisterer.Register(c); err != nil && !errors.As(err, &already) {
				// A name clash is a programming error (the package's test
				// catches it); serving the rest beats failing.
				logrus.WithField("component", "metrics").WithError(err).Error("register collector")
			}
		}
	})
}

// Handler registers the collectors (once) and serves the default gatherer
// in the Prometheus text format.
func Handler() http.Handler {
	Register()
	return promhttp.HandlerFor(prometheus.DefaultGatherer, promhttp.HandlerOpts{})
}

// The verbs Verb keeps; any other is "other".
var verbs = map[string]bool{
	"get": true, "list": true, "watch": true, "create": true, "update": true,
	"patch": true, "delete": true, "deletecollection": true, "proxy": true, "redirect": true,
	"heartbeat": true,
}

// Verb bounds a request verb label: a known verb as is, anything else
// "other".
func Verb(v string) string {
	if verbs[v] {
		return v
	}
	return "other"
}

// The resources Resource keeps: the v1beta1 kinds and the v1 names of
// the kinds kubelite serves.
var resources = map[string]bool{
	"": true, "pods": true, "replicationControllers": true, "replicationcontrollers": true,
	"services": true, "endpoints": true, "minions": true, "nodes": true, "events": true,
	"bindings": true, "namespaces": true,
}

// Resource bounds a resource label: a kind kubelite serves as is, ""
// (a non-resource path) as is, anything else "other".
func Resource(r string) string {
	if resources[r] {
		return r
	}
	return "other"
}

// Code is the label of an HTTP status code.
func Code(code int) string { return strconv.Itoa(code) }

// GaugeDelta moves a shared gauge by the change of one owner's count, so
// that several owners in a process (kubelets, queues of one name) sum into
// one gauge: each keeps its last count and calls Set with the new one.
type GaugeDelta struct {
	mu   sync.Mutex
	g    prometheus.Gauge
	last float64
}

// NewGaugeDelta returns a GaugeDelta on g, starting at 0.
func NewGaugeDelta(g prometheus.Gauge) *GaugeDelta { return &GaugeDelta{g: g} }

// Set makes this owner's share of the gauge v.
func (d *GaugeDelta) Set(v float64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.g.Add(v - d.last)
	d.last = v
}

// Value gathers c alone and returns the sum over its series of counter and
// gauge values and of histogram sample counts: a reading for tests and
// logs (a vector or one of its children).
func Value(c prometheus.Collector) (float64, error) {
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		return 0, fmt.Errorf("register: %w", err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		return 0, fmt.Errorf("gather: %w", err)
	}
	var sum float64
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch {
			case m.Counter != nil:
				sum += m.GetCounter().GetValue()
			case m.Gauge != nil:
				sum += m.GetGauge().GetValue()
			case m.Histogram != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum, nil
}
