// Package bench is `kubelite bench`: scenarios that measure what users feel
// (API latency, watch delivery, scheduling throughput, convergence, pod
// start-up, proxy throughput, rule sync, footprint) against a master the
// command starts itself, many hollow minions in one process standing in for
// hosts this machine cannot hold.
//
// Every figure is the median of repeated runs with its spread (min..max);
// where a peer or a raw layer can be measured in the same run (raw etcd puts
// beside API creates, direct pod traffic beside portal traffic) it is
// measured side by side and the ratio printed, because the machines are
// noisy and only same-run ratios compare.
//
// The package does no wiring: the caller (roles) hands it an Env that starts
// the master's pieces, hollow minions, and the raw layers. Scenarios needing
// Docker or iptables fail when those are missing; they are left out only when
// the caller asks (--no-docker), and the report says so.
//
// The swarm scenario measures a peer orchestrator: it builds its own lab
// (internal/lab: root, network namespaces, two Docker Engines; lab name
// "swarm", index 9) with a registry, a Docker Swarm and a kubelite cluster
// on the same engines, and prints kubelite's figures with Swarm's as the
// same-run peer (internal/bench/swarmbench). Scenarios may add notes to the
// report (what they could not compare and why).
package bench
