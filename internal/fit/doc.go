// Package fit decides whether a pod fits on a minion. It is pure: no I/O, no
// clock, no store. The scheduler uses it to choose a minion, and the registry
// uses the very same Check when it accepts a binding, so a bind that would
// break a predicate is refused by the API and not only by the scheduler.
//
// Predicates, the table Predicates in the order their reasons are reported
// (a new rule is one more entry; each failing one adds a short reason;
// reasons are stable texts so that identical reasons on many minions can be
// counted):
//   - the minion is Ready ("minion NotReady", "minion Unknown") and not
//     marked unschedulable ("minion unschedulable");
//   - every hostPort of the pod is free on the minion, per protocol and host
//     IP: an empty or 0.0.0.0 host IP conflicts with every address
//     ("hostPort 8080 in use", "hostPort 53/UDP in use");
//   - cpu (millicores) and memory (bytes) the pod requests fit in the
//     minion's capacity minus what its pods already request; a capacity of 0
//     is unlimited ("insufficient cpu", "insufficient memory");
//   - the pod's nodeSelector is a subset of the minion's labels
//     ("nodeSelector mismatch").
//
// Pods that have Succeeded or Failed hold nothing: Check and Node ignore
// them. Node is the incremental form: it aggregates what the pods on one
// minion hold (requests, host ports, label sets) so that a caller can add and
// remove pods one at a time and check a pod in time independent of how many
// pods the minion runs. Summarize turns the reasons of every minion into the
// one-line message a Pending pod carries, e.g.
// "0/2 minions fit: 2 hostPort 8080 in use".
package fit
