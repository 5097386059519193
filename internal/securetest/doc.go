// Package securetest is test support for clusters that run secure by
// default (issue 11): it reads a master's identity the way a user does and
// turns it into clients, so that tests which start real `kubelite master`,
// `minion` and `standalone` processes (main_test.go, the lab tests, the
// end-to-end suite) talk to them as an admin or as a minion would.
//
// Contract:
//   - Token and Kubeconfig run the kubelite binary's own `token` and
//     `kubeconfig` commands on a master's --data-dir: tests use the same
//     path a newcomer uses, not the pki package's files directly.
//   - FromKubeconfig turns a kubeconfig file (its current context: server,
//     certificate authority, bearer token and/or client certificate) into
//     an endpoint.Endpoint; Client makes a bounded *http.Client of it that
//     trusts only that CA and sends that credential.
//   - MinionEndpoint is a joined minion's own credential (the client
//     certificate `kubelite minion` keeps under --root-dir/pki), for tests
//     that check what a minion may and may not do.
//   - Nothing here starts processes or listens; errors are wrapped with the
//     file or command they came from.
//
// The package's own tests (secure_test.go) are the integration tests of
// issue 11's "Done means" on real listeners: processes of the built binary
// on loopback ports, with --runtime=fake --proxy-mode=none --network=none.
// They log the figures the lead quotes (minion join time, API create
// latency over TLS beside plain HTTP).
package securetest
