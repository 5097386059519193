// Package kubelet makes the pods bound to one minion real containers through
// a runtime.Runtime (Docker, or the in-memory fake for hollow minions) and
// reports what really runs.
//
// Shape (decide apart from doing):
//   - decide.go: Decide(Input) Plan is pure: from the pod spec (nil when the
//     pod is gone), the pod's containers as the runtime reports them, the
//     time, and what the kubelet remembers (pull back-off, failed liveness
//     probes), it computes the actions (stop, remove, start infra, start
//     container), the waiting reasons and when to look again, in named
//     phases (stale, refused, unwanted, infra, garbage, apps). The plans of
//     a table of inputs are pinned in testdata/decide/*.txt (go test -run
//     TestDecideGolden -update rewrites them; read the diff).
//   - Solo pods (spec.go Solo, Config.PodInfra auto, the default): a pod of
//     one container without host ports on the pod network has no infra
//     container; its app container holds the pod's network (network mode
//     the pod network, the pod's hostname, labelled LabelOwnNetwork, its
//     spec hash HashSolo), so a pod is one container to the engine, as a
//     Swarm task is. The runtime gives a restarted container the pod's
//     address back. A pod whose infra still runs keeps it (Decide's
//     isSolo); PodInfra always gives every pod an infra, as in v0.6.
//   - status.go: PodStatus(...) is pure too: the pod's currentState from the
//     same inputs; its address and "net" entry are the network holder's
//     (the infra, or a solo pod's app).
//   - admit.go: before any container of a pod is created, the pod is
//     admitted again with this minion's policy (internal/admission with
//     Config.AllowPrivileged, Config.Protected and RootDir), and every
//     hostDir's symbolic links are resolved on this host and the result
//     checked again and bound. A refused pod gets no container (running
//     ones stop), its containers wait with "PodRefused: <why>", and one
//     "refused" event is recorded per distinct reason.
//   - spec.go: the runtime.ContainerSpec of the infra and app containers
//     (labels, ports, env with service variables, cpu, memory, volumes).
//   - The thin layer: kubelet.go (Config, New), loop.go (Run, the queue
//     dispatch, container events, resync and housekeeping), syncpod.go
//     (SyncPod: decide, apply, push status; forget a gone pod),
//     apply.go (apply a plan by phase: a run of stops at once, removes,
//     the infra started in the background, app starts joining it),
//     containers.go (images, infra and app container creation),
//     statuspush.go (write the status by compare-and-swap: the status
//     alone where the store has store.StatusWriter, as the API's client
//     does, else the whole pod), events.go
//     (event reasons, recording). An informer on the pods bound here
//     (fields DesiredState.Host=<name>) and the runtime's container-died
//     events queue pod keys; each key is synced in its own goroutine (the
//     queue never runs a key twice at once), so a slow pull or a stuck
//     container stalls only its own pod (at most MaxParallelStarts pods
//     start containers at once, which only orders a burst). Every
//     SyncFrequency all pods are queued again and housekeeping removes
//     containers of pods no longer bound here and their directories.
//   - minion.go: registration and heartbeat. Where the store records
//     heartbeats apart from the minion (store.Heartbeater: a master renews
//     the minion's etcd lease), a heartbeat is that renewal, and the minion
//     is written only to register it, when its fields differ from what
//     the kubelet would register, and every MinionRefresh (5 minutes plus
//     up to a fifth); otherwise every heartbeat writes the minion. Once
//     registered, the renewal comes first at every heartbeat: a write due
//     too follows it, and a write the master refuses (a busy master refuses
//     writes before heartbeats) is tried again at the next heartbeat
//     without costing the lease.
//     A failed heartbeat is tried again soon (200 ms doubling up to the
//     interval, heartbeatDelay), so a master that refuses a few in a row
//     under load does not find the minion silent for its grace period;
//     one that hangs is given up after twice the interval
//     (heartbeatDeadline) and tried again on another connection.
//   - network.go: the pod network (Config.Network = NetworkBridge, what
//     `kubelite minion` runs by default). The master records a podCIDR on
//     the minion shortly after it registers; the kubelet watches its
//     Minion, makes a bridge network of the engine with that subnet
//     (runtime.EnsureNetwork: network kubelite-pods, bridge kl-pods,
//     gateway .1, no engine masquerade: internal/podnet routes and
//     masquerades) and puts every infra container on it, so pod IPs are
//     cluster-routable. No pod is synced before the network exists (a new
//     pod shows WaitingForNetwork; running pods keep their status). The
//     network and subnet are part of the infra hash, so a new podCIDR
//     replaces the network and then every pod's infra container; with
//     --network=none (and for hollow minions) the engine's default bridge
//     stays and the hash is what it always was. The network outlives the
//     kubelet (pods keep running across restarts); --reset removes it.
//   - probe.go: liveness probes (httpGet, tcpSocket, exec), one goroutine per
//     probed container; a failure records an event and queues the pod.
//   - server.go: the HTTP server (/healthz, /livez, /readyz, /metrics, /podInfo,
//     /containerLogs, /stats); health.go: the readiness checks (the engine
//     answers, the pod cache has listed); metrics.go: kubelet_pod_start_duration_seconds,
//     kubelet_running_pods and the BackOff events.
//     Secure (Server.TLS and Server.Authn set): HTTPS with the minion's
//     joined certificate, and every path but the probes answers only the
//     master or admin (401 anonymous or a wrong credential, 403 another
//     user); --insecure leaves both nil: plain HTTP to anyone, as in 2014.
//   - Events (Pulling, Pulled, Failed, Created, Started, Killing, BackOff,
//     Unhealthy, Refused) go through Config.Recorder (internal/record: rate-limited,
//     deduplicated), naming the container in involvedObject.fieldPath.
//   - hollow.go: many kubelets on fake runtimes in one process, sharing one
//     pod watch (Fleet), for the scheduler's tests and the benchmarks.
//
// Container identity lives in Docker labels (runtime.Label*): minion, pod
// uid, namespace, name, container name, spec hash and attempt. A kubelet
// only ever lists and touches containers labelled with its own minion name,
// so kubelets sharing an engine (tests beside a running standalone) never
// take each other's containers for orphans. restartCount is
// the attempt of a container's newest instance, so a restarted kubelet
// adopts running containers (same hash: kept) and keeps counting. The
// infra container is labelled with container name "POD" (upper case, so no
// DNS-label container name can collide) and reported as "net".
//
// Restart back-off is computed from the dead container itself (attempt and
// finish time), not from kubelet memory: the first restart is immediate,
// then 10 s doubling to 5 min; a container that ran 10 minutes resets it.
//
// Status is pushed to the store when it changes (compare-and-swap on the
// pod, retried on conflict; nothing is written when the store already says
// the same); the master never polls kubelets.
//
// Measured start-up latency on Docker: LATENCY.md.
package kubelet
