package kubelet

import (
	"context"
	"sync"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/clock"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
)

// leasing is a memory store that records heartbeats apart from the minion
// (store.Heartbeater), answering each with answer.
type leasing struct {
	*memory.Store
	mu     sync.Mutex
	beats  int
	answer error
}

func (l *leasing) Heartbeat(ctx context.Context, name string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.beats++
	return l.answer
}

func (l *leasing) state() (beats int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.beats
}

func (l *leasing) setAnswer(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.answer = err
}

// TestLeasedHeartbeats: with a store that records heartbeats, the kubelet
// registers its minion, then heartbeats without writing it until
// MinionRefresh (plus up to a fifth) has passed; a minion deleted meanwhile
// (the heartbeat answers NotFound) is registered again; a master that
// records no heartbeats (ErrNoHeartbeats) gets the minion written at every
// heartbeat from then on.
func TestLeasedHeartbeats(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC))
	st := &leasing{Store: memory.New()}
	const interval, refresh = 10 * time.Second, time.Minute
	ctx := heartbeating(t, Config{NodeName: "m1", HostIP: "127.0.0.1", Store: st, Clock: clk,
		HeartbeatInterval: interval, MinionRefresh: refresh})

	stored := func() *api.Minion {
		t.Helper()
		o, err := st.Store.Get(ctx, api.Minions, "", "m1")
		if err != nil {
			t.Fatal(err)
		}
		return o.(*api.Minion)
	}
	tick := ticker(t, ctx, clk, interval)
	if err := clk.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	registered := stored()
	if st.state() != 0 {
		t.Fatal("a heartbeat before the minion was registered")
	}
	// Until the refresh is due: heartbeats only, the minion untouched.
	writes := 0
	for i := 0; i < 10; i++ {
		rv := stored().ResourceVersion
		before := st.state()
		tick()
		switch {
		case stored().ResourceVersion != rv:
			writes++
			if d := clk.Now().Sub(registered.Status.LastHeartbeat); d < refresh || d > refresh+refresh/5+interval+interval/10 {
				t.Fatalf("minion written again %s after its registration, want between %s and %s", d, refresh, refresh+refresh/5)
			}
			if !stored().Status.LastHeartbeat.Equal(clk.Now()) {
				t.Fatalf("the refresh wrote LastHeartbeat %v, want now", stored().Status.LastHeartbeat)
			}
		case st.state() != before+1:
			t.Fatalf("tick %d: neither a heartbeat nor a write", i)
		}
	}
	if writes != 1 {
		t.Fatalf("%d writes of the minion in %s of heartbeats, want 1 (the refresh)", writes, 10*(interval+interval/10))
	}

	// Deleted: the heartbeat answers NotFound, the kubelet registers again.
	if _, err := st.Store.Delete(ctx, api.Minions, "", "m1"); err != nil {
		t.Fatal(err)
	}
	st.setAnswer(api.NewNotFound("minion", "m1"))
	tick()
	stored()
	st.setAnswer(nil)

	// A master that records none: the minion is written at every heartbeat.
	st.setAnswer(store.ErrNoHeartbeats)
	tick()
	tick()
	beats := st.state()
	for i := 0; i < 3; i++ {
		rv := stored().ResourceVersion
		tick()
		if stored().ResourceVersion == rv {
			t.Fatalf("heartbeat %d after ErrNoHeartbeats did not write the minion", i)
		}
	}
	if st.state() != beats {
		t.Fatalf("%d more heartbeats after ErrNoHeartbeats, want none", st.state()-beats)
	}
}

// ticker returns tick: it fires the heartbeat loop's next heartbeat (the
// longest wait after a success, interval plus a tenth) and waits until it
// has run and the loop waits again.
func ticker(t *testing.T, ctx context.Context, clk *clock.Fake, interval time.Duration) (tick func()) {
	return func() {
		t.Helper()
		if err := clk.BlockUntil(ctx, 1); err != nil {
			t.Fatal(err)
		}
		clk.Step(interval + interval/10)
		if err := clk.BlockUntil(ctx, 1); err != nil {
			t.Fatal(err)
		}
	}
}

// refusingWrites is a leasing store whose writes of minions fail with
// refuse while it is set, as a busy master refuses writes before
// heartbeats.
type refusingWrites struct {
	*leasing
	refuse error
}

