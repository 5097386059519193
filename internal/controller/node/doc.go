// Package node is the minion lifecycle controller.
//
//   - Static minions: every name in Machines (--machines) that is not
//     registered is created at start, with condition Unknown (kubelets also
//     register their minion themselves).
//   - Pod subnets: with ClusterCIDR set (--cluster_cidr, e.g. 10.244.0.0/16),
//     every minion without a podCIDR gets the lowest free /24 of it, from
//     the controller's own account of the /24s taken (cidr.go: pool, noted
//     from the cache's callback as each minion is seen, so handing one out
//     does not walk every minion). With
//     several masters this is leader-only assignment, not a compare-and-swap
//     claim as for portal IPs: the controller runs on the one master that
//     holds the leader lease (internal/leader), it sees every minion's
//     podCIDR in its cache, and it writes a minion by compare-and-swap on
//     its resourceVersion. A stale leader's write to a minion the new
//     leader already gave a subnet fails; two leaders could only pick one
//     /24 for two different new minions inside the lease margin of a
//     hand-over (the old leader stops a margin before its lease expires),
//     and a subnet is written once, when the minion has none.
//   - Health: a minion whose last heartbeat is older than GracePeriod
//     (--node_monitor_grace_period, default 15s: three of a kubelet's 5 s
//     heartbeats) becomes NotReady, with
//     notReadySince and a NotReady event; the scheduler places nothing
//     there. A fresh heartbeat makes it Ready again (Ready event). On a
//     master, a kubelet's heartbeat renews the minion's etcd lease (Leases:
//     storeetcd.MinionLeases, as long as GracePeriod) and writes the minion
//     only to register it, when its fields change and every 5 minutes: a
//     live lease is a heartbeat now, and a minion whose lease is gone has
//     been silent for the grace period (its status.lastHeartbeat, written
//     every few minutes, counts as well). Without Leases the heartbeat is
//     status.lastHeartbeat alone.
//   - A heartbeat that reached this master counts even when etcd failed to
//     renew the lease with it (Leases.Heard): on a master whose etcd cannot
//     apply in time (a disk stalling fsync for seconds, too little CPU),
//     renewals fail and leases lapse by the hundred while every minion
//     heartbeats on time. Such a minion stays Ready (one warning says its
//     lease lapsed, until it holds one again) and keeps its pods; only
//     silence turns it NotReady.
//     With several masters, a heartbeat another master received counts
//     through the lease alone.
//   - A master that loses heartbeats on its side (Leases.HeartbeatsLost:
//     one failed in a stalled etcd, or the API's listener, every slot for
//     heartbeats held up by that etcd, turned one away unheard) restarts
//     the watch, as a new leader term does: silence is judged, and
//     eviction timers start, only once it has lost none for a grace
//     period. Someone flooding the API with heartbeats delays evictions
//     (as a master too busy to hear its minions should), not more.
//   - Timers start only once this controller has watched a minion for the
//     grace period: "seen", the time the controller (a new one each leader
//     term) first saw the minion, counts as a heartbeat for NotReady, and
//     eviction counts from seen + GracePeriod at the earliest, whatever
//     notReadySince an earlier leader stored. So a master that restarts, or
//     takes over, after the masters were away does not mark every minion
//     NotReady (their heartbeats could not land) nor evict anything at once.
//   - Eviction: a pod bound to a minion NotReady for long enough is marked
//     Failed (reason NodeLost) and deleted, with an evicted event. Pods a
//     replication controller selects go after ReplicaEvictionTimeout
//     (--replica_eviction_timeout, default 0: as the minion turns NotReady),
//     so that their controller replaces them on a Ready minion at once; the
//     other pods, which nothing recreates, after EvictionTimeout
//     (--pod_eviction_timeout, default 60s), in case the minion comes back.
//     The controller keeps a cache of replication controllers to tell them
//     apart. A kubelet that comes back finds its evicted pods gone and
//     removes their containers, so a pod never runs twice.
//   - Deleted minions: the pods of a minion that is deleted (or, at start,
//     of a host that does not exist) are evicted at once.
//
// Decide is the pure part (what a minion's status should be at a time, and
// whether to evict); Sync applies it to one minion and schedules the next
// check on the clock, so a test with a fake clock sees every transition at
// the exact time.
package node
