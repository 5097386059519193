// Package scheduler binds unbound pods to minions.
//
// Decide (pure, algorithm.go): Schedule(pod, nodes, seed) checks the pod
// against every minion with the predicates of package fit and, among those
// it fits, prefers in order
//  1. the minion running the fewest pods of the same kind: pods that carry
//     all of the pod's labels (pods of one replication controller carry its
//     template's labels) or that a service selecting the pod also selects
//     (so the old and new pods of a rolling update spread as one set). 6
//     replicas on 2 minions land 3 and 3;
//  2. the least requested minion (cpu and memory, after adding the pod;
//     unlimited capacity counts as empty);
//  3. the minion with the fewest pods;
//  4. a hash of the seed, the pod and the minion, so the choice is
//     deterministic for the same state and seed yet ties spread.
//
// Past 100 minions the Scheduler samples, as upstream's does: a decision
// stops once it has found feasibleToFind(n) minions the pod fits (420 of
// 1,000, 500 of 5,000) and ranks those; the next decision starts where it
// stopped, so every minion is looked at in turn. A pod that fits few
// minions is still checked against all of them.
//
// Apply: Scheduler (scheduler.go: Config, New, Run) keeps informers on pods,
// minions and services (informers.go: onPod, onMinion) and accounts every
// bound pod on its minion incrementally (fit.Node), so the cost of scheduling
// a pod depends on the number of minions and not on the number of pods.
// Unbound pods are queued (workqueue). A worker decides under a short lock,
// assumes the pod on the chosen minion (so the next decision already sees
// it), then binds it by creating an api.Binding through the store (the
// registry makes that a compare-and-swap that re-checks fit.Check). One
// goroutine decides, so decisions never contend; Workers goroutines (default
// 128) bind at once, since a bind mostly waits for an etcd commit (loop.go:
// decide, apply, loop; binding.go: the writes). A failed bind forgets the
// assumption and requeues the pod with backoff. The spreading count is an
// index from label sets to the per-minion counts, so it costs a map lookup
// per minion, not a scan of pods (accounting.go).
// See docs/performance.md for measured throughput.
//
// A pod that fits nowhere gets currentState.reason "Unschedulable" and a
// message such as "0/2 minions fit: 2 hostPort 8080 in use", plus a
// failedScheduling event; it is retried with backoff (1 s doubling to 60 s)
// and at once when a minion changes in a way that matters (condition,
// unschedulable, labels, capacity; not heartbeats) or a pod frees a minion
// (deleted, or finished).
package scheduler
