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
// A comma list (NormalizeList) names several masters of one cluster.
//
// Several masters: an Endpoint with Others is a set of masters sharing the
// CA and the credential. Its RoundTripper is a Set: every request goes to
// the current master; one that cannot be reached (refused, dial timeout,
// reset, no answer within FailoverHeaderTimeout) or answers 503 (lost
// quorum), 502 or 504 is left for the next, and the master that answers
// becomes current (see Failover for what a POST may be sent again after).
// The failover is in the transport, once, so every client above it (the
// remote store, kubectl, the kubelet and the proxy through them) moves with
// it and no caller retries on its own. When no master answers, the error
// (*AllFailedError) names each master and why. A watch is a request like
// the others: when its stream breaks, the caller watches again from the
// last resourceVersion it saw, and that request goes to the next master
// (the masters share etcd, so resourceVersions mean the same on all).
package endpoint
