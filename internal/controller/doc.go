// Package controller groups kubelite's control loops, one subpackage each:
//   - replication: keeps each replication controller's pod count;
//   - endpoints: keeps each service's endpoints (podIP:port of its Running pods);
//   - node: minion lifecycle (static --machines minions, pod subnets from
//     --cluster_cidr, NotReady after a missed heartbeat, eviction).
//
// Every loop is level-triggered (a watch event only queues a key; Sync(ctx,
// key) re-reads the caches and converges), takes a store.Store and a
// record.Recorder, and has the component lifecycle (Name, Run(ctx, started)).
// Each calls started() only after its informers loaded their first list, so
// a restarted master acts on the whole state, never on half of it.
//
// The scaffolding every loop shares lives in one place:
//   - keys: api.Key(obj) makes one, api.ParseKey(key) reads it back;
//   - caches: store.NewInformer, started with store.StartInformers (which
//     returns the function that joins them) and, in tests that call Sync
//     directly, joined in t.Cleanup after the cancel;
//   - events: record.Recorder, record.Nop when a Config gives none;
//   - "which owners select this pod": PodOwners (this package), which
//     remembers each pod's last labels so a relabelled or deleted pod still
//     wakes the owners that selected it before; replication and endpoints
//     use it, with Selects as the one selector rule.
//
// Which worker model to use when:
//   - workqueue.Queue.Run(ctx, n, sync): the default. Keys are independent
//     objects (an RC, a service, a minion); n workers, a key never synced
//     twice at once, failures requeued with per-key backoff, delayed checks
//     with AddAfter. replication, endpoints and node use it; tests call
//     Sync(ctx, key) on preloaded caches and compare the writes.
//   - one decider and n appliers (the scheduler): when every decision must
//     see the previous one (a pod assumed on a minion before the next pod is
//     placed) but applying it is slow I/O (a bind waits for etcd). One
//     goroutine takes keys from the queue and decides under a short lock;
//     n goroutines apply; the queue still dedups and backs off.
//   - one sync loop kicked by a channel plus a periodic full resync (the
//     proxy, podnet): when the output is the whole state at once (all
//     iptables rules in one restore, all routes), so keys do not matter and
//     coalescing many changes into one sync is the point.
package controller
