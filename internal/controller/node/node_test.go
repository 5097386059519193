package node

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/clock"
	"kubelite/internal/clustertest"
	"kubelite/internal/record"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
	"kubelite/internal/testutil"

	"github.com/sirupsen/logrus"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func TestDecide(t *testing.T) {
	const grace, evict = 40 * time.Second, 60 * time.Second
	mk := func(cond api.MinionCondition, hb time.Time, since time.Time) *api.Minion {
		return &api.Minion{Status: api.MinionStatus{Condition: cond, LastHeartbeat: hb, NotReadySince: since}}
	}
	cases := []struct {
		name       string
		m          *api.Minion
		lease      Lease
		now        time.Time
		wantCond   api.MinionCondition
		transition string
		evict      bool
		next       time.Time
	}{
		{"fresh heartbeat makes Ready", mk(api.MinionUnknown, t0, time.Time{}), NoLeases, t0.Add(time.Second), api.MinionReady, "Ready", false, t0.Add(grace + time.Millisecond)},
		{"ready stays ready within grace", mk(api.MinionReady, t0, time.Time{}), NoLeases, t0.Add(grace), api.MinionReady, "", false, t0.Add(grace + time.Millisecond)},
		{"stale heartbeat: NotReady", mk(api.MinionReady, t0, time.Time{}), NoLeases, t0.Add(grace + time.Millisecond), api.MinionNotReady, "NotReady", false, t0.Add(grace + time.Millisecond + evict)},
		{"NotReady before the eviction timeout", mk(api.MinionNotReady, t0, t0.Add(grace)), NoLeases, t0.Add(grace + evict - time.Millisecond), api.MinionNotReady, "", false, t0.Add(grace + evict)},
		{"NotReady at the eviction timeout: evict", mk(api.MinionNotReady, t0, t0.Add(grace)), NoLeases, t0.Add(grace + evict), api.MinionNotReady, "", true, t0.Add(2*grace + evict)},
		{"heartbeat resumes: Ready", mk(api.MinionNotReady, t0.Add(5*time.Minute), t0.Add(grace)), NoLeases, t0.Add(5*time.Minute + time.Second), api.MinionReady, "Ready", false, t0.Add(5*time.Minute + grace + time.Millisecond)},
		{"never heard from within grace", mk("", time.Time{}, time.Time{}), NoLeases, t0.Add(grace), api.MinionUnknown, "", false, t0.Add(grace + time.Millisecond)},
		{"never heard from beyond grace", mk(api.MinionUnknown, time.Time{}, time.Time{}), NoLeases, t0.Add(grace + time.Second), api.MinionNotReady, "NotReady", false, t0.Add(grace + time.Second + evict)},
		// A master (re)started at t0 sees heartbeats from before it: they
		// prove nothing until it has watched for the grace period itself.
		{"old heartbeat, just seen: stays Ready", mk(api.MinionReady, t0.Add(-10*time.Minute), time.Time{}), NoLeases, t0.Add(2 * time.Second), api.MinionReady, "", false, t0.Add(grace + time.Millisecond)},
		{"old heartbeat, watched for the grace period: NotReady", mk(api.MinionReady, t0.Add(-10*time.Minute), time.Time{}), NoLeases, t0.Add(grace + time.Millisecond), api.MinionNotReady, "NotReady", false, t0.Add(grace + time.Millisecond + evict)},
		{"NotReady long before this leader: no eviction yet", mk(api.MinionNotReady, t0.Add(-10*time.Minute), t0.Add(-9*time.Minute)), NoLeases, t0.Add(2 * time.Second), api.MinionNotReady, "", false, t0.Add(grace + time.Millisecond)},
		{"NotReady long before: eviction timer from the watch", mk(api.MinionNotReady, t0.Add(-10*time.Minute), t0.Add(-9*time.Minute)), NoLeases, t0.Add(grace + time.Second), api.MinionNotReady, "", false, t0.Add(grace + evict)},
		{"NotReady long before: evicted a timeout after the watch", mk(api.MinionNotReady, t0.Add(-10*time.Minute), t0.Add(-9*time.Minute)), NoLeases, t0.Add(grace + evict), api.MinionNotReady, "", true, t0.Add(2*grace + evict)},
		// Leased heartbeats: a live lease is a heartbeat now, whatever the
		// minion's LastHeartbeat (written every few minutes) says.
		{"lease held, old LastHeartbeat: Ready", mk(api.MinionReady, t0.Add(-4*time.Minute), time.Time{}), LeaseHeld, t0.Add(grace + time.Minute), api.MinionReady, "", false, t0.Add(grace + time.Minute + grace + time.Millisecond)},
		{"lease held: NotReady turns Ready", mk(api.MinionNotReady, t0.Add(-4*time.Minute), t0), LeaseHeld, t0.Add(grace + time.Minute), api.MinionReady, "Ready", false, t0.Add(grace + time.Minute + grace + time.Millisecond)},
		{"lease gone, old LastHeartbeat: NotReady", mk(api.MinionReady, t0.Add(-4*time.Minute), time.Time{}), LeaseGone, t0.Add(grace + time.Second), api.MinionNotReady, "NotReady", false, t0.Add(grace + time.Second + evict)},
		{"lease gone, fresh LastHeartbeat: Ready until it is stale", mk(api.MinionReady, t0.Add(grace), time.Time{}), LeaseGone, t0.Add(grace + time.Second), api.MinionReady, "", false, t0.Add(2*grace + time.Millisecond)},
		{"lease gone, not watched for grace yet: no verdict", mk(api.MinionReady, t0.Add(-4*time.Minute), time.Time{}), LeaseGone, t0.Add(time.Second), api.MinionReady, "", false, t0.Add(grace + time.Millisecond)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Both kinds of pod on the same timeout: one verdict for both.
			d := Decide(tc.m, Heartbeats{Lease: tc.lease}, tc.now, t0, grace, Eviction{Replicated: evict, Others: evict})
			if d.Status.Condition != tc.wantCond || d.Transition != tc.transition || d.EvictReplicated != tc.evict || d.EvictOthers != tc.evict || !d.Next.Equal(tc.next) {
				t.Fatalf("Decide = cond %s transition %q evict %v/%v next %v; want %s %q %v %v",
					d.Status.Condition, d.Transition, d.EvictReplicated, d.EvictOthers, d.Next.Sub(t0), tc.wantCond, tc.transition, tc.evict, tc.next.Sub(t0))
			}
			if tc.transition == "NotReady" && !d.Status.NotReadySince.Equal(tc.now) {
				t.Fatalf("notReadySince %v, want now", d.Status.NotReadySince)
			}
			if tc.transition == "NotReady" && tc.lease == LeaseGone && !strings.Contains(d.Status.Reason, "lease expired") {
				t.Fatalf("reason %q does not say the lease expired", d.Status.Reason)
			}
		})
	}
}

