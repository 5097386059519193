// Package masterjoin adds a master to a running cluster: the running
// master's side (Server, mounted by roles on the API port among the paths
// that need no API credential) and the joining master's side (Join, what
// `kubelite master --etcd-embed --join=HOST:8080 --token=K10...` runs before
// anything else).
//
// The token is the cluster's master token (pki's master-token file,
// `kubelite token --master`), distinct from the minions' join token: it
// hands over the CA's private key, so it must never be given to a minion.
// Its hash pins the running master exactly as a minion's join does: Join
// downloads the CA certificate from join.CACertsPath over TLS without
// verification and sends nothing more unless it hashes to the token's. It
// then POSTs Request to Path over TLS that trusts only that CA, with
// `Authorization: Bearer <secret>`.
//
// Server contract (POST Path):
//   - the secret is compared in constant time with Server.Secret() (read on
//     every request, so a rotated master token takes effect at once); a
//     wrong or missing one is 401; an empty Secret() refuses every join;
//   - the body is Request (JSON, at most MaxBodyBytes): name a DNS-1123
//     label-like member name, peerURL an http(s) URL with host and port
//     (422 otherwise);
//   - Server.AddMember adds the etcd member (etcd.AddMember: the cluster
//     then needs the new member running to keep its quorum) and returns
//     the InitialCluster the new member starts with; a failure is 503 (or
//     409 when a member of that name or peer URL exists);
//   - the answer is Response: that InitialCluster and the identity files
//     (Server.Files: CA certificate and key, tokens, admin token), written
//     by Join under the new master's DATA-DIR/pki, 0600 in 0700, so the new
//     master serves the same cluster identity (pki re-issues its serving
//     certificate for its own names).
//
// Errors are api.Status JSON objects with a one-line message; Join turns a
// refusal into a *RefusedError carrying it.
package masterjoin
