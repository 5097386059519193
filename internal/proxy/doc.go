// Package proxy is kubelite's service proxy: on every minion it makes each
// service's portal IP:port (and its publicIPs on the minion's own address)
// reach the service's endpoints. It watches services and endpoints through
// the object store (two store.Informers) and programs iptables only through
// netfilter.Interface.
//
// Modes (--proxy-mode):
//   - iptables (default): the kernel forwards. nat chain KUBELITE-SERVICES
//     (jumped from PREROUTING and OUTPUT) sends portalIP:port to a chain per
//     service, KUBELITE-SVC-<hash>, which DNATs to an endpoint chosen with
//     "-m statistic --mode random --probability" (equal weights: rule i of n
//     takes 1/(n-i)). ClientIP affinity uses "-m recent": one recent table per
//     endpoint, set by the random rule, checked (and refreshed with --update)
//     before it. Packets that need SNAT for the reply to come back are
//     marked by KUBELITE-MARK-MASQ and masqueraded by KUBELITE-POSTROUTING:
//     traffic to a public IP, and hairpin traffic (an endpoint reaching its
//     own service). Filter chain KUBELITE-FORWARD (jumped from FORWARD)
//     accepts those marked packets and the rest of DNATed connections, so
//     a FORWARD policy of DROP (Docker's) does not cut them. There is
//     deliberately no chain per endpoint: on nf_tables the cost of iptables-restore and iptables-save grows with the
//     number of chains, and one chain per service keeps 1,000 services x 3
//     endpoints well under a second.
//   - userspace (the tutorial's mechanism): one listener per service on a
//     random port (TCP or UDP), the tutorial's rule
//     "-m comment --comment <ns>/<svc> -d <portalIP>/32 -p tcp --dport <port>
//     -j REDIRECT --to-ports <proxyPort>" in nat chain KUBE-PROXY, jumped from
//     PREROUTING and OUTPUT. Round-robin over endpoints (restarting when they
//     change), a failed dial tries the next endpoint with growing timeouts,
//     ClientIP affinity in the balancer. A restarted proxy reuses the ports
//     its previous run left in KUBE-PROXY when they are free.
//   - none: does nothing.
//
// Both modes: a service without endpoints is rejected at once by the filter
// chain KUBELITE-SERVICES (jumped from INPUT, FORWARD and OUTPUT for new
// connections). A sync is one iptables-restore --noflush transaction; only
// chains KUBE-PROXY, KUBELITE-{SERVICES,POSTROUTING,MARK-MASQ,FORWARD,SVC-*,AFF-*} and the jumps into them are ever
// touched. A full sync (the first, then every SyncPeriod, default 5 s)
// declares every chain kubelite needs, which rewrites it, deletes the
// kubelite chains it does not need, and makes sure the jumps from the
// built-in chains exist, so a flushed chain or a deleted jump heals within
// one period. A sync on change (the informers saw a service or endpoints
// change) writes only the chains whose rules differ from the last successful
// sync, and nothing at all when none do. The tables are read (iptables-save)
// only on the first sync and after a failed one; otherwise the chains that
// exist are those the last sync left.
//
// Decide apart from doing: servicesFrom turns API objects into plain
// service values, planIptables / planUserspace turn those into restore text
// (pure; golden files in testdata/), Proxy.syncObjects applies it. Rules stay in
// place when the proxy stops, so a restart serves without a gap; Cleanup
// removes every chain and jump of either mode (kubelite minion
// --cleanup-iptables).
//
// The proxy never assumes a portal range: it reads each service's portalIP.
package proxy
