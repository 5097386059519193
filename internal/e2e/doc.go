// Package e2e is kubelite's end-to-end suite (issue 6, "The end-to-end
// suite"): a real multi-host cluster on one machine, driven the way a user
// drives it.
//
// The tests live behind the build tag e2e and run with `make e2e`
// (go test -tags e2e -v -timeout 30m ./internal/e2e/...: TestE2E within 15
// minutes, then TestMasters within about 6). They need root,
// the machine's Docker Engine, iptables, ip and nsenter, and FAIL (never
// skip) without them unless KUBELITE_SKIP_SYSTEM=1 is set.
//
// One lab (internal/lab) holds the cluster: a master host running
// `kubelite master --etcd-embed` with a short --node_monitor_grace_period
// (12s: the kubelet heartbeats every 5s) and --pod_eviction_timeout (10s),
// and two minion hosts, each with its
// own Docker Engine and `kubelite minion --master=<master>:8080
// --hostname_override=<its IP>`.
//
// The cluster runs secure, as issue 11 makes the default: once the master
// has made its identity, the suite runs `kubelite token --data-dir` and
// writes the join token to each minion host's token file (0600; the lab's
// /etc/kubernetes/token, passed as --token-file since the hosts share the
// machine's file system), and `kubelite kubeconfig --server
// https://<master>:8080` into the admin kubeconfig that kubectl
// (--kubeconfig) and the suite's own API client use. The binary is built static (CGO_ENABLED=0)
// from this tree; the images (the pod infra container, the tutorial's
// fedora/apache and yorko/webserver, kubelite/webserver:v1 and :v2) are built
// from it straight into each minion's engine with `kubelite images`, so the
// machine's own engine is not touched.
//
// Everything is driven as a user would: `kubelite kubectl --kubeconfig
// <admin.kubeconfig> ...` run inside the master's namespace, HTTPS GETs to
// the API with the admin's token for polling, curl inside the hosts'
// namespaces for the tutorial's own curls of the API, and HTTP GETs from inside a
// host's (or a pod's) network namespace for service, hostPort and pod-IP
// traffic. Those GETs are made by the test binary itself, re-executed under
// nsenter with the first argument "e2e-helper" (see TestMain): it prints one
// JSON line per request, with the pod name and version the test web server
// answered. No traffic leaves the lab.
//
// Scenarios (the numbering), each a subtest printing one line
// "E2E <name> PASS|FAIL <seconds>" and, on failure, the cluster's state
// (kubectl get of every resource, events, each engine's containers, the last
// lines of every kubelite process's log):
//
//	1-tutorial       apache-pod.json on hostPort 8080; the secure default as
//	                 the tutorial's user meets it (plain-HTTP curls of the API
//	                 read on the master host, its own IP and loopback, but
//	                 may not write; from a minion host plain HTTP is 403
//	                 naming https and the token, anonymous https 401 with
//	                 no data; kubelets answer anonymous callers /healthz
//	                 only; kubectl log through the master); lnmp-replication.json
//	                 resized 2 -> 6 (3 per minion); lnmp-service.json reaches
//	                 all 6 pods from each minion in 60 GETs; the CLI tables;
//	                 a deleted pod is replaced and Running within 5 s
//	1-access         issue 5's access check: the portal alternates between
//	                 pods; minion1 restarted with --proxy-mode=userspace shows
//	                 the tutorial's KUBE-PROXY REDIRECT rule and answers on
//	                 <minionIP>:<proxyPort>
//	2-hostport       3 replicas with a hostPort on 2 minions: 2 Running, 1
//	                 Pending with its reason
//	3-services       two services of 3 pods, exactly their own pods, after
//	                 restarting every proxy, flushing the proxy's chains and
//	                 restarting the master; deleted service stops answering;
//	                 a new one does not take a live IP
//	4-rollingupdate  run, resize 1, resize 2, rollingupdate v1 -> v2 with the
//	                 service answering throughout
//	5-minion-lost    minion 2's kubelite killed: pods move to minion 1 within
//	                 grace + eviction + 10 s; back: its old containers go
//	7-pod-to-pod     pod to pod across minions by pod IP (no NAT), pod to
//	                 service portal
//	8-liveness       a failing http probe restarts the container, restartCount
//	                 grows
//	12-kubectl-v1    the oldest and the newest real kubectl with the admin
//	                 kubeconfig over /api/v1: get nodes, create -f a v1 pod,
//	                 apply -f a v1 RC (created, configured), get pods -o wide
//	                 (Running on a minion, its IP), logs, scale rc seen by
//	                 get -w, expose rc (endpoints are the pods), delete -l
//	                 (get -w sees DELETED)
//	6-partition      minion 2 cut off past the eviction timeout, then healed:
//	                 same outcome, no hostPort held twice on any host
//	9-insecure       the whole cluster restarted as in 2014 (master
//	                 --insecure, minions --master=http://...): the master
//	                 warns, an anonymous plain-HTTP POST and DELETE from a
//	                 minion host work, the pod runs on anonymous minions,
//	                 kubelets answer anonymous plain HTTP, no TLS on 8080;
//	                 the reset after it restarts the secure cluster on the
//	                 same data dirs (minions reuse their credentials)
//
// TestMasters (issue 13) has a lab of its own (internal/lab "tri", Index
// 11: master1..3 with their own host names, minion1..2), grown as README's
// Growing says: master1, then master2 and master3 with --join and the
// master token; minions with the join token and --master listing all three,
// the controllers' leader first. Its steps, each printing
// "MASTERS <step> PASS <seconds>" and a line of figures:
//
//	a-join            etcd members: 3 healthy, etcd's raft leader apart
//	                  from the controllers' leader
//	b-portal-ips      100 services created at once across the 3 masters:
//	                  100 distinct portal IPs
//	c-leader-kill     an RC of 4; kill -9 of the controllers' leader (the
//	                  minions' first master): a new leader within lease +
//	                  2 s (taken from its "became leader" log line), a pod
//	                  deleted after the kill replaced, the RC resized to 5
//	                  by kubectl through a kubeconfig listing every master
//	                  (the killed one first), 5 pods and no more, minions
//	                  Ready; the killed master rejoins as follower
//	d-quorum-loss     2 of 3 masters stopped: a write answers 503 naming the
//	                  lost quorum within 5 s; back after grace + 3 s: no
//	                  minion NotReady for grace + 5 s, the same pods and
//	                  containers
//	crash             16 writers creating RCs of 0 replicas on all masters;
//	                  KUBELITE_E2E_CRASH_ROUNDS (default 3; the issue's
//	                  full run: 20) kill -9 rounds of etcd's leader and the
//	                  controllers' leader in turn, each restarted, then all
//	                  three at once: every create answered 2xx is listed
//	                  afterwards; the write gap at each kill is printed
//	e-restore-rejoin  etcd remove, wipe and rejoin of master3; snapshot
//	                  save, --restore on a new data dir with the old pki/,
//	                  every service (with its portal IP) and the RC back;
//	                  the others rejoin wiped
//
// Runs on one machine are serialized by a flock on /run/kubelite-e2e.lock (a
// second run waits up to 3 minutes): bringing the lab up removes every
// leftover of its name, which would tear down a lab another run is using.
// Setup and scenarios end within 15 minutes, so the teardown always runs
// within go test's -timeout.
//
// Between scenarios every replication controller, service and pod is deleted
// and the minions' engines are checked empty. The lab is torn down with
// t.Cleanup, also on failure: no namespace, engine, container or iptables
// rule stays behind (internal/lab's teardown), and the host directories the
// tutorial's hostDir volumes made Docker create are removed if they did not
// exist before.
package e2e
