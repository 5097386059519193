package docker

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"kubelite/internal/images"
	"kubelite/internal/runtime"
	"kubelite/internal/testutil"
)

func TestInspectCache(t *testing.T) {
	now := time.Unix(1000, 0)
	c1 := runtime.Container{ID: "a", State: runtime.StateRunning, StartedAt: now}
	steps := []struct {
		name string
		do   func(ic *inspectCache) bool // reports whether get hit
		want bool
	}{
		{"empty: miss", func(ic *inspectCache) bool { _, _, ok := ic.get("a", "running"); return ok }, false},
		{"put in the state listed: hit", func(ic *inspectCache) bool {
			_, tok, _ := ic.get("a", "running")
			ic.put("a", "running", c1, tok)
			c, _, ok := ic.get("a", "running")
			return ok && c.ID == c1.ID && c.StartedAt.Equal(c1.StartedAt)
		}, true},
		{"another state listed: miss", func(ic *inspectCache) bool {
			ic.put("a", "running", c1, ic.drops)
			_, _, ok := ic.get("a", "exited")
			return ok
		}, false},
		{"dropped: miss", func(ic *inspectCache) bool {
			ic.put("a", "running", c1, ic.drops)
			ic.drop("a")
			_, _, ok := ic.get("a", "running")
			return ok
		}, false},
		{"a drop between miss and put: not kept", func(ic *inspectCache) bool {
			_, tok, _ := ic.get("a", "running")
			ic.drop("a")
			ic.put("a", "running", c1, tok)
			_, _, ok := ic.get("a", "running")
			return ok
		}, false},
		{"unseen for cacheIdle: swept", func(ic *inspectCache) bool {
			ic.put("a", "running", c1, ic.drops)
			now = now.Add(cacheIdle)
			ic.sweep()
			_, _, ok := ic.get("a", "running")
			return ok
		}, false},
		{"seen within cacheIdle: kept", func(ic *inspectCache) bool {
			ic.put("a", "running", c1, ic.drops)
			now = now.Add(cacheIdle - time.Second)
			ic.get("a", "running")
			now = now.Add(2 * time.Second)
			ic.sweep()
			_, _, ok := ic.get("a", "running")
			return ok
		}, true},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			ic := newInspectCache()
			ic.now = func() time.Time { return now }
			if got := st.do(ic); got != st.want {
				t.Errorf("hit %v, want %v", got, st.want)
			}
		})
	}
}

// TestListInspectsOnlyChanged: on the real engine, a second List of an
// unchanged container makes no inspect; a stop, and a restart in place
// that no List saw (its die event seen on a subscription), are seen.
func TestListInspectsOnlyChanged(t *testing.T) {
	testutil.RequireDocker(t)
	r, err := New(testutil.DockerHost())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := images.Build(ctx, r, testutil.ImageBinary(t), images.Pause); err != nil {
		t.Fatal(err)
	}
	label := fmt.Sprintf("kt-inspectcache-%d", time.Now().UnixNano())
	opts := runtime.ListOptions{Labels: map[string]string{runtime.LabelPodName: label}}
	id, err := r.Create(ctx, runtime.ContainerSpec{Name: label, Image: images.Pause, Labels: map[string]string{runtime.LabelPodName: label}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Remove(context.Background(), id) })
	events, err := r.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	list := func(what string) runtime.Container {
		t.Helper()
		cs, err := r.List(ctx, opts)
		if err != nil || len(cs) != 1 {
			t.Fatalf("%s: list %v, %v", what, cs, err)
		}
		return cs[0]
	}
	inspects := func() int { r.cache.mu.Lock(); defer r.cache.mu.Unlock(); return r.cache.inspect }
	first := list("first")
	n := inspects()
	again := list("again")
	if inspects() != n || !reflect.DeepEqual(again, first) {
		t.Fatalf("unchanged container: %d inspects after %d, %+v then %+v", inspects(), n, first, again)
	}
	// A restart in place: running before and after, so only the die event tells.
	if err := r.cli.ContainerRestart(ctx, id, container.StopOptions{}); err != nil {
		t.Fatal(err)
	}
	for ev := range events {
		if ev.ContainerID == id {
			break
		}
	}
	restarted := list("after restart")
	if restarted.State != runtime.StateRunning || !restarted.StartedAt.After(first.StartedAt) {
		t.Fatalf("after a restart in place: %+v, started before at %s", restarted, first.StartedAt)
	}
	if err := r.Stop(ctx, id, 0); err != nil {
		t.Fatal(err)
	}
	stopped := list("after stop")
	if stopped.State != runtime.StateExited || stopped.FinishedAt.Before(restarted.StartedAt) {
		t.Fatalf("after stop: %+v", stopped)
	}
}
