package lab

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"kubelite/internal/testutil"
)

// RequireSystem fails t unless it runs as root, the machine's Docker Engine
// answers (testutil.RequireRoot, testutil.RequireDocker) and the tools a lab
// needs are present (ip, iptables, nsenter, sysctl, dockerd, docker). With
// KUBELITE_SKIP_SYSTEM=1 it skips t instead of failing when something is
// missing: a developer convenience that CI never sets.
func RequireSystem(t testing.TB) {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.RequireDocker(t)
	for _, tool := range []string{"ip", "iptables", "nsenter", "sysctl", "dockerd", "docker", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv(testutil.SkipSystemEnv) == "1" {
				t.Skipf("the lab needs %s: %v (skipped: %s=1)", tool, err, testutil.SkipSystemEnv)
			}
			t.Fatalf("the lab needs %s: %v (set %s=1 to skip on a developer machine)", tool, err, testutil.SkipSystemEnv)
		}
	}
}

// ForTest brings up a lab for t and tears it down when t ends, pass or fail.
// A failed test gets the lab's Dump in its log first. Leftovers of an earlier,
// interrupted run of the same name are removed before the lab comes up.
func ForTest(t testing.TB, cfg Config) *Lab {
	t.Helper()
	RequireSystem(t)
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("lab %s at failure:\n%s", l.Config().Name, l.Dump(30))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := l.Down(ctx); err != nil {
			t.Errorf("lab down: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := l.Up(ctx); err != nil {
		t.Fatalf("lab up: %v", err)
	}
	return l
}

// BuildEcho compiles the lab's echo server (internal/lab/internal/echoserver)
// statically into a temporary directory and returns its path. With image set
// it also builds it into a FROM scratch image of that name on the machine's
// engine (removed when t ends), ready for LoadImages.
func BuildEcho(t testing.TB, image string) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "echoserver")
	cmd := exec.Command("go", "build", "-o", bin, "kubelite/internal/lab/internal/echoserver")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build echoserver: %v: %s", err, out)
	}
	if image == "" {
		return bin
	}
	df := "FROM scratch\nCOPY echoserver /echoserver\nENTRYPOINT [\"/echoserver\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("docker", "build", "-q", "-t", image, dir).CombinedOutput(); err != nil {
		t.Fatalf("build image %s: %v: %s", image, err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", image).Run() })
	return bin
}
