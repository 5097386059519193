// Package workqueue is the queue behind every level-triggered control loop in
// kubelite: a watch event only Adds a key; workers Get a key, re-read the
// state and converge, then call Done. A key is never handed to two workers
// at once; a key added while it is being processed is processed again after
// Done. Failures call AddRateLimited, which requeues with per-key exponential
// backoff (Base doubling up to Max); Forget resets a key's backoff after a
// success. Time comes from a clock.Clock so tests use a fake clock. A queue
// given a name with Named reports workqueue_depth{name} (keys waiting, not
// those delayed) and workqueue_retries_total{name} (AddRateLimited calls).
package workqueue
