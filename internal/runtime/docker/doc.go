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
package docker
