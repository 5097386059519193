package node

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/clustertest"
	"kubelite/internal/store"
	"kubelite/internal/testutil"
)

// fakeLeases is a hand-written Leases: the test sets which minions hold a
// lease, and each change calls the controller's callback.
type fakeLeases struct {
	mu      sync.Mutex
	held    map[string]bool
	heard   map[string]time.Time
	failed  time.Time
	changed func(string)
	synced  chan struct{}
}

func newFakeLeases(held ...string) *fakeLeases {
	l := &fakeLeases{held: map[string]bool{}, heard: map[string]time.Time{}, synced: make(chan struct{})}
	for _, n := range held {
		l.held[n] = true
	}
	return l
}

func (l *fakeLeases) Run(ctx context.Context, changed func(string)) {
	l.mu.Lock()
	l.changed = changed
	l.mu.Unlock()
	close(l.synced)
	<-ctx.Done()
}

func (l *fakeLeases) WaitSynced(ctx context.Context) bool {
	select {
	case <-l.synced:
		return true
	case <-ctx.Done():
		return false
	}
}

func (l *fakeLeases) Leased(name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.held[name]
}

func (l *fakeLeases) Heard(name string) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.heard[name]
}

func (l *fakeLeases) HeartbeatsLost() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failed
}

func (l *fakeLeases) heartbeatsLost(t time.Time) {
	l.mu.Lock()
	l.failed = t
	l.mu.Unlock()
}

// hear notes a heartbeat of name reaching the master at t, its lease
// renewed or not; it queues nothing, as the real one does not.
func (l *fakeLeases) hear(name string, t time.Time) {
	l.mu.Lock()
	l.heard[name] = t
	l.mu.Unlock()
}

func (l *fakeLeases) set(name string, held bool) {
	l.mu.Lock()
	l.held[name] = held
	changed := l.changed
	l.mu.Unlock()
	changed(name)
}

// TestLeasedMinionStaysReady: a minion whose heartbeats renew its lease
// stays Ready however old its LastHeartbeat; once its lease is gone it turns
// NotReady at once (the lease went after the grace period of silence),
// saying so; a lease again makes it Ready.
func TestLeasedMinionStaysReady(t *testing.T) {
	leases := newFakeLeases("a")
	e := newEnv(t, Config{GracePeriod: 40 * time.Second, EvictionTimeout: time.Hour, Leases: leases})
	sim := clustertest.NewMinions(e.st, e.clk)
	if err := sim.Register(e.ctx, []string{"a", "b"}, nil); err != nil {
		t.Fatal(err)
	}
	e.run(t)
	// Five minutes with no write of either minion: b (no lease) turns
	// NotReady, a (leased) stays Ready.
	for range 60 {
		ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
		if err := e.clk.BlockUntil(ctx, 1); err != nil {
			cancel()
			t.Fatalf("no check pending: %v", err)
		}
		cancel()
		e.clk.Step(5 * time.Second)
	}
	testutil.Eventually(t, 10*time.Second, func() bool { return e.minion(t, "b").Status.Condition == api.MinionNotReady }, "b (no lease, no heartbeat) NotReady")
	e.syncBesideLoop(t, "a")
	if c := e.minion(t, "a").Status.Condition; c != api.MinionReady {
		t.Fatalf("leased minion a is %s after 5 minutes without a write", c)
	}
	leases.set("a", false)
	testutil.Eventually(t, 10*time.Second, func() bool { return e.minion(t, "a").Status.Condition == api.MinionNotReady }, "a NotReady once its lease is gone")
	if r := e.minion(t, "a").Status.Reason; !strings.Contains(r, "lease expired") {
		t.Fatalf("reason %q", r)
	}
	leases.set("a", true)
	testutil.Eventually(t, 10*time.Second, func() bool { return e.minion(t, "a").Status.Condition == api.MinionReady }, "a Ready with a lease again")
}