// TestDecideHeard: a heartbeat that reached this master while the
// minion's lease was gone (etcd too slow to renew it) is a heartbeat: the
// minion stays Ready, or turns Ready, and nothing is evicted until it has
// been silent for the grace period.
func TestDecideHeard(t *testing.T) {
	const grace, evict = 15 * time.Second, 60 * time.Second
	mk := func(cond api.MinionCondition, since time.Time) *api.Minion {
		return &api.Minion{Status: api.MinionStatus{Condition: cond, LastHeartbeat: t0.Add(-5 * time.Minute), NotReadySince: since}}
	}
	late := t0.Add(10 * time.Minute) // watched for long: silence counts
	cases := []struct {
		name       string
		m          *api.Minion
		hb         Heartbeats
		wantCond   api.MinionCondition
		transition string
		evict      bool
		heardOnly  bool
		next       time.Time
	}{
		{"lease gone, heard a second ago: stays Ready", mk(api.MinionReady, time.Time{}), Heartbeats{Lease: LeaseGone, Heard: late.Add(-time.Second)}, api.MinionReady, "", false, true, late.Add(grace - time.Second + time.Millisecond)},
		{"lease gone, heard at the grace period: stays Ready", mk(api.MinionReady, time.Time{}), Heartbeats{Lease: LeaseGone, Heard: late.Add(-grace)}, api.MinionReady, "", false, true, late.Add(time.Millisecond)},
		{"lease gone, heard too long ago: NotReady", mk(api.MinionReady, time.Time{}), Heartbeats{Lease: LeaseGone, Heard: late.Add(-grace - time.Millisecond)}, api.MinionNotReady, "NotReady", true, false, late.Add(grace)},
		{"NotReady at its eviction time, heard meanwhile: Ready, no eviction", mk(api.MinionNotReady, late.Add(-evict)), Heartbeats{Lease: LeaseGone, Heard: late.Add(-2 * time.Second)}, api.MinionReady, "Ready", false, true, late.Add(grace - 2*time.Second + time.Millisecond)},
		{"NotReady at its eviction time, not heard: evict", mk(api.MinionNotReady, late.Add(-evict)), Heartbeats{Lease: LeaseGone, Heard: late.Add(-evict - grace)}, api.MinionNotReady, "", true, false, late.Add(grace)},
		{"lease held and heard: a heartbeat now, not heard only", mk(api.MinionReady, time.Time{}), Heartbeats{Lease: LeaseHeld, Heard: late.Add(-time.Second)}, api.MinionReady, "", false, false, late.Add(grace + time.Millisecond)},
		{"no leases: heard is still a heartbeat", mk(api.MinionReady, time.Time{}), Heartbeats{Heard: late.Add(-time.Second)}, api.MinionReady, "", false, false, late.Add(grace - time.Second + time.Millisecond)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.m, tc.hb, late, t0, grace, Eviction{Replicated: 0, Others: evict})
			if d.Status.Condition != tc.wantCond || d.Transition != tc.transition || d.EvictReplicated != tc.evict || d.HeardOnly != tc.heardOnly || !d.Next.Equal(tc.next) {
				t.Fatalf("Decide = cond %s transition %q evict replicas %v heard only %v next %v; want %s %q %v %v %v",
					d.Status.Condition, d.Transition, d.EvictReplicated, d.HeardOnly, d.Next.Sub(late), tc.wantCond, tc.transition, tc.evict, tc.heardOnly, tc.next.Sub(late))
			}
			if tc.wantCond == api.MinionReady && (d.EvictOthers || d.EvictReplicated) {
				t.Fatal("a Ready minion's pods evicted")
			}
		})
	}
}

