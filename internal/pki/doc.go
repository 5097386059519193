// Package pki is kubelite's cluster identity: a certificate authority, the
// certificates it issues, join tokens, and the files that hold them.
//
// Contract:
//   - NewCA makes a self-signed ECDSA P-256 CA valid ten years. Issue makes a
//     new key and a leaf certificate valid one year (never beyond the CA);
//     Sign signs a certificate request made elsewhere (NewCSR, on a joining
//     minion), and takes only its public key: the subject and SANs come from
//     the caller, never from the request. Leaf certificates carry the
//     extended key usages asked for (ClientAuth, ServerAuth or both) and
//     nothing else; certificates are valid from one hour before now, to
//     tolerate small clock skew between hosts.
//   - Tokens have the k3s shape K10<hex sha256 of the CA certificate's
//     DER>::<secret>. ParseToken says which part is wrong; Token.Matches pins
//     a CA certificate (constant-time). The secret is what a minion trades
//     for its credential; the hash lets it check the master before it sends
//     anything.
//   - LoadOrCreate gives a master (or standalone) its Identity under
//     dataDir. The first start creates every file in a temporary directory
//     and renames it to dataDir/pki, so a crash never leaves half an
//     identity, and two processes racing both end with the same one. Later
//     starts reuse the CA and tokens; the serving certificate is re-issued
//     from the same CA when it lacks a wanted SAN, expires within 30 days or
//     does not match its key, and the master's client certificate likewise.
//     A missing or corrupt CA, key or token file is an error naming the file
//     and the way out (remove dataDir/pki: minions must then rejoin).
//     Private files are 0600 and directories 0700; a private file found with
//     group or world bits is set back to 0600 with a warning.
//     admin.kubeconfig is rewritten on every call, with opts.Server.
//   - RotateToken and ReadToken serve `kubelite token`. Identity's token
//     fields are a snapshot taken at LoadOrCreate: a server that must honour a
//     rotation without a restart reads the file again (ReadToken).
//   - Every file write is atomic (temporary file, fsync, rename).
//
// The package does no network I/O and starts no goroutine; time is passed in
// (Options.Now) so tests can age certificates.
package pki
