package kubelet

import (
	"context"
	"fmt"
	"os"
	goruntime "runtime"
	"strconv"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/runtime"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
	"kubelite/internal/testutil"
)

// runFleet starts a fleet of n hollow minions and creates perMinion pods
// bound to each; it returns once every pod reports Running.
func runFleet(t *testing.T, n, perMinion int) (*Fleet, *memory.Store, context.Context, time.Duration) {
	t.Helper()
	st := memory.NewWithHistory(n*perMinion*4 + 1000)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	st.Create(ctx, &api.Event{TypeMeta: api.TypeMeta{ID: "seed", Namespace: "kube-system"}})
	f, err := NewFleet(FleetConfig{Store: st, Count: n, SyncFrequency: time.Minute, HeartbeatInterval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	fctx, fcancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	started := make(chan struct{})
	go func() { done <- f.Run(fctx, func() { close(started) }) }()
	t.Cleanup(func() {
		fcancel()
		if err := <-done; err != nil {
			t.Errorf("fleet: %v", err)
		}
	})
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("fleet stopped: %v", err)
	}
	// Registration runs beside start-up; wait for it.
	testutil.Eventually(t, time.Minute, func() error {
		ms, _, err := st.List(ctx, api.Minions, store.ListOptions{})
		if err != nil {
			return err
		}
		if len(ms) != n {
			return fmt.Errorf("%d minions registered, want %d", len(ms), n)
		}
		return nil
	}, "all hollow minions registered")
	watch, err := st.Watch(ctx, api.Pods, store.ListOptions{ResourceVersion: st.Revision()})
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	for i := 0; i < n; i++ {
		for j := 0; j < perMinion; j++ {
			p := &api.Pod{TypeMeta: api.TypeMeta{ID: fmt.Sprintf("p-%d-%d", i, j), Namespace: "default", UID: fmt.Sprintf("u-%d-%d", i, j)},
				DesiredState: api.PodState{Host: fmt.Sprintf("hollow-%d", i), Manifest: api.ContainerManifest{
					Containers: []api.Container{{Name: "c", Image: "kubelite/webserver:v1"}}}}}
			if _, err := st.Create(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	runningPods := map[string]bool{}
	for len(runningPods) < n*perMinion {
		select {
		case ev := <-watch:
			if p, ok := ev.Object.(*api.Pod); ok && p.CurrentState.Phase == api.PodPhaseRunning {
				if p.CurrentState.PodIP == "" || p.CurrentState.Host != p.DesiredState.Host {
					t.Fatalf("running pod without IP or with the wrong host: %s", dump(p.CurrentState))
				}
				runningPods[p.ID] = true
			}
		case <-ctx.Done():
			t.Fatalf("%d of %d pods running", len(runningPods), n*perMinion)
		}
	}
	return f, st, ctx, time.Since(begin)
}

func TestFleet(t *testing.T) {
	f, st, ctx, took := runFleet(t, 20, 10)
	t.Logf("200 pods on 20 hollow minions running in %s", took)
	// Every pod IP is unique.
	pods, _, _ := st.List(ctx, api.Pods, store.ListOptions{})
	ips := map[string]bool{}
	for _, o := range pods {
		ip := o.(*api.Pod).CurrentState.PodIP
		if ips[ip] {
			t.Fatalf("pod IP %s used twice", ip)
		}
		ips[ip] = true
	}
	// Deleting pods removes their containers on their minion.
	for j := 0; j < 10; j++ {
		if _, err := st.Delete(ctx, api.Pods, "default", fmt.Sprintf("p-3-%d", j)); err != nil {
			t.Fatal(err)
		}
	}
	waitNoContainers(t, f.Runtime("hollow-3"), 10*time.Second)
	if cs, _ := f.Runtime("hollow-4").List(ctx, runtime.ListOptions{}); len(cs) != 20 {
		t.Fatalf("hollow-4 has %d containers, want 20", len(cs))
	}
}

// TestFleetScale runs 1,000 hollow minions x 30 pods (KUBELITE_FLEET_SCALE=1,
// or set it to "minions,pods").
func TestFleetScale(t *testing.T) {
	spec := os.Getenv("KUBELITE_FLEET_SCALE")
	if spec == "" {
		t.Skip("set KUBELITE_FLEET_SCALE=1 (1000x30) or =N,M to run")
	}
	n, m := 1000, 30
	if a, b, ok := cut(spec); ok {
		n, _ = strconv.Atoi(a)
		m, _ = strconv.Atoi(b)
	}
	_, _, _, took := runFleet(t, n, m)
	goruntime.GC()
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	t.Logf("%d pods on %d hollow minions running in %s; heap %d MiB, goroutines %d", n*m, n, took, ms.HeapAlloc>>20, goruntime.NumGoroutine())
}

func cut(s string) (string, string, bool) {
	for i := range s {
		if s[i] == ',' {
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}