// TestDecideEvictionKinds: replicas and other pods leave a NotReady minion
// on timeouts of their own, and the next check is the earlier one pending.
func TestDecideEvictionKinds(t *testing.T) {
	const grace = 15 * time.Second
	notReady := &api.Minion{Status: api.MinionStatus{Condition: api.MinionNotReady, LastHeartbeat: t0, NotReadySince: t0.Add(grace)}}
	ready := &api.Minion{Status: api.MinionStatus{Condition: api.MinionReady, LastHeartbeat: t0}}
	cases := []struct {
		name               string
		m                  *api.Minion
		ev                 Eviction
		now                time.Time
		replicated, others bool
		next               time.Time
	}{
		{"the defaults: replicas go as the minion turns NotReady", ready, Eviction{Replicated: 0, Others: time.Minute}, t0.Add(grace + time.Millisecond), true, false, t0.Add(2*grace + time.Millisecond)},
		{"the defaults: replicas again, bound meanwhile; next a grace period on", notReady, Eviction{Replicated: 0, Others: time.Minute}, t0.Add(2*grace + time.Millisecond), true, false, t0.Add(3*grace + time.Millisecond)},
		{"the defaults: others go at their timeout", notReady, Eviction{Replicated: 0, Others: time.Minute}, t0.Add(grace + time.Minute), true, true, t0.Add(2*grace + time.Minute)},
		{"replicas wait longer than others", notReady, Eviction{Replicated: 2 * time.Minute, Others: time.Minute}, t0.Add(grace + time.Minute), false, true, t0.Add(2*grace + time.Minute)},
		{"replicas at their timeout after the others", notReady, Eviction{Replicated: 2 * time.Minute, Others: time.Minute}, t0.Add(grace + 2*time.Minute), true, true, t0.Add(2*grace + 2*time.Minute)},
		{"neither yet: the earlier timeout next", notReady, Eviction{Replicated: 30 * time.Second, Others: time.Minute}, t0.Add(grace + time.Second), false, false, t0.Add(grace + 30*time.Second)},
		{"Ready: nothing goes", ready, Eviction{}, t0.Add(time.Second), false, false, t0.Add(grace + time.Millisecond)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.m, Heartbeats{}, tc.now, t0, grace, tc.ev)
			if d.EvictReplicated != tc.replicated || d.EvictOthers != tc.others || !d.Next.Equal(tc.next) {
				t.Fatalf("Decide = evict replicated %v others %v next %v; want %v %v %v",
					d.EvictReplicated, d.EvictOthers, d.Next.Sub(t0), tc.replicated, tc.others, tc.next.Sub(t0))
			}
		})
	}
}

