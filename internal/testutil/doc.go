// Package testutil holds helpers shared by kubelite's tests.
//
// Contract:
//   - Tiers. `make test` runs everything; `make test-unit` sets KUBELITE_UNIT=1
//     (and KUBELITE_SKIP_SYSTEM=1): every test that needs root, Docker,
//     iptables or a network namespace skips with a message, whether or not
//     the machine has them, so the tier runs as an ordinary user. A system
//     test says so by calling a Require* helper (or SystemTest) first.
//   - RequireDocker(t) fails the test (never skips it) when the Docker Engine
//     cannot be reached, unless KUBELITE_SKIP_SYSTEM=1 is set, in which case it
//     skips. CI never sets that variable, so a CI machine without Docker fails.
//     RequireRoot(t) does the same for tests that need uid 0, RequireNetns(t)
//     for tests that need the network namespace RunInNetns (from TestMain)
//     puts the test binary in.
//   - Eventually(t, timeout, cond, msg) is the one way to wait for a
//     real-world effect (cond: func() bool or func() error). Nothing waits by
//     sleeping, and nothing asserts "nothing happened" after a sleep: use the
//     fake clock (clock.Fake.BlockUntil, Waiters) or an explicit signal.
//   - NoLeaks(m) wraps *testing.M in TestMain: goroutines left running after
//     the tests pass fail the binary (go.uber.org/goleak).
//   - KubeliteBinary(t) builds the kubelite binary (module root, CGO_ENABLED=0,
//     so it runs inside a FROM scratch image) once per test process into a
//     cache directory shared by every test process of the module
//     ($TMPDIR/kubelite-testbin-<uid>/<hash>, renamed into place) and returns its
//     path. BuildBinary(t, pkg) does the same for any main package of the
//     module. ImageBinary(t) builds a small binary with only the image
//     personalities (internal/testserver).
//   - RebuildImages(t, build, refs...) runs an image build and removes the
//     images it replaced, so rebuilt test images leave no untagged ones.
//     DockerHost is the engine tests use ($DOCKER_HOST or the default
//     socket), PingDocker checks it answers; ModuleRoot finds go.mod;
//     RealKubectls finds real kubectl binaries to check compatibility with.
//
// The package talks to Docker only through plain HTTP on its socket (/_ping,
// image inspect and remove): only internal/runtime/docker imports the
// Docker client.
package testutil
