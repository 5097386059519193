// Package component is the one lifecycle every long-running part of kubelite
// shares (embedded etcd, apiserver, scheduler, controllers, kubelet, proxy).
//
// A Component's Run does its work until ctx ends, then returns nil. It calls
// started() exactly once, when it is ready for the components after it (etcd
// serving, the API listening...). An error from Run before started() means it
// failed to start; an error after means it failed while running.
//
// Runner starts components in order, each after the previous one called
// started(). If one fails to start, or fails later, the ones already running
// are stopped in reverse order and Run returns that component's error,
// wrapped with its name. When the parent ctx ends, every component is
// stopped in reverse order, each waited for before the next: the apiserver
// stops before etcd closes.
package component