func TestSubnets(t *testing.T) {
	s, err := ParseSubnets("10.244.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Subnet(0); got != "10.244.0.0/24" {
		t.Fatalf("subnet 0 = %s", got)
	}
	if got := s.Subnet(255); got != "10.244.255.0/24" {
		t.Fatalf("subnet 255 = %s", got)
	}
	for cidr, want := range map[string]int{"10.244.0.0/24": 0, "10.244.7.0/24": 7, "10.244.255.0/24": 255, "10.245.0.0/24": -1, "10.244.1.0/25": -1, "fd00::/24": -1, "junk": -1, "": -1} {
		if i, ok := s.Index(cidr); (ok && i != want) || ok != (want >= 0) {
			t.Errorf("Index(%q) = %d, %v; want %d", cidr, i, ok, want)
		}
	}
	for _, bad := range []string{"10.0.0.0/25", "fd00::/64", "nonsense"} {
		if _, err := ParseSubnets(bad); err == nil {
			t.Errorf("ParseSubnets(%q) accepted", bad)
		}
	}
}

// TestPool plays the controller's account of taken /24s: minions seen with
// a subnet, allocations, releases, a subnet held twice (set by hand), one
// outside the cluster's range, and a full cluster.
func TestPool(t *testing.T) {
	s, err := ParseSubnets("10.244.0.0/22") // four /24s
	if err != nil {
		t.Fatal(err)
	}
	p := newPool(s)
	steps := []struct {
		op, key, cidr string // op "set" records cidr; "take" wants cidr ("" = none left)
	}{
		{"set", "c", "10.244.0.0/24"},
		{"take", "a", "10.244.1.0/24"},
		{"take", "a", "10.244.1.0/24"}, // taken once: the same again
		{"set", "x", "192.168.0.0/24"}, // not ours: takes nothing
		{"set", "d", "10.244.2.0/24"},
		{"set", "e", "10.244.2.0/24"}, // held twice
		{"take", "b", "10.244.3.0/24"},
		{"take", "f", ""}, // full
		{"set", "c", ""},  // c deleted: its subnet is free again
		{"take", "f", "10.244.0.0/24"},
		{"set", "d", ""}, // e still holds .2
		{"take", "g", ""},
		{"set", "e", "10.244.3.0/24"}, // e moved (now shares b's); .2 is free
		{"take", "g", "10.244.2.0/24"},
		{"set", "a", "10.244.1.0/24"}, // seen as written: nothing changes
		{"take", "h", ""},
	}
	for i, st := range steps {
		switch st.op {
		case "set":
			p.set(st.key, st.cidr)
		case "take":
			got, ok := p.take(st.key)
			if got != st.cidr || ok != (st.cidr != "") {
				t.Fatalf("step %d: take(%s) = %q, %v; want %q", i, st.key, got, ok, st.cidr)
			}
		}
	}
}

// BenchmarkPoolTake: registering many minions one after another costs the
// same per minion however many there are.
func BenchmarkPoolTake(b *testing.B) {
	s, err := ParseSubnets("10.0.0.0/8")
	if err != nil {
		b.Fatal(err)
	}
	keys := make([]string, 50000)
	for i := range keys {
		keys[i] = fmt.Sprintf("m%d", i)
	}
	p := newPool(s)
	for i := 0; i < b.N; i++ {
		if i%len(keys) == 0 { // 50,000 minions, then a new pool
			p = newPool(s)
		}
		if _, ok := p.take(keys[i%len(keys)]); !ok {
			b.Fatal("full")
		}
	}
}

type env struct {
	ctx  context.Context
	st   store.Store // the registry over raw
	raw  store.Store // fixtures: pods bound to minions that since failed
	clk  *clock.Fake
	rec  *record.Fake
	c    *Controller
	logs *testutil.SyncBuffer // the controller's log, unless cfg.Log was set
}

