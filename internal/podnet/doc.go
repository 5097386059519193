// Package podnet makes pods on different minions reach each other by pod IP:
// host-gateway routing on one L2 segment, as flannel's host-gw backend does.
//
// Every minion has a pod subnet (a /24 of the cluster CIDR, 10.244.0.0/16 by
// default) assigned by the master. The kubelet creates a Docker bridge
// network with that subnet and attaches the pods to it; podnet does not touch
// Docker. What podnet does on a minion, given the list of minions (name, host
// address, pod subnet):
//
//   - routes: one route per other minion, "<its pod subnet> via <its host
//     address>", tagged with protocol 77 (Proto) so that podnet only ever lists,
//     changes or deletes its own routes. The minion's own subnet is the Docker
//     bridge's connected route and is left alone.
//   - masquerade, nat table: chain KUBELITE-PODNET, jumped to first from
//     POSTROUTING, accepts (no NAT) traffic from the cluster CIDR to the
//     cluster CIDR, and masquerades traffic from the cluster CIDR to anywhere
//     else. ACCEPT (not RETURN) ends the nat POSTROUTING traversal, so the
//     MASQUERADE rule Docker adds for its bridge network never rewrites
//     pod-to-pod traffic.
//   - forwarding, filter table: chain KUBELITE-PODNET-FWD, jumped to first
//     from FORWARD, accepts traffic from and to the cluster CIDR, whatever the
//     FORWARD policy and Docker's own chains say.
//
// Docker inserts its own rules at the top of POSTROUTING and FORWARD when it
// creates a network, so every Sync puts podnet's jumps back in first place.
//
// Decide apart from doing: Plan (which routes, and what is wrong with the
// input), DiffRoutes (what to change) and Rules (the iptables-restore text)
// are pure. Syncer applies them through two small interfaces: Routes (real:
// IPRoutes running the ip command; fake: FakeRoutes) and netfilter.Interface
// (real: netfilter.Runner; fake: netfilter.Fake). Sync is level-triggered and
// idempotent: call it with the whole minion list whenever it changes and
// periodically; Run does exactly that. Teardown removes all of it
// (`kubelite minion --network=none` or a reset).
package podnet
