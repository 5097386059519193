// Package endpoints is the endpoints controller: for every service it keeps
// an Endpoints object (same namespace and id) listing "podIP:port" of every
// Running pod with an IP that the service's selector matches, sorted. Only
// pods bound to a minion (desiredState.host) that is Ready count: status is
// written through the API, so a forged Running status and podIP on an
// unscheduled pod (or a pod of a dead minion) must not attract traffic; a
// minion's readiness change re-queues the services of its pods.
//
// The port is the service's containerPort: a number is used as is; a name
// is looked up among the pod's container ports (a pod without that port
// name is left out); when unset, the pod's first container port, else the
// service port. Pods that are Failed, Succeeded or not Running yet are left
// out, and a deleted pod leaves at once: a pod event queues every service
// selecting it (by its labels now and before), so endpoints follow pods
// within a watch round-trip, not a resync period. A deleted service's
// Endpoints object is deleted. Sync writes only when the list changed.
package endpoints