func newEnv(t *testing.T, cfg Config) *env {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	raw := memory.New()
	e := &env{ctx: ctx, raw: raw, st: clustertest.NewRegistry(t, raw), clk: clock.NewFake(t0), rec: &record.Fake{}}
	cfg.Store, cfg.Clock, cfg.Recorder = e.st, e.clk, e.rec
	e.logs = &testutil.SyncBuffer{}
	if cfg.Log == nil {
		lg := logrus.New()
		lg.SetOutput(e.logs)
		cfg.Log = logrus.NewEntry(lg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.c = c
	return e
}

func (e *env) run(t *testing.T) {
	ctx, cancel := context.WithCancel(e.ctx)
	started := make(chan struct{})
	done := make(chan struct{})
	go func() {
		if err := e.c.Run(ctx, func() { close(started) }); err != nil {
			t.Error(err)
		}
		close(done)
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-started:
	case <-done:
		t.Fatal("controller stopped before it started")
	}
}

// runningPod puts a Running pod bound to host straight into the raw store
// (a fixture: bound to a minion that has since failed).
func (e *env) runningPod(t *testing.T, id, ns, host string, labels map[string]string) {
	t.Helper()
	p := &api.Pod{TypeMeta: api.TypeMeta{ID: id, Namespace: ns, Labels: labels}}
	p.DesiredState.Host = host
	p.CurrentState.Phase = api.PodPhaseRunning
	api.SetKind(p)
	if _, err := e.raw.Create(e.ctx, p); err != nil {
		t.Fatal(err)
	}
}

func (e *env) minion(t *testing.T, id string) *api.Minion {
	t.Helper()
	o, err := e.st.Get(e.ctx, api.Minions, "", id)
	if err != nil {
		t.Fatal(err)
	}
	return o.(*api.Minion)
}

func TestMachinesAndSubnets(t *testing.T) {
	e := newEnv(t, Config{Machines: []string{"10.0.0.1", "10.0.0.2", "minion-c"}, ClusterCIDR: "10.244.0.0/16"})
	// minion-c registered itself before the master started, with a subnet.
	if _, err := e.st.Create(e.ctx, &api.Minion{TypeMeta: api.TypeMeta{ID: "minion-c"}, PodCIDR: "10.244.0.0/24"}); err != nil {
		t.Fatal(err)
	}
	e.run(t)
	testutil.Eventually(t, 10*time.Second, func() bool {
		return e.minion(t, "10.0.0.1").PodCIDR != "" && e.minion(t, "10.0.0.2").PodCIDR != ""
	}, "subnets assigned")
	got := []string{e.minion(t, "10.0.0.1").PodCIDR, e.minion(t, "10.0.0.2").PodCIDR, e.minion(t, "minion-c").PodCIDR}
	sort.Strings(got)
	if fmt.Sprint(got) != "[10.244.0.0/24 10.244.1.0/24 10.244.2.0/24]" {
		t.Fatalf("podCIDRs %v", got)
	}
	if m := e.minion(t, "10.0.0.1"); m.HostIP != "10.0.0.1" || m.Status.Condition != api.MinionUnknown {
		t.Fatalf("static minion %+v", m)
	}
	if n := e.rec.Count(EventRegistered); n != 2 {
		t.Fatalf("%d registered events, want 2", n)
	}
}

// TestEvictionTiming drives the whole controller on a fake clock: minion a
// stops heartbeating; it turns NotReady just after the grace period and
// loses its pods exactly at the eviction timeout, not before.
func TestEvictionTiming(t *testing.T) {
	e := newEnv(t, Config{GracePeriod: 40 * time.Second, EvictionTimeout: 60 * time.Second})
	sim := clustertest.NewMinions(e.st, e.clk)
	if err := sim.Register(e.ctx, []string{"a", "b"}, nil); err != nil {
		t.Fatal(err)
	}
	for i, host := range []string{"a", "a", "b"} {
		e.runningPod(t, fmt.Sprintf("p%d", i), "default", host, nil)
	}
	e.run(t)
	sim.Stop("a")
	podsLeft := func() int {
		objs, _, _ := e.st.List(e.ctx, api.Pods, store.ListOptions{})
		return len(objs)
	}
	step := func(d time.Duration) {
		ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
		defer cancel()
		if err := e.clk.BlockUntil(ctx, 1); err != nil {
			t.Fatalf("no check pending: %v", err)
		}
		e.clk.Step(d)
		if err := sim.Heartbeat(e.ctx); err != nil {
			t.Fatal(err)
		}
	}
	step(40 * time.Second) // exactly the grace period: still Ready
	// The clock does not move until the next step, so any check of a now,
	// the loop's or this one, decides at exactly the grace period.
	e.syncBesideLoop(t, "a")
	if c := e.minion(t, "a").Status.Condition; c != api.MinionReady {
		t.Fatalf("a is %s at exactly the grace period", c)
	}
	step(time.Second)
	testutil.Eventually(t, 10*time.Second, func() bool { return e.minion(t, "a").Status.Condition == api.MinionNotReady }, "a NotReady")
	notReadyAt := e.minion(t, "a").Status.NotReadySince
	if want := t0.Add(40*time.Second + time.Millisecond); notReadyAt.Before(want) || notReadyAt.After(t0.Add(41*time.Second)) {
		t.Fatalf("notReadySince %v", notReadyAt.Sub(t0))
	}
	if e.minion(t, "b").Status.Condition != api.MinionReady {
		t.Fatalf("b lost Ready while heartbeating")
	}
	testutil.Eventually(t, 10*time.Second, func() bool { return e.rec.Count(EventNotReady) == 1 }, "a NotReady event")
	for e.clk.Now().Before(notReadyAt.Add(60*time.Second - 5*time.Second)) {
		step(5 * time.Second)
	}
	e.syncBesideLoop(t, "a") // 5 s before the timeout
	if n := podsLeft(); n != 3 {
		t.Fatalf("%d pods left before the eviction timeout, want 3", n)
	}
	e.clk.Set(notReadyAt.Add(60 * time.Second))
	testutil.Eventually(t, 10*time.Second, func() bool { return podsLeft() == 1 }, "a's pods evicted")
	objs, _, _ := e.st.List(e.ctx, api.Pods, store.ListOptions{})
	if h := objs[0].(*api.Pod).DesiredState.Host; h != "b" {
		t.Fatalf("pod left on %s, want b", h)
	}
	testutil.Eventually(t, 10*time.Second, func() bool { return e.rec.Count(EventEvicted) == 2 }, "2 evicted events")
	// a comes back: Ready again.
	m := e.minion(t, "a")
	m.Status.LastHeartbeat = e.clk.Now()
	if _, err := e.st.Update(e.ctx, m); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, func() bool { return e.minion(t, "a").Status.Condition == api.MinionReady }, "a Ready again")
}

// TestCheckBesideTheQueue: a check that runs while the queue still holds
// the minion's key at a time already past (an event's check, or a direct
// Sync, beside the queue's timer) leaves the next check pending. A map of
// pending checks kept beside the queue once skipped it: the minion turned
// NotReady and was never looked at again, its pods never evicted
// (TestEvictionTiming's "no check pending", now and then under load).
func TestCheckBesideTheQueue(t *testing.T) {
	const grace, timeout = 15 * time.Second, time.Minute
	for i := range 20 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			e := newEnv(t, Config{GracePeriod: grace, EvictionTimeout: timeout})
			sim := clustertest.NewMinions(e.st, e.clk)
			if err := sim.Register(e.ctx, []string{"a"}, nil); err != nil {
				t.Fatal(err)
			}
			e.runningPod(t, "p", "default", "a", nil)
			e.run(t)
			ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
			defer cancel()
			if err := e.clk.BlockUntil(ctx, 1); err != nil {
				t.Fatalf("no first check pending: %v", err)
			}
			due := t0.Add(grace + time.Millisecond) // a's first check: silent since t0
			e.clk.Set(due)
			e.syncBesideLoop(t, "a") // beside the check the queue runs now
			if c := e.minion(t, "a").Status.Condition; c != api.MinionNotReady {
				t.Fatalf("a is %s after the grace period", c)
			}
			if err := e.clk.BlockUntil(ctx, 1); err != nil {
				t.Fatalf("no check pending once a is NotReady: %v", err)
			}
			e.clk.Set(due.Add(timeout))
			testutil.Eventually(t, 10*time.Second, func() bool {
				objs, _, _ := e.st.List(e.ctx, api.Pods, store.ListOptions{})
				return len(objs) == 0
			}, "a's pod evicted at the timeout")
		})
	}
}

