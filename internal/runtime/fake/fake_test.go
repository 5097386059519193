package fake

import (
	"context"
	"testing"

	"kubelite/internal/runtime"
	"kubelite/internal/runtime/runtimetest"
)

func TestContract(t *testing.T) {
	runtimetest.Run(t, runtimetest.Harness{
		New: func(t *testing.T) runtime.Runtime {
			r := New(Options{Images: []string{"kubelite/pause:1", "kubelite/webserver:v1"}})
			r.SetExec(func(c runtime.Container, cmd []string) runtime.ExecResult {
				if len(cmd) > 0 && cmd[0] == "false" {
					return runtime.ExecResult{ExitCode: 1}
				}
				return runtime.ExecResult{}
			})
			return r
		},
		PauseImage: "kubelite/pause:1", AppImage: "kubelite/webserver:v1",
		ExecOK: []string{"true"}, ExecFail: []string{"false"},
		Crash: func(t *testing.T, rt runtime.Runtime, id string) {
			if err := rt.(*Runtime).Exit(id, 137); err != nil {
				t.Fatal(err)
			}
		},
		LogContains: "fake: started kubelite/webserver:v1",
		HostPort:    18080,
		Network:     runtime.NetworkSpec{Name: "kubelite-pods-test", Bridge: "kl-test"},
		Subnets:     [2]string{"10.244.1.0/24", "10.244.2.0/24"},
	})
}

func TestPullKnobs(t *testing.T) {
	ctx := context.Background()
	r := New(Options{})
	if err := r.PullImage(ctx, "a/b"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := r.HasImage(ctx, "a/b:latest"); !ok {
		t.Fatal("pulled image absent")
	}
	r.FailPull("c/d", "manifest unknown")
	if err := r.PullImage(ctx, "c/d:latest"); err == nil {
		t.Fatal("FailPull ignored")
	}
	r2 := New(Options{PullFails: true})
	if err := r2.PullImage(ctx, "x/y"); err == nil {
		t.Fatal("PullFails ignored")
	}
	if r.Pulls() != 2 {
		t.Fatalf("pulls %d, want 2", r.Pulls())
	}
}

func TestFakeIPsAreUnique(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 100000; i++ {
		ip := fakeIP()
		if seen[ip] {
			t.Fatalf("duplicate fake IP %s", ip)
		}
		seen[ip] = true
	}
}
