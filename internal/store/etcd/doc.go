// Package etcd is the store.Store on an etcd v3 cluster (embedded or
// external), with the v0.6 key layout of store.Key and objects as JSON values.
//
//   - resourceVersion is the key's etcd mod revision; it is not written into
//     the stored JSON but set on every object read.
//
//   - Create is a transaction "create revision == 0 then put"; Update with a
//     resourceVersion is "mod revision == rv then put" (else Conflict, or
//     NotFound when the key is gone); Update with resourceVersion 0 is
//     "create revision > 0 then put".
//
//   - List reads a key prefix (one namespace, or all) and returns the
//     revision of the read; selectors are applied here, after decoding.
//     Decoded objects are cached by key and mod revision, one per process
//     for lists and the shared watch alike (see cache.go): a List reads the
//     keys and revisions, then only the values not cached, at the same
//     revision, decodes only those, and hands out api.DeepCopy copies;
//     ListShared (store.SharedLister) hands out the cached objects
//     themselves, read only. Create and Update return a DeepCopy of what they
//     wrote, with its new resourceVersion, rather than decoding it again
//     (CreateOwned, for a caller that gives its object up, returns it);
//     while a shared watch runs they also hand it a copy of the object as a
//     decode of their bytes would give it (canonical.go), which the watch
//     takes for the put of those bytes and caches instead of decoding them.
//     A cached object's short strings are shared with other cached objects
//     through a bounded intern table (intern.go): pods of one template hold
//     their image, env and labels once.
//
//   - Watch uses an etcd watch on the prefix with WithPrevKV from rv+1 (rv 0:
//     the current revision, read first so nothing written after Watch returns
//     is missed), and store.FilterEvent for selector transitions. A revision
//     already compacted fails with api.NewGone, synchronously when it is known
//     at the start, else as an Error event (then the channel closes).
//     Watchers of one resource share one etcd watch that decodes each change
//     once (broadcast.go); each watcher has its own queue, selector and a
//     channel of 64 events (a batch is handed over at once). Pod watchers
//     whose field selector requires one host (a kubelet's) are indexed by
//     it: a change is queued only for the watchers of the pod's old and new
//     host, and a pod's fields are computed once a change for the others;
//     what each watcher sees is what store.FilterEvent gives it. A watcher
//     from before the shared watch's history gets an etcd watch of its own. Watch hands out api.DeepCopy copies; WatchShared
//     (store.SharedWatcher) the shared objects, read only.
//
//   - Events are written with a lease of EventTTL (1 h); leases are shared by
//     all events created within a minute, so an event lives 59 to 60 minutes.
//
//   - Minion heartbeats (minionlease.go, MinionLeases: the master's
//     store.Heartbeater): one etcd lease per minion, as long as the node
//     controller's grace period, holding the key MinionLeasePrefix+name
//     (not an object: no resource lists it). A heartbeat renews the lease
//     (KeepAliveOnce: no raft write, no watcher); a silent minion's lease
//     expires and etcd deletes its key. Run watches those keys for the node
//     controller (Leased). The lease is found again from its key after a
//     restart; a key deleted by hand is put back.
//
//   - Limits: an object's JSON may be at most MaxBytes(res): 16 KiB for
//     events, etcd's 1.5 MiB request limit less 8 KiB for the rest (413).
//     Count counts a resource's keys without reading values (the
//     registry's per-namespace cap).
//
//   - A value that does not decode is left out of lists and watches (a
//     watcher that knew the object sees it deleted), reported once per
//     revision with a warning and an Undecodable event naming the key;
//     Get of it is a 500 naming the key, Delete of it succeeds
//     (undecodable.go).
//
// Every error is an *api.StatusError (etcd failures: 503 Unavailable for a
// timeout or an unreachable cluster, 507 InsufficientStorage while etcd's
// space quota is exhausted, 500 otherwise).
//
// Get, List, Create, Update and Delete time their etcd request in
// etcd_request_duration_seconds{operation,type} (internal/metrics).
package etcd