// TestReplicasGoFirst: at the defaults, the pods of minion a that a
// replication controller selects are evicted as a turns NotReady (their
// controller replaces them); its other pods (no selector of theirs, or one
// in another namespace) stay for the eviction timeout, in case a comes back.
func TestReplicasGoFirst(t *testing.T) {
	e := newEnv(t, Config{})
	if e.c.cfg.GracePeriod != 15*time.Second || e.c.cfg.EvictionTimeout != time.Minute || e.c.cfg.ReplicaEvictionTimeout != 0 {
		t.Fatalf("defaults: grace %s, eviction %s, replicas %s", e.c.cfg.GracePeriod, e.c.cfg.EvictionTimeout, e.c.cfg.ReplicaEvictionTimeout)
	}
	sim := clustertest.NewMinions(e.st, e.clk)
	if err := sim.Register(e.ctx, []string{"a", "b"}, nil); err != nil {
		t.Fatal(err)
	}
	web := map[string]string{"name": "web"}
	rc := &api.ReplicationController{TypeMeta: api.TypeMeta{ID: "web", Namespace: "default"},
		DesiredState: api.ReplicationControllerState{Replicas: 1, ReplicaSelector: web}}
	api.SetKind(rc)
	if _, err := e.raw.Create(e.ctx, rc); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		id, ns, host string
		labels       map[string]string
	}{{"replica", "default", "a", web}, {"bare", "default", "a", nil}, {"elsewhere", "other", "a", web}, {"on-b", "default", "b", web}} {
		e.runningPod(t, p.id, p.ns, p.host, p.labels)
	}
	e.run(t)
	sim.Stop("a")
	pods := func() string {
		objs, _, _ := e.st.List(e.ctx, api.Pods, store.ListOptions{})
		var ids []string
		for _, o := range objs {
			ids = append(ids, o.Meta().ID)
		}
		sort.Strings(ids)
		return strings.Join(ids, " ")
	}
	// The clock moves 5 s at a time (b heartbeats each time); a is checked
	// beside the loop at the moments that matter, whenever its timers fire.
	advance := func(to time.Time) {
		for e.clk.Now().Before(to) {
			next := e.clk.Now().Add(5 * time.Second)
			if next.After(to) {
				next = to
			}
			e.clk.Set(next)
			if err := sim.Heartbeat(e.ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	e.syncBesideLoop(t, "a") // seen at t0, before the clock moves
	advance(t0.Add(15 * time.Second))
	e.syncBesideLoop(t, "a") // exactly the grace period: Ready, nothing evicted
	if got := pods(); got != "bare elsewhere on-b replica" {
		t.Fatalf("pods at the grace period: %s", got)
	}
	advance(t0.Add(16 * time.Second))
	e.syncBesideLoop(t, "a")
	if got := pods(); got != "bare elsewhere on-b" {
		t.Fatalf("pods as a turns NotReady: %s, want the replica on a evicted", got)
	}
	notReadyAt := e.minion(t, "a").Status.NotReadySince
	advance(notReadyAt.Add(time.Minute - 5*time.Second))
	e.syncBesideLoop(t, "a")
	if got := pods(); got != "bare elsewhere on-b" {
		t.Fatalf("pods 5 s before the eviction timeout: %s", got)
	}
	advance(notReadyAt.Add(time.Minute))
	e.syncBesideLoop(t, "a")
	if got := pods(); got != "on-b" {
		t.Fatalf("pods at the eviction timeout: %s, want a's other pods evicted", got)
	}
	// The check beside the loop may find a's pods gone, deleted by the
	// loop's check, which records their events just after.
	testutil.Eventually(t, 10*time.Second, func() bool { return e.rec.Count(EventEvicted) >= 3 }, "3 evicted events")
	if n := e.rec.Count(EventEvicted); n != 3 {
		t.Fatalf("%d evicted events, want 3", n)
	}
}

// TestRestartedLeaderWaitsForGrace: the masters were away for ten minutes
// (no heartbeat could land); a new leader starts. Nothing turns NotReady
// and no pod is evicted before it has watched the minions for the grace
// period; then the silent minion turns NotReady and is evicted a full
// eviction timeout later, while the heartbeating one stays Ready.
func TestRestartedLeaderWaitsForGrace(t *testing.T) {
	const grace, evict = 40 * time.Second, 60 * time.Second
	e := newEnv(t, Config{GracePeriod: grace, EvictionTimeout: evict})
	stale := t0.Add(-10 * time.Minute)
	for _, m := range []*api.Minion{
		{TypeMeta: api.TypeMeta{ID: "ready"}, Status: api.MinionStatus{Condition: api.MinionReady, LastHeartbeat: stale}},
		{TypeMeta: api.TypeMeta{ID: "silent"}, Status: api.MinionStatus{Condition: api.MinionReady, LastHeartbeat: stale}},
		{TypeMeta: api.TypeMeta{ID: "down"}, Status: api.MinionStatus{Condition: api.MinionNotReady, LastHeartbeat: stale, NotReadySince: stale}},
	} {
		if _, err := e.st.Create(e.ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	for i, host := range []string{"ready", "silent", "down"} {
		p := &api.Pod{TypeMeta: api.TypeMeta{ID: fmt.Sprintf("p%d", i), Namespace: "default"}}
		p.DesiredState.Host = host
		p.CurrentState.Phase = api.PodPhaseRunning
		api.SetKind(p)
		if _, err := e.raw.Create(e.ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	e.run(t)
	// heartbeat writes as a kubelet does: a conflict with the loop's own
	// write of the minion is read again and retried.
	// It is written before the clock moves to at, so that the loop never
	// sees the clock ahead of "ready"'s heartbeat.
	heartbeat := func(at time.Time) {
		for {
			m := e.minion(t, "ready")
			m.Status.LastHeartbeat = at
			_, err := e.st.Update(e.ctx, m)
			if err == nil {
				return
			}
			if !api.IsConflict(err) {
				t.Fatal(err)
			}
		}
	}
	conditions := func() string {
		return fmt.Sprintf("%s %s %s", e.minion(t, "ready").Status.Condition, e.minion(t, "silent").Status.Condition, e.minion(t, "down").Status.Condition)
	}
	pods := func() int {
		objs, _, _ := e.st.List(e.ctx, api.Pods, store.ListOptions{})
		return len(objs)
	}
	// sync runs the loop's Sync at once (a conflict with the loop's own
	// write of a newer state is what the loop retries too).
	sync := func(keys ...string) {
		t.Helper()
		for _, k := range keys {
			if err := e.c.Sync(e.ctx, k); err != nil && !api.IsConflict(err) {
				t.Fatal(err)
			}
		}
	}
	// The leader sees every minion first at t0 (the loop may be slower).
	sync("ready", "silent", "down")
	heartbeat(t0.Add(2 * time.Second))
	e.clk.Set(t0.Add(2 * time.Second))
	sync("ready", "silent", "down")
	if got := conditions(); got != "Ready Ready NotReady" {
		t.Fatalf("conditions 2s after a restart %s, want Ready Ready NotReady (unchanged)", got)
	}
	if n := pods(); n != 3 {
		t.Fatalf("%d pods left 2s after a restart, want 3", n)
	}
	if n := e.rec.Count(EventNotReady); n != 0 {
		t.Fatalf("%d NotReady events before the grace period", n)
	}
	// The grace period under this leader passes: silent turns NotReady.
	heartbeat(t0.Add(grace))
	e.clk.Set(t0.Add(grace))
	heartbeat(t0.Add(grace + time.Second))
	e.clk.Set(t0.Add(grace + time.Second))
	testutil.Eventually(t, 10*time.Second, func() bool { return conditions() == "Ready NotReady NotReady" }, "silent NotReady")
	// Eviction: not before a full timeout after the watch began counting.
	heartbeat(t0.Add(grace + evict - time.Second))
	e.clk.Set(t0.Add(grace + evict - time.Second))
	sync("silent", "down")
	if n := pods(); n != 3 {
		t.Fatalf("%d pods left before the eviction timeout, want 3", n)
	}
	heartbeat(t0.Add(grace + evict + time.Second))
	e.clk.Set(t0.Add(grace + evict + time.Second))
	sync("silent", "down") // the loop's timers may fire later under load
	testutil.Eventually(t, 10*time.Second, func() bool { return pods() == 1 }, "silent's and down's pods evicted")
	if got := conditions(); got != "Ready NotReady NotReady" {
		t.Fatalf("conditions %s", got)
	}
}

func TestDeletedMinionLosesItsPods(t *testing.T) {
	e := newEnv(t, Config{})
	sim := clustertest.NewMinions(e.st, e.clk)
	if err := sim.Register(e.ctx, []string{"a", "b"}, nil); err != nil {
		t.Fatal(err)
	}
	for i, host := range []string{"a", "b", "gone"} {
		p := &api.Pod{TypeMeta: api.TypeMeta{ID: fmt.Sprintf("p%d", i), Namespace: "default"}}
		p.DesiredState.Host = host
		api.SetKind(p)
		if _, err := e.raw.Create(e.ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	e.run(t)
	hosts := func() string {
		objs, _, _ := e.st.List(e.ctx, api.Pods, store.ListOptions{})
		var hs []string
		for _, o := range objs {
			hs = append(hs, o.(*api.Pod).DesiredState.Host)
		}
		sort.Strings(hs)
		return fmt.Sprint(hs)
	}
	// The pod bound to a minion that does not exist went at start.
	if got := hosts(); got != "[a b]" {
		t.Fatalf("pods on %s after start, want [a b]", got)
	}
	if _, err := e.st.Delete(e.ctx, api.Minions, "", "a"); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, func() bool { return hosts() == "[b]" }, "a's pod evicted")
}

// syncBesideLoop runs one Sync of key while the controller's own loop runs
// too: a Sync that read the minion from the cache just before the loop's
// write gets a conflict, which the controller requeues; here it is simply
// run again (the clock does not move meanwhile, so the decision is the same).
func (e *env) syncBesideLoop(t *testing.T, key string) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, func() error {
		err := e.c.Sync(e.ctx, key)
		if err != nil && !api.IsConflict(err) {
			t.Fatalf("sync %s: %v", key, err)
		}
		return err
	}, "sync %s without a conflict", key)
}
