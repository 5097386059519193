// Package leader runs a set of components on one master at a time.
//
// Every master serves the API, but the scheduler, the replication manager,
// the endpoints controller and the minion controller must run on exactly one
// of them: two schedulers would bind a pod twice, two replication managers
// would create duplicate pods. A Gate (a component.Component) campaigns for
// leadership through an Elector and, while it leads, runs the components its
// Build function returns, built afresh for each term so no state (informer
// caches, "first seen" times of minions) survives from an earlier term.
//
// Contract of an Elector (internal/etcd's Election is the real one, on an
// etcd lease with go.etcd.io/etcd/client/v3/concurrency; Fake is an
// in-memory one for tests):
//   - Campaign blocks until this candidate leads (a Term), ctx ends
//     (ctx.Err()), or the election fails (any other error: the Gate logs it
//     and campaigns again after RetryDelay).
//   - A Term's Lost channel closes when leadership ends without Resign: the
//     lease expired or could not be renewed. An implementation must close it
//     before another candidate can be elected (the etcd one closes it a
//     margin before the lease expires on the server), so two terms never
//     overlap as long as components stop within that margin.
//   - Resign gives leadership up at once (another candidate may take over
//     without waiting for the lease to expire).
//   - Leader names the current leader ("" when there is none).
//
// Gate.Run calls started() at once (the API must serve whether or not this
// master leads), logs "became leader" and "lost leadership" with the
// identity, stops the term's components (their ctx is cancelled, then they
// are waited for, in reverse order) when the term is lost, and campaigns
// again. A term's component that fails ends the term: the Gate resigns, logs
// the error, and campaigns again after RetryDelay, so another master may take
// over. When the Gate's ctx ends it stops the components and resigns.
//
// KeepLease is how an Elector keeps its lease (internal/etcd's does), the way
// etcd's concurrency package and client-go's leader election do: a renewal
// every fifth of the TTL, counted from the START of the latest one that
// succeeded (the server renewed it after that moment, so the lease lasts
// at least TTL from then); a failed or slow renewal is tried again after a
// tenth of the TTL, several waiting at once, so one stuck behind a busy
// server holds nothing up; the lease counts as lost only a margin before
// it may expire on the server as measured that way, or when the server
// says it has. The decision is the pure decideLease, table-tested; the
// loop runs on a clock.Clock (FakeRenewer and clock.Fake in tests). The
// keeper it replaced gave up a margin after the last answer it received
// with one renewal at a time (TTL/3 after the previous answer): a renewal
// slower than TTL*2/3 - margin (2.3 s of a 5 s lease) lost a loaded
// master its scheduler and controllers.
//
// HealthCheck turns an Elector into the API's "leader" health check
// (/readyz, /validate): it fails only when no master has led for longer than
// its grace (the master uses twice the lease), so readiness does not flap on
// every master during an ordinary hand-over.
package leader
