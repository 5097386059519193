package kubelet

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/clock"
	"kubelite/internal/runtime/fake"
	"kubelite/internal/store/memory"
)

// minionReads is a store that counts reads of minions.
type minionReads struct {
	*memory.Store
	reads atomic.Int64
}

func (s *minionReads) Get(ctx context.Context, res api.Resource, ns, name string) (api.Object, error) {
	if res == api.Minions {
		s.reads.Add(1)
	}
	return s.Store.Get(ctx, res, ns, name)
}

// After registering, a heartbeat is one compare-and-swap on the version the
// previous one wrote, without reading the minion; when the master changed
// the minion meanwhile, the heartbeat reads it again and keeps the change.
func TestHeartbeatWritesOnItsLastVersion(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC))
	st := &minionReads{Store: memory.New()}
	k, err := New(Config{NodeName: "m1", HostIP: "127.0.0.1", Store: st, Runtime: fake.New(fake.Options{}), Clock: clk, RootDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	stored := func() *api.Minion {
		t.Helper()
		o, err := st.Store.Get(ctx, api.Minions, "", "m1")
		if err != nil {
			t.Fatal(err)
		}
		return o.(*api.Minion)
	}
	last, err := k.heartbeat(ctx, nil)
	if err != nil || last == nil {
		t.Fatalf("register: %v, %v", last, err)
	}
	if n := st.reads.Load(); n != 1 {
		t.Fatalf("registering read the minion %d times, want 1 (not found)", n)
	}
	for i := 1; i <= 3; i++ {
		clk.Step(10 * time.Second)
		if last, err = k.heartbeat(ctx, last); err != nil {
			t.Fatalf("heartbeat %d: %v", i, err)
		}
		if got := stored(); !got.Status.LastHeartbeat.Equal(clk.Now()) || got.ResourceVersion != last.ResourceVersion {
			t.Fatalf("heartbeat %d: stored %v at version %d, want %v at %d", i, got.Status.LastHeartbeat, got.ResourceVersion, clk.Now(), last.ResourceVersion)
		}
	}
	if n := st.reads.Load(); n != 1 {
		t.Fatalf("3 heartbeats after registering read the minion %d more times, want none", n-1)
	}
	// The master cordons the minion and gives it a pod subnet.
	m := stored()
	m.Unschedulable, m.PodCIDR = true, "10.244.7.0/24"
	if _, err := st.Update(ctx, m); err != nil {
		t.Fatal(err)
	}
	clk.Step(10 * time.Second)
	if last, err = k.heartbeat(ctx, last); err != nil {
		t.Fatal(err)
	}
	got := stored()
	if !got.Unschedulable || got.PodCIDR != "10.244.7.0/24" || !got.Status.LastHeartbeat.Equal(clk.Now()) {
		t.Fatalf("after the master's change: unschedulable %v, podCIDR %q, heartbeat %v; want true, 10.244.7.0/24, %v",
			got.Unschedulable, got.PodCIDR, got.Status.LastHeartbeat, clk.Now())
	}
	if n := st.reads.Load(); n != 2 {
		t.Fatalf("the conflicting heartbeat read the minion %d times in all, want 2", n)
	}
	if last.ResourceVersion != got.ResourceVersion {
		t.Fatalf("returned version %d, stored %d", last.ResourceVersion, got.ResourceVersion)
	}
}
