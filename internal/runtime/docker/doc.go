// Package docker is the runtime.Runtime on a Docker Engine (API 1.41 and
// later, negotiated). It is the only package in kubelite that imports the
// Docker client.
//
// Endpoints: unix:///path (default unix:///var/run/docker.sock) or tcp:// with
// TLS (DOCKER_CERT_PATH / DOCKER_TLS_VERIFY). A plain tcp:// endpoint is
// refused: an unauthenticated Docker API port hands root on the host to
// anyone who can reach it (the 2014 tutorial opened one on 2375).
//
// Only containers labelled io.kubelite.managed=true are listed, inspected,
// stopped or removed; any other container is reported as not found.
//
// List inspects a container only when the engine's container list shows it
// in another State than at its last inspect, or when this runtime started,
// stopped, killed or removed it, or a subscription (Events) saw it die since
// (inspectcache.go): a kubelet's resyncs of unchanged pods cost one list
// each, not an inspect per container. Inspect always asks the engine.
//
// Pod networks (EnsureNetwork; podattach.go). By default (PodAttachKubelet)
// the runtime, not the engine, attaches a pod network's infra containers:
//
//   - Create picks the container's address from the network's subnet
//     (ipPool: the addresses held by managed containers, from one container
//     list when the network is first used and again when it looks full, and
//     the reservations made since) and records it in labels
//     (LabelPodIP, LabelPodNetwork). A container without host ports is
//     created with network mode none (LabelPodVeth) and the pod's host name
//     at that address in /etc/hosts; one with host ports joins the engine's
//     network at that address (the engine forwards its ports), so the
//     engine's address management and the runtime's never collide.
//   - Start, for the first kind, attaches the started container before it
//     returns (attacher; real: nlAttacher, netlink, no command run): a
//     veth pair, the host end vethName(ID) on the network's bridge (up, the
//     bridge's MTU, hairpin mode on), the other eth0 in the container's
//     namespace with the address, lo up, a default route via the gateway;
//     then eth0 announces the address with a gratuitous ARP once the
//     bridge port forwards (announce.go), so that a neighbour that asked
//     for it early, or remembers an earlier pod's MAC for it, learns the
//     new one at once. If any of it but the announcement fails, the
//     container is removed and Start fails; a failed announcement is
//     logged (a warning the first time).
//   - Inspect and List report the label's address as Container.IP while
//     the container runs and its network exists; Remove deletes the veth
//     and frees the address; RemoveNetwork refuses while attached
//     containers run; replacing a network detaches them.
//
// Why: every container on a user-defined engine network gets the engine's
// embedded DNS resolver, whose set-up (dockerd re-executed in the
// container's namespace) costs more engine CPU than the rest of a start
// (docs/performance.md, issue 16). With PodAttachDocker (kubelite minion
// --pod-attach=docker) the engine attaches every container as before.
package docker