func (r *refusingWrites) Update(ctx context.Context, o api.Object) (api.Object, error) {
	r.mu.Lock()
	err := r.refuse
	r.mu.Unlock()
	if _, ok := o.(*api.Minion); ok && err != nil {
		return nil, err
	}
	return r.leasing.Update(ctx, o)
}

func (r *refusingWrites) setRefuse(err error) {
	r.mu.Lock()
	r.refuse = err
	r.mu.Unlock()
}

// TestLeaseRenewedWhileWritesFail: a refresh of the minion that the master
// refuses (busy: writes are refused before heartbeats) does not stop the
// heartbeats: every tick still renews the lease, and the minion is written
// once the master takes writes again. Before, a failed refresh left the
// kubelet writing (and failing) instead of heartbeating, and a busy master
// saw it silent for its grace period.
func TestLeaseRenewedWhileWritesFail(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC))
	st := &refusingWrites{leasing: &leasing{Store: memory.New()}}
	const interval, refresh = 10 * time.Second, time.Minute
	ctx := heartbeating(t, Config{NodeName: "m1", HostIP: "127.0.0.1", Store: st, Clock: clk,
		HeartbeatInterval: interval, MinionRefresh: refresh})
	tick := ticker(t, ctx, clk, interval)
	rv := func() uint64 {
		t.Helper()
		o, err := st.Store.Get(ctx, api.Minions, "", "m1")
		if err != nil {
			t.Fatal(err)
		}
		return o.Meta().ResourceVersion
	}
	if err := clk.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	registered := rv()
	st.setRefuse(api.NewUnavailable("busy"))
	// Past the refresh (a minute and up to a fifth) and well beyond it: a
	// heartbeat at every tick all the same.
	for i := range 12 {
		before := st.state()
		tick()
		if st.state() != before+1 {
			t.Fatalf("tick %d (%s after registering): %d heartbeats, want 1", i, time.Duration(i+1)*(interval+interval/10), st.state()-before)
		}
	}
	if rv() != registered {
		t.Fatal("the minion was written while the master refused writes")
	}
	st.setRefuse(nil)
	tick()
	if rv() == registered {
		t.Fatal("the refresh due was not written once the master took writes again")
	}
}

func TestMinionRewrite(t *testing.T) {
	none := func(int64) int64 { return 0 }
	most := func(n int64) int64 { return n - 1 }
	if got := minionRewrite(5*time.Minute, none); got != 5*time.Minute {
		t.Fatalf("no jitter: %s", got)
	}
	if got := minionRewrite(5*time.Minute, most); got != 6*time.Minute {
		t.Fatalf("most jitter: %s, want 6m", got)
	}
}

func TestMinionDiffers(t *testing.T) {
	base := func() *api.Minion {
		return &api.Minion{TypeMeta: api.TypeMeta{ID: "m1", Labels: map[string]string{"zone": "a"}}, HostIP: "10.0.0.1", KubeletPort: 10250,
			Resources: api.NodeResources{Capacity: api.Capacity{CPU: 2000, Memory: 1 << 30}}, Status: api.MinionStatus{Condition: api.MinionReady}}
	}
	cases := []struct {
		name string
		mod  func(last, want *api.Minion)
		want bool
	}{
		{"same", func(last, want *api.Minion) {}, false},
		{"heartbeat time differs only", func(last, want *api.Minion) { want.Status.LastHeartbeat = time.Now() }, false},
		{"master's fields differ only", func(last, want *api.Minion) { last.Unschedulable, last.PodCIDR = true, "10.244.1.0/24" }, false},
		{"host IP", func(last, want *api.Minion) { want.HostIP = "10.0.0.2" }, true},
		{"kubelet port", func(last, want *api.Minion) { want.KubeletPort = 10251 }, true},
		{"capacity", func(last, want *api.Minion) { want.Resources.Capacity.Memory *= 2 }, true},
		{"labels", func(last, want *api.Minion) { want.Labels = map[string]string{"zone": "b"} }, true},
		{"labels not the kubelet's (nil)", func(last, want *api.Minion) { want.Labels = nil }, false},
		{"written NotReady", func(last, want *api.Minion) { last.Status.Condition = api.MinionNotReady }, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			last, want := base(), base()
			tc.mod(last, want)
			if got := minionDiffers(last, want); got != tc.want {
				t.Fatalf("minionDiffers = %v, want %v", got, tc.want)
			}
		})
	}
}
