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
package controller
