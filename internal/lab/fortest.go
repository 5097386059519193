package lab

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"
)

// RequireSystem fails t unless it runs as root with the tools a lab needs
// (ip, iptables, nsenter, sysctl, dockerd, docker). With
// KUBELITE_SKIP_SYSTEM=1 it skips t instead: a developer convenience that CI
// never sets.
func RequireSystem(t testing.TB) {
	t.Helper()
	if os.Getenv("KUBELITE_SKIP_SYSTEM") == "1" {
		t.Skip("KUBELITE_SKIP_SYSTEM=1: skipping a test that needs root, Docker and iptables")
	}
	if os.Geteuid() != 0 {
		t.Fatal("the lab needs root (set KUBELITE_SKIP_SYSTEM=1 to skip on a developer machine)")
	}
	for _, tool := range []string{"ip", "iptables", "nsenter", "sysctl", "dockerd", "docker"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the lab needs %s: %v", tool, err)
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
