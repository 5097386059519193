// Package runtime is the container runtime interface the kubelet drives,
// kept small and pod-oriented. Two implementations sit beside it:
//
//   - runtime/docker: the local Docker Engine (the only package in kubelite
//     that imports the Docker client);
//   - runtime/fake: containers in memory, cheap enough for a thousand hollow
//     minions in one process, with knobs for tests (crash a container, fail
//     a pull, script exec results).
//
// runtime/runtimetest holds the one contract suite both must pass.
//
// Contract:
//   - Everything a Runtime creates carries LabelManaged=true plus the labels
//     in ContainerSpec.Labels (minion, pod uid, namespace, name, container
//     name, spec hash, attempt). List and Inspect only ever return managed containers:
//     containers kubelite did not create are invisible and never touched
//     (Inspect, Stop, Remove of one fail with ErrNotFound).
//   - Create creates a container (ErrImageNotPresent when the image is
//     absent: it never pulls, pulling is the caller's decision); Start
//     starts it, and if the start fails the container is removed and the
//     error returned, so a failed start leaves nothing behind.
//   - Stop sends SIGTERM, then kills after grace; stopping a stopped
//     container is not an error. Remove removes a container (forcefully, so
//     a running one is killed first); removing a missing one is ErrNotFound.
//   - PullImage fails with an error carrying the engine's message when the
//     image cannot be pulled.
//   - Events streams a die event for every managed container that stops
//     running, with its labels; the kubelet reacts to it at once (a killed
//     container is restarted in well under a second on Docker).
//   - EnsureNetwork makes a bridge network for pods (the pod network of
//     internal/podnet: one subnet per minion): a container whose NetworkMode
//     names it gets an address in its subnet, reported as Container.IP;
//     port bindings work as on the default bridge. The engine does not
//     masquerade the network's traffic (podnet does, except between pod
//     subnets); its bridge is spec.Bridge, its gateway the bridge's address.
//     A network of that name with the same settings is kept (idempotent); a
//     managed one with other settings is replaced, its containers
//     disconnected first (Network.Recreated); an unmanaged one is never
//     touched (ErrNetworkNotManaged). RemoveNetwork fails while running
//     containers are attached; removing a missing network succeeds. How a
//     container gets onto the network is the runtime's business (runtime/docker
//     attaches those without host ports itself, with a veth, and reports
//     the address it chose): the caller sees only NetworkMode and IP.
//   - Times are UTC; a zero time means "not yet".
//   - Every method is safe for concurrent use.
package runtime
