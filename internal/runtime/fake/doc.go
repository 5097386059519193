// Package fake is an in-memory runtime.Runtime: containers "start" at once,
// network-owning containers get unique fake IPs (127.128.0.0/9: loopback,
// so traffic to a hollow pod never leaves the machine; unique per process), hostPort conflicts are detected as on Docker. It is the hollow
// minion's runtime and the kubelet tests' fake.
//
// Knobs for tests: FailPull (a pull fails with a message), AddImage, Exit
// (a container exits with a code, as if it crashed or was docker-killed),
// SetExec (script exec probe results), AppendLog, Calls (mutating calls in
// order, when Options.Record is set).
//
// Memory per container is a few hundred bytes, so 1,000 runtimes x 60
// containers fit easily in one process.
package fake
