package fake

import (
	"context"
	"fmt"
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

// List through the per-pod index returns what a scan of every container
// returns, before and after removals.
func TestListByPodMatchesScan(t *testing.T) {
	ctx := context.Background()
	r := New(Options{Images: []string{"kubelite/pause:1"}})
	var ids []string
	for i, p := range []struct{ ns, name, uid string }{
		{"default", "a", "u1"}, {"default", "a", "u1"}, {"default", "b", "u2"}, {"other", "a", "u3"}, {"", "", ""},
	} {
		labels := map[string]string{"n": fmt.Sprint(i)}
		if p.name != "" {
			labels[runtime.LabelPodNamespace], labels[runtime.LabelPodName], labels[runtime.LabelPodUID] = p.ns, p.name, p.uid
		}
		id, err := r.Create(ctx, runtime.ContainerSpec{Name: fmt.Sprintf("c%d", i), Image: "kubelite/pause:1", Labels: labels})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	scan := func(opts runtime.ListOptions) []string {
		var out []string
		for _, id := range ids {
			c, err := r.Inspect(ctx, id)
			if err != nil {
				continue
			}
			if opts.PodUID != "" && c.Labels[runtime.LabelPodUID] != opts.PodUID {
				continue
			}
			if !hasLabels(c.Labels, opts.Labels) {
				continue
			}
			out = append(out, c.ID)
		}
		return out
	}
	queries := []runtime.ListOptions{
		{PodUID: "u1"}, {PodUID: "u2"}, {PodUID: "nope"}, {},
		{Labels: map[string]string{runtime.LabelPodNamespace: "default", runtime.LabelPodName: "a"}},
		{Labels: map[string]string{runtime.LabelPodNamespace: "other", runtime.LabelPodName: "a"}},
		{Labels: map[string]string{runtime.LabelPodName: "a"}},
		{Labels: map[string]string{runtime.LabelPodNamespace: "default", runtime.LabelPodName: "a", "n": "1"}},
		{PodUID: "u1", Labels: map[string]string{"n": "0"}},
	}
	check := func(stage string) {
		for _, q := range queries {
			cs, err := r.List(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, c := range cs {
				got[c.ID] = true
			}
			want := scan(q)
			if len(got) != len(want) {
				t.Fatalf("%s: List(%+v) = %d containers, want %v", stage, q, len(got), want)
			}
			for _, id := range want {
				if !got[id] {
					t.Fatalf("%s: List(%+v) misses %s", stage, q, id)
				}
			}
		}
	}
	check("all created")
	if err := r.Remove(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if err := r.Remove(ctx, ids[2]); err != nil {
		t.Fatal(err)
	}
	check("after removals")
	if len(r.byPod["uid\x00u2"]) != 0 || r.byPod["uid\x00u2"] != nil {
		t.Fatal("index keeps an empty entry for a pod with no containers")
	}
}
