// Package doctor checks a machine for what the tutorial's readers got wrong
// most ("usually master cannot find the Minion host, mostly because the port
// is not connected"): Docker reachable and its version, iptables usable, the
// master reachable from a minion, kubelet ports reachable from the master,
// etcd healthy, clock skew against the master, pod subnet routes present.
//
// Two modes: Preflight, before a role starts (its ports free, Docker and
// iptables usable, the kernel settings the pod network needs, the data
// directory writable; a minion's master reachable), and Running, on a node
// that runs it (the API, etcd, the kubelet, the proxy's rules, routes,
// clocks). Checks the role's flags make irrelevant are skipped with the
// reason: no Docker for --runtime=fake, no iptables for --proxy-mode=none
// without a bridge network, no etcd port with --etcd_servers.
//
// Contract:
//   - Checks(target) decides which checks a role needs (pure); Run runs them
//     in order through a Probe and returns one Result per check. A check that
//     depends on an earlier failed one (e.g. routes need the API) is skipped
//     with the reason, never silently dropped.
//   - Every Result renders as one line: "ok", "FAIL" or "skip", the check's
//     name, what was found, and for a failure the fix.
//   - All side effects (HTTP, TCP dials and binds, Docker's /version over its
//     socket, iptables through internal/netfilter, the routing table, /proc/sys,
//     directory access, the clock) go
//     through Probe; OSProbe is the real one, FakeProbe the test double.
package doctor
