// Package testutil holds helpers shared by kubelite's tests.
//
// Contract:
//   - RequireDocker(t) fails the test (never skips it) when the Docker Engine
//     cannot be reached, unless KUBELITE_SKIP_SYSTEM=1 is set, in which case it
//     skips. CI never sets that variable, so a CI machine without Docker fails.
//   - RequireRoot(t) does the same for tests that need uid 0.
//   - KubeliteBinary(t) builds the kubelite binary (module root, CGO_ENABLED=0,
//     so it runs inside a FROM scratch image) once per test process into a
//     temporary directory and returns its path. BuildBinary(t, pkg) does the
//     same for any main package of the module. ImageBinary(t) builds a
//     small binary with only the image personalities (internal/testserver).
//
// The package talks to Docker only through plain HTTP on its socket (the
// /_ping endpoint): only internal/runtime/docker imports the Docker client.
package testutil
