// Package join trades a cluster's join token for a minion's own credential:
// the master side (Server, mounted by the API server on port 8080 outside
// its normal authentication) and the minion side (Minion, what `kubelite
// minion` runs before anything else).
//
// The token (pki.Token, `K10<sha256 of the CA certificate>::<secret>`) does
// two jobs. Its hash pins the master: the minion downloads the CA from
// CACertsPath over TLS without verification, and sends nothing more unless
// the CA hashes to what the token says. Its secret admits the minion: the
// minion POSTs a certificate signing request to MinionPath with
// `Authorization: Bearer <secret>` over TLS that trusts only that CA.
//
// Server contract:
//   - GET CACertsPath answers anyone with the CA certificate (PEM).
//   - POST MinionPath: the secret is compared in constant time with
//     Server.Secret() (read on every request: the token file may be
//     rotated); a wrong or missing one is 401, an empty Secret() refuses
//     every join. The body is JoinRequest (JSON, at most MaxBodyBytes); the
//     name must be a valid minion id (DNS-1123 subdomain), hostIP an IP,
//     hostnames IPs or DNS names (422 otherwise). The CSR is signed with
//     CN `minion:<name>`, O `kubelite:minions`, usage client and server, and
//     SANs hostIP + hostnames + name, so the master can verify the kubelet's
//     serving certificate and the kubelet can authenticate to the API.
//   - Name binding: the credential is the CSR's public key, fingerprinted as
//     KeyFingerprint (hex sha256 of its PKIX DER). The Minion <name> carries
//     it in AnnotationCredential, with AnnotationJoinedFrom (remote IP) and
//     AnnotationJoinedAt (RFC 3339). A name held by another fingerprint is
//     refused with 409 and one line naming both sides; a name that is free,
//     unbound (registered before joins existed) or held by the same key (a
//     restart, a renewal) is bound, through Create or a compare-and-swap
//     Update, retried once on a conflict. The decision is the pure Bind.
//   - Errors are api.Status JSON objects like the API server's, with a
//     one-line message.
//
// Client contract (Minion):
//   - If Request.Dir holds ca.crt, minion.crt and minion.key, the CA matches
//     the token, the certificate is for `minion:<name>`, signed by that CA,
//     matches the key and is valid for more than RenewBefore: they are
//     reused and nothing touches the network (Credentials.Reused).
//   - Else the CA is downloaded and checked against the token before
//     anything else is sent; a mismatch is an error that says nothing was
//     sent. Then a CSR is POSTed. An existing minion.key is reused for the
//     CSR (so a renewal or a retry after a crash keeps the name's binding);
//     a new key is saved before the POST for the same reason. Files are
//     written atomically (temp file, fsync, rename), 0600 in a 0700 dir.
//   - A refusal (401, 409, 422, ...) is a *RefusedError carrying the
//     server's one line; a network failure names the URL and says the
//     master may not be running.
//   - Several masters (Request.Others): they share the CA the token pins,
//     so the join goes through the first that can be reached; one that
//     refuses or presents another CA ends the join (trying the next would
//     hide a wrong token). When none can be reached the error names each
//     with why, and wraps a *net.OpError (the caller may wait and retry).
//
// The key fingerprint is what ties a certificate to its name: an
// authorizer that lets `minion:<name>` write Minion <name> can compare
// KeyFingerprint(cert.RawSubjectPublicKeyInfo) with the annotation, so a
// host whose name was freed and taken by another cannot reclaim it with its
// still-valid certificate.
package join
