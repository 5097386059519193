// Package registry is the v1beta1 API's semantics over a raw store.Store
// (etcd in a master, memory in tests). It implements store.Store itself: the
// apiserver serves a Registry, and components inside the master use the same
// Registry, so they meet exactly the rules API clients meet.
//
// Create:
//   - kind and apiVersion are set from the type; an empty namespace becomes
//     "default" (minions have none); uid (a random UUID), creationTimestamp
//     and selfLink (/api/v1beta1/<resource>/<id>?namespace=<ns>) are set by
//     the registry, whatever the client sent;
//   - names: without an id, GenerateName plus 5 random [a-z0-9] characters
//     (an RC sets GenerateName "<rc id>-"); a pod with neither is named
//     "pod-" plus 5 characters; a generated name that is taken is retried;
//   - api.SetDefaults, then api.Validate, then admission (Config.Admission,
//     internal/admission) of a pod's manifest or an RC's pod template:
//     privileged containers, host-handing hostDirs, ':' or '..' in paths;
//     422 Invalid naming every bad field; an RC's desiredState.replicas
//     above Config.MaxReplicas (10,000) is one of them (limits.go);
//   - a namespace holding Config.MaxObjectsPerNamespace (50,000) objects of
//     the kind refuses more with 403; the count is read from the store
//     (store/etcd counts keys without values) at most every 10 s, every
//     second within 10% of the limit, and on a create that finds the count
//     at the limit (creates through this registry are added to it; other
//     masters' creates within that second may overshoot the limit);
//   - services get a portalIP from the portal network: a random free
//     address (never the network or broadcast address), or the requested
//     one if it is in range and free (else 422). Every address is claimed
//     in Config.PortalClaims before the service is stored: on etcd
//     (internal/etcd.Claims) one key per address, created by a transaction
//     "create revision == 0", so any number of masters creating services at
//     once never hand out one address twice (a registry keeps a view of
//     the taken addresses as a hint, marks an address another master
//     claimed first as taken and tries another, and reloads its view from
//     the claims when it looks full). At start the registry claims the
//     address of every stored service (services from before claims
//     existed). An address is released when its service is deleted, or
//     when storing the service fails. Claims leaked by a master that died
//     between claim and store, or by a failed release, are freed by a
//     repair every Config.PortalRepairInterval: a claim whose owner service
//     does not hold its address is released at the second pass that finds
//     it so, never the first (a create in flight is never robbed).
//
// Update validates and admits as create does, except that a pod spec the
// update leaves unchanged is not admitted again (status writes of objects
// stored under an older policy still go through). Update keeps uid, creationTimestamp and selfLink; a service's portalIP is
// immutable (an update without one keeps it; a different one is 422). A
// resourceVersion makes it a compare-and-swap (409 Conflict when stale);
// without one the registry retries its own compare-and-swap on the version
// it read.
//
// Status writes (store.StatusWriter, status.go; the API's PUT
// .../pods/NAME/status): currentState alone replaces the stored pod's,
// whatever else the pod sent says; nothing is defaulted, validated or
// admitted again (validation reads no currentState). The write replaces
// the informer's pod when it holds the version named (no read, no decode,
// the desired state shared, not copied) and is a compare-and-swap on the
// version it replaces, so WritePodStatus's check (the API server's: a
// minion writes only its own pods' status) judges exactly that version.
//
// Bindings: Create of an *api.Binding{PodID, Host} sets the pod's
// desiredState.host by compare-and-swap. A pod is bound once: binding a
// bound pod is 409 Conflict. The bind is refused with 422 when the minion
// does not exist, and with 409 when a predicate of internal/fit fails (not
// Ready, unschedulable, hostPort taken per protocol and host IP, cpu or
// memory beyond capacity, nodeSelector), the message naming the reasons.
// Setting desiredState.host through Create or Update of a pod is treated
// exactly as a binding (same checks, same lock; an update cannot move a bound
// pod, and an update without a host keeps the bound one), so there is no way
// around the checks.
//
// For speed the registry keeps informers (over the raw store) of pods and
// minions, and per minion a fit.Node aggregate of the pods bound to it, so a
// bind costs no list. Binds to one host are serialized by a mutex; a
// successful bind (and every pod write or delete made through the registry)
// is accounted at once, before the informer sees it; an informer update older
// than what was accounted is ignored. Registry is therefore also a
// component.Component: Run starts the informers and calls started() once
// they have synced. Binds wait for that; other calls do not need it.
//
// Get, List and Watch pass through to the raw store.
//
// Unavailable store: every write to the raw store and to the portal IP
// claims, and every Get and count, has a deadline (Config.WriteTimeout,
// default 3 s). One the store could not make in time, or refused as
// unavailable, is a 503 whose message says why (Config.Diagnose; the
// master's asks etcd: "etcd quorum lost: ..."), within about 4 s, never a
// hang; conflicts and other answers pass through, and so does the caller's
// own cancellation. A List has a longer deadline (10 s: a list can be
// large); Watch has none (a watch lives long).
package registry
