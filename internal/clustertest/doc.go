// Package clustertest holds test helpers for the control plane (scheduler
// and controllers): the real registry over a raw store, and simulated
// minions. It is for tests only; nothing in a role imports it.
//
// NewRegistry(tb, raw) runs internal/registry over a raw store (store/memory)
// for the test's lifetime: the control loops' tests get the API's own
// semantics (GenerateName, uid, creationTimestamp, validation, binds that
// re-check the fit), not a copy of them. Fixtures that the API would refuse
// as writes (a pod already bound to a minion that has since failed) go into
// the raw store directly.
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
