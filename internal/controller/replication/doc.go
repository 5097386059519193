// Package replication is the replication manager: for every replication
// controller it keeps desiredState.replicas pods matching the selector.
//
// Sync(ctx, key) for one RC:
//   - counts the active pods in the RC's namespace matching its selector
//     (not Succeeded or Failed);
//   - unless it still waits for earlier creates or deletes to show up on
//     the watch (expectations), creates the missing pods from the template
//     (GenerateName "<rc id>-", the template's labels, desiredState and
//     nodeSelector) or deletes the surplus: unbound pods first, then pods
//     not Running, then the newest. At most BurstReplicas (500) per sync;
//     the next sync, triggered by the watch, does the rest;
//   - writes currentState.replicas when it changed.
//
// Expectations: before creating n pods the manager expects n new matching
// pods; each first sighting of a matching pod lowers that, each failed
// create too. Deleted pods are expected by name until the watch shows them
// gone. While expectations are pending (and younger than
// ExpectationsTimeout) the RC is not resized, so a slow watch never causes
// over-creation. Sync reads the expectations before the pods cache, never
// after: a pod seen in between would settle them without being counted,
// and the RC would be resized on a stale count. After a restart there are
// no expectations, but Run starts syncing only once both caches hold the
// full state.
//
// Decide is the pure part of a sync: from the RC, the cached pods and
// whether the expectations were met it returns the Plan (pods to create,
// pods to delete, the count for currentState.replicas); Sync applies it.
//
// Stopping: once Run's context ends, a sync finishes the creates and
// deletes in flight and starts no more (the store may not heed the
// context), so a manager that returned writes nothing the next one (a
// restarted master, a new leader) could miss in its first count.
//
// A pod deleted by anyone is replaced as soon as the watch delivers the
// delete: the pod event queues the RC key directly (no resync period).
package replication
