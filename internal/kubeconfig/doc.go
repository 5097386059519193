// Package kubeconfig reads and writes the standard kubeconfig format (apiVersion
// v1, kind Config), the one the real kubectl reads: clusters, users
// ("users"/"user", which kubectl calls AuthInfo), contexts and
// current-context. Only the fields kubelite uses are modelled; others are
// ignored on read and lost on write.
//
// Contract:
//   - New makes a one-cluster, one-user, one-context config, current-context
//     set; Marshal writes YAML, with byte fields (…-data) as base64 as
//     kubectl expects. WriteFile is atomic (temporary file, fsync, rename)
//     and leaves the file 0600, since it may hold a token or a key.
//   - Parse accepts YAML or JSON; an unknown kind or apiVersion, or a syntax
//     error, is an error with the reason. Load also resolves the relative
//     file references (certificate-authority, client-certificate,
//     client-key) against the file's directory, as kubectl does.
//   - Current picks the current context (or the only one) and returns its
//     cluster and user; a dangling reference or an ambiguous choice is an
//     error naming what is missing. Cluster.CAPEM and User.ClientCertPEM
//     return the PEM bytes whether they were inline (…-data) or in files.
//
// No merging of several files ($KUBECONFIG=a:b): the caller picks the file.
package kubeconfig