// TestHeardMinionKeepsItsPods: a minion whose lease lapsed while its
// heartbeats kept reaching the master (etcd too slow to renew it) stays
// Ready and keeps its pods for as long as they arrive;
// once they stop for the grace period it turns NotReady and its pods go at
// their timeouts, as any silent minion's.
func TestHeardMinionKeepsItsPods(t *testing.T) {
	const grace, evict = 15 * time.Second, 60 * time.Second
	e, leases, step := leasedMinion(t, grace, evict)
	step(grace + time.Second) // watched for the grace period
	leases.hear("a", e.clk.Now())
	leases.set("a", false) // the lease lapses; heartbeats still arrive
	for range 24 {         // two minutes, a heartbeat every 5 s, none renewed
		step(5 * time.Second)
		leases.hear("a", e.clk.Now())
		if c := e.minion(t, "a").Status.Condition; c != api.MinionReady {
			t.Fatalf("minion heard every 5 s is %s at %s", c, e.clk.Now().Sub(t0))
		}
	}
	if n := e.podCount(t); n != 1 {
		t.Fatalf("%d pods on a minion heard every 5 s, want 1", n)
	}
	// One warning for the two minutes, not one a check.
	if n := strings.Count(e.logs.String(), "heartbeat lease lapsed"); n != 1 {
		t.Fatalf("%d warnings of a lapsed lease while heard, want 1:\n%s", n, e.logs.String())
	}
	// Silent now: NotReady after the grace period, its pod gone after the
	// eviction timeout.
	step(grace + time.Millisecond)
	if c := e.minion(t, "a").Status.Condition; c != api.MinionNotReady {
		t.Fatalf("minion silent for the grace period is %s", c)
	}
	step(evict)
	testutil.Eventually(t, 10*time.Second, func() bool { return e.podCount(t) == 0 }, "the silent minion's pod evicted")
}

// podCount is how many pods the store holds.
func (e *env) podCount(t *testing.T) int {
	t.Helper()
	objs, _, err := e.st.List(e.ctx, api.Pods, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return len(objs)
}

// TestStoreFailureDefersVerdicts: while the store fails heartbeats, a
// silent minion (lease gone, nothing heard: its heartbeats refused before
// they reached the leases) is judged only a grace period after the last
// failure, and its eviction timer starts no earlier; once the store has been
// well for that long, silence counts as always.
func TestStoreFailureDefersVerdicts(t *testing.T) {
	const grace, evict = 15 * time.Second, 60 * time.Second
	e, leases, step := leasedMinion(t, grace, evict)
	cond := func() api.MinionCondition { return e.minion(t, "a").Status.Condition }
	step(grace + time.Second) // watched for the grace period
	leases.set("a", false)    // lapsed, and not heard
	e.syncBesideLoop(t, "a")
	if c := cond(); c != api.MinionNotReady {
		t.Fatalf("a silent minion with a healthy store is %s, want NotReady", c)
	}
	// The store fails heartbeats for a minute: the eviction (60 s after
	// NotReady) waits for a grace period after the last failure.
	for range 12 {
		leases.heartbeatsLost(e.clk.Now())
		step(5 * time.Second)
	}
	if n := e.podCount(t); n != 1 {
		t.Fatalf("%d pods: evicted while the store failed heartbeats", n)
	}
	last := e.clk.Now().Add(-5 * time.Second) // the last failure
	step(last.Add(grace+evict).Sub(e.clk.Now()) - time.Second)
	if n := e.podCount(t); n != 1 {
		t.Fatalf("%d pods: evicted before the store had been well for grace plus the eviction timeout", n)
	}
	step(2 * time.Second)
	testutil.Eventually(t, 10*time.Second, func() bool { return e.podCount(t) == 0 }, "evicted once the store was well")
}

// TestStoreFailureKeepsReady: a minion whose lease lapses, unheard, while
// the store fails heartbeats stays Ready until the store has been well for
// a grace period, then turns NotReady.
func TestStoreFailureKeepsReady(t *testing.T) {
	const grace = 15 * time.Second
	e, leases, step := leasedMinion(t, grace, time.Hour)
	step(grace + time.Second)
	leases.heartbeatsLost(e.clk.Now())
	leases.set("a", false)
	e.syncBesideLoop(t, "a")
	if c := e.minion(t, "a").Status.Condition; c != api.MinionReady {
		t.Fatalf("lapsed while the store failed: %s, want Ready", c)
	}
	step(grace + time.Millisecond)
	if c := e.minion(t, "a").Status.Condition; c != api.MinionNotReady {
		t.Fatalf("silent a grace period after the store recovered: %s, want NotReady", c)
	}
}

// leasedMinion runs a controller over fake leases with one minion, "a",
// holding a lease and running one pod, "lone", seen by the controller at
// the fake clock's start; step moves the clock by d and syncs "a".
func leasedMinion(t *testing.T, grace, evict time.Duration) (e *env, leases *fakeLeases, step func(d time.Duration)) {
	t.Helper()
	leases = newFakeLeases("a")
	e = newEnv(t, Config{GracePeriod: grace, EvictionTimeout: evict, Leases: leases})
	sim := clustertest.NewMinions(e.st, e.clk)
	if err := sim.Register(e.ctx, []string{"a"}, nil); err != nil {
		t.Fatal(err)
	}
	e.runningPod(t, "lone", "default", "a", nil)
	e.run(t)
	e.syncBesideLoop(t, "a") // seen now, whenever the loop's first sync runs
	step = func(d time.Duration) {
		t.Helper()
		e.clk.Step(d)
		e.syncBesideLoop(t, "a")
	}
	return e, leases, step
}
