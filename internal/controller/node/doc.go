// Package node is the minion lifecycle controller.
//
//   - Static minions: every name in Machines (--machines) that is not
//     registered is created at start, with condition Unknown (kubelets also
//     register their minion themselves).
//   - Pod subnets: with ClusterCIDR set (--cluster_cidr, e.g. 10.244.0.0/16),
//     every minion without a podCIDR gets the lowest free /24 of it.
//   - Health: a minion whose last heartbeat (status.lastHeartbeat, posted by
//     its kubelet; for a minion never heard from, the time the controller
//     first saw it) is older than GracePeriod (--node_monitor_grace_period,
//     default 40s) becomes NotReady, with notReadySince and a NotReady event;
//     the scheduler places nothing there. A fresh heartbeat makes it Ready
//     again (Ready event).
//   - Eviction: once NotReady for EvictionTimeout (--pod_eviction_timeout,
//     default 60s), every pod bound to it is marked Failed (reason NodeLost)
//     and deleted, with an evicted event, so replication controllers replace
//     them on Ready minions. A kubelet that comes back finds its pods gone
//     and removes their containers, so a pod never runs twice.
//   - Deleted minions: the pods of a minion that is deleted (or, at start,
//     of a host that does not exist) are evicted at once.
//
// Decide is the pure part (what a minion's status should be at a time, and
// whether to evict); Sync applies it to one minion and schedules the next
// check on the clock, so a test with a fake clock sees every transition at
// the exact time.
package node
