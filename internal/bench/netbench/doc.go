// Package netbench measures the service proxy for `kubelite bench`: requests/s
// and MB/s through a portal IP in each proxy mode next to direct traffic to
// the same backend, and the time one full iptables sync of many services
// takes.
//
// Both run inside a network namespace of their own, so that portal IPs and
// iptables rules never touch the host: ProxyThroughput and RulesSync start
// the kubelite binary again (`kubelite bench --netns-child=SPEC`) as a child
// created with CLONE_NEWNET. The child brings up lo with the backend
// addresses, routes the portal range into a sink veth, runs the proxy
// (internal/proxy over real iptables through internal/netfilter) against an
// in-memory store, prints one JSON result on stdout and exits; the namespace,
// its links, rules and connections disappear with it, even if it crashes
// (it is killed when the parent dies). Child is that child's entry point;
// it refuses to run outside a namespace of its own.
//
// Traffic goes only to addresses inside that namespace; load loops are
// bounded by the duration asked for.
package netbench
