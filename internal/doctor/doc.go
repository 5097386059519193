// Package doctor checks a machine for what the tutorial's readers got wrong
// most ("usually master cannot find the Minion host, mostly because the port
// is not connected"): Docker reachable and its version, iptables usable, the
// master reachable from a minion, kubelet ports reachable from the master,
// etcd healthy, clock skew against the master, pod subnet routes present.
//
// Contract:
//   - Checks(target) decides which checks a role needs (pure); Run runs them
//     in order through a Probe and returns one Result per check. A check that
//     depends on an earlier failed one (e.g. routes need the API) is skipped
//     with the reason, never silently dropped.
//   - Every Result renders as one line: "ok", "FAIL" or "skip", the check's
//     name, what was found, and for a failure the fix.
//   - All side effects (HTTP, TCP dials, Docker's /version over its socket,
//     iptables through internal/netfilter, the routing table, the clock) go
//     through Probe; OSProbe is the real one, FakeProbe the test double.
package doctor
