// Package record writes events ("failedScheduling", "scheduled", "NotReady",
// "evicted", ...) about objects into the store, where `kubectl get events`
// and `describe` find them.
//
// Recorder is the small interface components take; Store is the
// implementation over a store.Store, Fake the one tests use, Nop the one a
// component uses when it was given none. FieldRecorder (all three) also
// names the part of the object an event is about (the kubelet's events name
// the container in involvedObject.fieldPath).
//
// Store.Record never blocks its caller for long and never fails it: an event
// is best effort. It
//   - drops an event identical (same object, reason and message) to one
//     written within DedupWindow (a pod that stays unschedulable with the
//     same reason produces one event, not one per retry);
//   - drops events beyond a token bucket of QPS with Burst, so a burst of
//     30,000 bindings does not double the load on the store;
//   - gives every event a generated id "<object name>.<hex nanoseconds><n>"
//     in the object's namespace (default for minions), so no store needs to
//     generate names.
//
// Errors writing an event are logged at debug level and otherwise ignored.
package record
