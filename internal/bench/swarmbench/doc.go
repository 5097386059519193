// Package swarmbench is the Docker Swarm peer of `kubelite bench` (the
// swarm scenario): Swarm and kubelite run the same web image on the same two
// lab hosts' Docker Engines, and the same code measures both, alternating
// runs, so that the ratios compare orchestration on one machine at one time.
//
// Run brings up a lab (internal/lab: a master host and two minion hosts in
// network namespaces, each minion with its own dockerd) and on it:
//
//   - a registry: Debian's docker-registry (`docker-registry serve CONFIG`)
//     in the master host's namespace, on <master>:5000, storage in the lab's
//     root. Each minion engine gets it as an insecure registry: lab writes an
//     empty daemon.json, so Run writes {"insecure-registries": [...]} into
//     that file and sends dockerd SIGHUP (a reloadable option), again after
//     every engine restart;
//   - the image: `kubelite images` builds kubelite/webserver:v1 and the pod
//     infra image from the binary into each engine; minion1's engine tags
//     and pushes the web server as <master>:5000/kubelite/webserver:v1, and
//     both engines pull it once before anything is measured. Swarm services
//     and kubelite's replication controller name that same reference; Swarm
//     pins it to its digest at each create (a registry round trip it always
//     makes), kubelite's kubelet finds it present (pull policy IfNotPresent);
//   - a Swarm: minion1's engine `swarm init` (the only manager), minion2's
//     `swarm join` as a worker;
//   - a kubelite cluster, secure as by default: `kubelite master` on the
//     master host, `kubelite token` and `kubelite kubeconfig` from its data
//     dir, `kubelite minion` on each minion host against its engine.
//
// A replica counts when its container runs on a live engine and answers
// HTTP on its IP: the same test for both systems, read from the engines
// (Engine API over each engine's socket: Swarm task containers by their
// service label, kubelite pods by their app container and infra IP) and
// probed from the namespace of the host it runs on (a few goroutines locked
// to OS threads that entered the namespace with setns(2)), so that neither
// system's own notion of "running" is trusted. Commands go through each
// system's CLI (docker service create/scale/rm; kubelite kubectl
// create/resize/delete), so both pay a process start per command.
//
// Measured (Result): N replicas from nothing to all answering, N to 2N and
// back to N, one host lost (minion2's engine and kubelite minion killed:
// from the kill to N answering on minion1) at each system's default timers
// and with the same grace, control-plane memory, and service traffic.
// Swarm's service VIP needs IPVS; where the kernel has none (Result.Notes
// says which) Swarm's services run --endpoint-mode dnsrr and its traffic
// side is DNS round robin through Docker's embedded DNS from a client on an
// attachable overlay network, against kubelite's portal IP from a client
// on kubelite's pod network (see traffic.go).
//
// Nothing is left: whatever fails, Run makes every lab engine leave the
// Swarm (`docker -H <lab engine> swarm leave --force`, never the machine's
// engine), and tears the lab down, which kills the registry, the kubelite
// processes and the engines and removes their directories.
//
// The pure parts (ParseServicePS, TaskSummary, the replica extraction from
// Engine API container lists, ParseVmRSS) have table tests; Run needs root,
// Docker, the lab's tools and docker-registry.
package swarmbench
