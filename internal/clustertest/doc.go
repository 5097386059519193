// Package clustertest holds test helpers for the control plane (scheduler
// and controllers): a thin API shim over a raw store and simulated minions.
// It is for tests only; nothing in a role imports it.
//
// Shim adds to a raw store (store/memory) the few API semantics the control
// loops rely on until they run over the real registry: GenerateName, uid and
// creationTimestamp on create, and Create of an *api.Binding as a
// compare-and-swap of the pod's desiredState.host that re-checks fit.Check
// (optionally skipped for benchmarks, where listing every pod per bind on the
// memory store would measure the fake instead of the scheduler).
//
// Minions simulates kubelets: it registers minions, posts heartbeats on
// demand or on a ticker, and marks the pods bound to a live minion Running
// with a fake pod IP, as a hollow kubelet would.
//
// The package's own tests are the control plane's integration tests: the
// registry (over the memory store), scheduler, replication manager,
// endpoints and node controllers run as components with simulated minions
// (integration_test.go, also restarted mid-scale over an embedded etcd) and
// with hollow minions, the real kubelet on fake runtimes (hollow_test.go);
// BenchmarkScheduleEtcd measures the scheduler through the registry on a
// durable embedded etcd (bench_test.go).
package clustertest
