// Package auth says who is asking (Authenticator) and whether they may
// (Authorize). It holds no state beyond the credentials it is given and does
// no I/O: the API server and the kubelet server call it per request.
//
// Authentication:
//   - A bearer token (Authorization: Bearer T) is looked up among the
//     configured tokens. Every configured token is compared, in constant
//     time, with the one given, so timing reveals neither which token nor
//     how much of it matched. A wrong or empty token, or another
//     Authorization scheme, is an error (the caller answers 401): a client
//     that sent a credential is never served as anonymous.
//   - Without an Authorization header, a TLS client certificate is verified
//     against the CA pool, for client authentication (extended key usage
//     ClientAuth), at the time of the request. The user is the
//     certificate's common name, its groups the organizations. A
//     certificate that does not verify (another CA, expired, server-only) is
//     an error. The TLS listener should request, not require, client
//     certificates (tls.RequestClientCert or VerifyClientCertIfGiven) so
//     that tokens and the public paths keep working.
//   - No credential at all: (User{}, false, nil); the caller decides what an
//     anonymous request may reach (the always-public paths, loopback reads).
//
// Authorization is a fixed policy (Authorize), a pure function; see its
// comment for the table. Attributes name resources as the v1beta1 URL does
// (pods, replicationControllers, services, endpoints, minions, events,
// bindings). For create, Attributes.Name must be the id of the object in
// the body, since the policy lets a minion create only its own minion.
package auth
