// Package endpoint is the one value a client needs to reach a kubelite API:
// its base URL, the TLS configuration that verifies the server (and carries a
// client certificate), and the bearer token it presents.
//
// It is resolved once, where the configuration is read (config for the roles,
// the CLI for kubectl, the join for a minion), and handed to every client: the
// remote store, kubectl, doctor and the kubelet's store. No other package
// spells a scheme or normalises a master address.
//
// Addresses: HOST, HOST:PORT, http://HOST[:PORT] or https://HOST[:PORT]. A
// missing port is the API's 8080. A missing scheme is https: a kubelite master
// speaks TLS by default; http:// is written out only for a master started with
// --insecure (or for the read-only loopback reads the tutorial's curls make).
package endpoint
