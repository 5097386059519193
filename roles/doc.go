// Package roles wires kubelite's components for each role and runs them:
//
//	Master:     etcd (embedded, or a wait for the external cluster), registry,
//	            apiserver, then the leader gate (internal/leader) that runs
//	            the scheduler, replication manager, endpoints controller and
//	            node controller while this master holds the etcd lease
//	Minion:     kubelet HTTP server, kubelet, pod network (--network=bridge),
//	            proxy (unless --proxy-mode=none)
//	Standalone: the master's list, then the minion's list (the minion half
//	            talks to the local API through store/remote, exactly as a
//	            remote minion does), then a banner printed once the minion is
//	            Ready
//
// Contract:
//   - Each role builds its list of internal/component.Component from its
//     typed config (package config) and hands it to component.Runner:
//     started in order, each after the previous is ready; stopped in reverse
//     when ctx ends or one fails. The role returns nil after a clean stop
//     and the failing component's error otherwise. Clients opened for the
//     wiring (etcd, Docker) are closed after every component stopped.
//   - Before anything starts, the role checks that its listen ports are free
//     and that Docker answers, and says which flag to change if not.
//   - This is the only package that chooses implementations (store/etcd and
//     the registry on a master, store/remote on a minion, runtime/docker or
//     runtime/fake, netfilter.Runner); components only see interfaces.
//   - Wiring only: no decisions beyond which component gets which
//     dependency. That includes the logger: each component gets the role's
//     logger (logging.FromContext) with its "component" field set here,
//     once (plan.logger), through its Config or constructor. Adding a component is one line in the role's list.
//   - A master (and standalone) locks its data dir first (etcd.LockDataDir).
//     masterjoin.go: --join adds this master's etcd member through a running
//     master and takes the cluster identity before anything starts (a
//     restart on the same data dir skips it; the member file keeps the
//     name); a running master with embedded etcd serves the join on its API
//     port; --restore fills a new data dir's etcd from a snapshot.
//   - Reset wipes a stopped standalone cluster: the containers of the pods in
//     its own etcd (other kubelites' containers on the engine stay), the
//     proxy's rules, its data directories. bench.go (BenchEnv) wires masters
//     and hollow minions for `kubelite bench`.
package roles
