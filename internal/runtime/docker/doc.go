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
package docker
