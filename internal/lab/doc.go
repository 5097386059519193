// Package lab builds a multi-host kubelite cluster on one machine, for tests
// and for a person to try (scripts/lab.sh, `make lab`).
//
// A lab named N with M minions (and one master, or K: Config.Masters) is:
//
//   - a Linux bridge klb-N on the machine, address 198.18.<Index>.1/24;
//   - one network namespace per host, klb-N-master (or klb-N-master1..K) and
//     klb-N-minion1..M, each with a veth (klv-N-<i>, i its position among
//     the hosts, on the machine's side, eth0 inside) into the bridge, lo up,
//     its address (master .2, or master j .1+j; minion i .10+i) and a default
//     route via the bridge; with several masters every process the lab runs
//     on a host also gets the host's own host name (klb-N-<host>, through
//     unshare --uts), as masters on separate machines name their etcd
//     members and leader identity after it; IPv6 off; net.bridge.bridge-nf-call-iptables=1
//     and ip_forward=1 inside, so a host's own iptables see its bridged pod
//     traffic and it can route pod subnets;
//   - on every minion its own Docker Engine, started with nsenter --net (not
//     ip netns exec, which remounts /sys and breaks dockerd's cgroups), with
//     its own daemon.json, data root (<Root>/<host>/docker), exec root,
//     socket and pid file (<RunDir>/<host>/), docker0 at
//     198.19.<Index*16+i>.1/24 and cgroup parent /klb-N-<host>. Each engine
//     therefore has its own iptables and hostPort space;
//   - an iptables chain KUBELITE-LAB-N, jumped to first from FORWARD, that
//     accepts traffic between the lab's hosts and drops everything forwarded
//     from the lab to any other interface or into it from one: nothing from
//     the lab leaves the machine.
//
// All names derive from N, so Cleanup(ctx, N) can remove the leftovers of a
// crashed or interrupted run without any state, and Up calls it first: running
// a lab twice in a row works. Teardown (Down, Cleanup) kills the lab's
// workloads, removes containers through each engine, stops the engines, kills
// what remains (containerd, shims; found by namespace, by the lab's paths in
// their command line, or by cgroup), lazily unmounts everything under the
// lab's directories, deletes them, the cgroups, namespaces, links, bridge and
// chain, and carries on past errors, returning them all.
//
// Operations for tests: Exec a command in a host's namespace; Start a
// long-running process there (e.g. `kubelite minion`; on a minion DOCKER_HOST
// points at its engine) whose log is kept and whose last lines Tail returns;
// Kill, Stop, Pause, Resume, Restart it; KillEngine and StartEngine a
// minion's dockerd; PauseHost and ResumeHost everything in a host's namespace
// (a hung machine); CutOff and Heal a host (its veth into the bridge goes
// down: packets vanish silently, as in a partition); LoadImages from the
// machine's engine into every minion's engine.
//
// ForTest(t, cfg) is the test helper: it fails (never skips) without root,
// the machine's Docker Engine and the tools, unless KUBELITE_SKIP_SYSTEM=1,
// and registers the teardown with t.Cleanup, dumping the lab's logs when the
// test failed. BuildEcho builds a tiny FROM scratch test server image (its
// answer names the server and the client address it saw) for LoadImages.
// Labs running at the same time need distinct names and distinct Index
// values (their host subnets would otherwise clash on the machine). A lab
// name is locked while in use: Up takes an flock on
// /run/kubelite-lab/<name>.lock and Down releases it (the kernel releases it
// when the process dies), and Cleanup takes it too, so a second user of the
// same name waits (until its ctx ends, then fails naming the holder's pid)
// instead of tearing a running lab down. `make lab` holds it only while the
// command runs. Up needs
// br_netfilter and loads it if it can.
//
// The lab is test infrastructure, not product code: it drives the machine
// with the same commands (ip, iptables, nsenter, docker) a person would use,
// through the Runner interface. Only tests and `kubelite bench` (its swarm
// scenario, internal/bench/swarmbench) import it; no role does.
// The pure part, the plan of names, addresses and commands, has golden tests
// (go test ./internal/lab -run Plan -update rewrites them).
package lab
