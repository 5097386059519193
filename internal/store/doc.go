// Package store defines the object store interface that every kubelite
// component (scheduler, controllers, kubelet, proxy) uses to reach objects,
// and helpers on top of it (Informer: list + watch + local cache).
//
// Implementations:
//   - store/etcd: objects as JSON under the v0.6 key layout in etcd
//     (embedded or external); resourceVersion is the etcd mod revision.
//   - store/remote: an HTTP client of the v1beta1 API, used on minions.
//   - store/memory: in memory, the same semantics, for tests and fakes.
//   - registry: wraps a raw store and adds the API's semantics (defaults,
//     validation, uid and names, portal IPs, bindings). The apiserver serves
//     a registry, and components inside the master use the same registry, so
//     a component behaves the same whichever store it is handed.
//
// Contract every implementation keeps (checked by storetest.Run):
//   - Create fails with api.IsAlreadyExists when the id is taken; it returns
//     the stored object with its new ResourceVersion.
//   - Get and Delete of a missing object fail with api.IsNotFound.
//   - Update with ResourceVersion != 0 is a compare-and-swap: a stale version
//     fails with api.IsConflict. ResourceVersion 0 updates unconditionally.
//     Update of a missing object fails with api.IsNotFound.
//   - List returns the matching objects and the store revision they were
//     read at; Watch from that revision misses nothing and repeats nothing.
//   - Watch(ResourceVersion: rv) delivers every change after rv in order;
//     rv 0 means "from now". A revision older than the history kept fails
//     with api.IsGone: the caller re-lists. The channel closes when ctx ends
//     or the stream breaks; the caller then watches again from the last
//     revision it saw (or re-lists).
//   - Objects returned are the caller's own: mutating them changes nothing stored.
//     (Optional interfaces trade that for speed, for readers that never
//     mutate: SharedWatcher's objects are shared between watchers,
//     SharedLister's with the store's cache.)
//   - Writes a kubelet makes often have optional interfaces of their own:
//     Heartbeater (a minion's heartbeat without a write of the minion) and
//     StatusWriter (a pod's currentState alone, answered with the new
//     resourceVersion), implemented by the registry and, over the API, by
//     store/remote.
//   - Namespace "" in ListOptions means all namespaces; Get/Update/Delete of a
//     namespaced resource with namespace "" use api.DefaultNamespace.
package store

// Watch filtering: an object that starts matching the options is delivered as
// Added, one that stops matching as Deleted, so a watch on unbound pods
// (fields DesiredState.Host=) sees a pod leave when it is bound.
