// Package metrics holds kubelite's Prometheus metrics and serves them.
//
// The vectors are package values, as Prometheus collectors usually are, so
// that a component records with one line and no wiring: a master, a
// standalone node and the tests run many components in one process, and
// they add into the same series (gauges are moved with Add, never Set, so
// two kubelets or two queues of one name in a process sum instead of
// overwriting each other). Nothing is registered at init: Register (called
// by Handler) puts the vectors into prometheus.DefaultRegisterer once,
// beside what is already there: the Go runtime and process collectors of
// client_golang, and the embedded etcd's own etcd_* metrics, which etcd
// registers in the default registry when the master embeds it.
//
// Names follow Kubernetes where a counterpart exists:
//
//	apiserver_request_total{verb,resource,code}          counter
//	apiserver_request_duration_seconds{verb,resource}    histogram (long-running requests excluded)
//	apiserver_current_inflight_requests{request_kind}    gauge: readOnly, mutating (watches excluded)
//	etcd_request_duration_seconds{operation,type}        histogram of kubelite's etcd store calls
//	workqueue_depth{name}                                gauge
//	workqueue_retries_total{name}                        counter
//	scheduler_schedule_attempts_total{result}            counter: scheduled, unschedulable, error
//	scheduler_e2e_scheduling_duration_seconds            histogram
//	replication_controller_syncs_total{result}           counter: success, error
//	kubelet_pod_start_duration_seconds                   histogram: pod seen to all containers running
//	kubelet_running_pods                                 gauge
//	kubeproxy_sync_proxy_rules_duration_seconds          histogram
//
// Cardinality is bounded: labels take values from small fixed sets (verbs,
// resource kinds, HTTP codes, queue names chosen in code), never object
// names. Callers pass label values through Verb and Resource, which fold
// anything unknown into "other".
//
// Handler serves the default gatherer in the Prometheus text format; it
// does no authentication (the API and kubelet servers mount it behind
// their own).
package metrics
