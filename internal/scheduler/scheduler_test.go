package scheduler

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/clock"
	"kubelite/internal/clustertest"
	"kubelite/internal/record"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
	"kubelite/internal/testutil"
)

type env struct {
	st    store.Store
	clk   *clock.Fake
	rec   *record.Fake
	sched *Scheduler
	ctx   context.Context
}

func newEnv(t *testing.T, minions int) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	e := &env{st: clustertest.NewRegistry(t, memory.New()), clk: clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), rec: &record.Fake{}, ctx: ctx}
	var ids []string
	for i := 0; i < minions; i++ {
		ids = append(ids, fmt.Sprintf("minion-%d", i+1))
	}
	if err := clustertest.NewMinions(e.st, e.clk).Register(ctx, ids, nil); err != nil {
		t.Fatal(err)
	}
	return e
}

// start builds the scheduler over st and loads its caches (no workers).
func (e *env) start(t *testing.T, st store.Store) {
	t.Helper()
	if st == nil {
		st = e.st
	}
	e.sched = New(Config{Store: st, Recorder: e.rec, Clock: e.clk, Seed: 1})
	ctx, cancel := context.WithCancel(e.ctx)
	wait := store.StartInformers(ctx, e.sched.pods, e.sched.minions, e.sched.services)
	t.Cleanup(func() { cancel(); wait() })
	if !e.sched.waitSynced(e.ctx) {
		t.Fatal("caches did not sync")
	}
}

func (e *env) createPods(t *testing.T, pods ...*api.Pod) {
	t.Helper()
	for _, p := range pods {
		if _, err := e.st.Create(e.ctx, p); err != nil {
			t.Fatal(err)
		}
	}
}

// blockUntilTimer waits until the queue's backoff timer is armed on the fake clock.
func (e *env) blockUntilTimer(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	if err := e.clk.BlockUntil(ctx, 1); err != nil {
		t.Fatalf("no backoff timer armed: %v", err)
	}
}

func (e *env) hosts(t *testing.T) map[string]string {
	t.Helper()
	objs, _, err := e.st.List(e.ctx, api.Pods, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, o := range objs {
		out[o.Meta().ID] = o.(*api.Pod).DesiredState.Host
	}
	return out
}

func TestSyncSpreadsRCPods(t *testing.T) {
	e := newEnv(t, 2)
	for i := 0; i < 6; i++ {
		e.createPods(t, testPod(fmt.Sprintf("nginx-%d", i), map[string]string{"name": "nginx"}))
	}
	e.start(t, nil)
	testutil.Eventually(t, 10*time.Second, func() bool { return len(e.sched.pods.Keys()) == 6 }, "6 pods")
	for i := 0; i < 6; i++ {
		if err := e.sched.Sync(e.ctx, fmt.Sprintf("default/nginx-%d", i)); err != nil {
			t.Fatalf("sync nginx-%d: %v", i, err)
		}
	}
	counts := map[string]int{}
	for _, h := range e.hosts(t) {
		counts[h]++
	}
	if counts["minion-1"] != 3 || counts["minion-2"] != 3 {
		t.Fatalf("placement %v, want 3/3", counts)
	}
	if n := e.rec.Count(EventScheduled); n != 6 {
		t.Fatalf("%d scheduled events, want 6", n)
	}
}

func TestSyncUnschedulableReasonAndEvent(t *testing.T) {
	e := newEnv(t, 2)
	for i := 0; i < 3; i++ {
		e.createPods(t, testPod(fmt.Sprintf("web-%d", i), map[string]string{"name": "web"}, withHostPort(8080)))
	}
	e.start(t, nil)
	testutil.Eventually(t, 10*time.Second, func() bool { return len(e.sched.pods.Keys()) == 3 }, "3 pods")
	for i := 0; i < 2; i++ {
		if err := e.sched.Sync(e.ctx, fmt.Sprintf("default/web-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	err := e.sched.Sync(e.ctx, "default/web-2")
	if err == nil {
		t.Fatal("third pod scheduled; want it unschedulable")
	}
	const want = "0/2 minions fit: 2 hostPort 8080 in use"
	obj, _ := e.st.Get(e.ctx, api.Pods, "default", "web-2")
	p := obj.(*api.Pod)
	if p.DesiredState.Host != "" || p.CurrentState.Reason != ReasonUnschedulable || p.CurrentState.Message != want {
		t.Fatalf("pod host %q reason %q message %q; want unbound, %q, %q", p.DesiredState.Host, p.CurrentState.Reason, p.CurrentState.Message, ReasonUnschedulable, want)
	}
	if got := e.rec.Reasons(); !contains(got, "failedScheduling: web-2: "+want) {
		t.Fatalf("events %q lack the failedScheduling event", got)
	}
	// A second failure with the same reason does not rewrite the pod.
	rv := p.ResourceVersion
	testutil.Eventually(t, 10*time.Second, func() bool {
		o, _ := e.sched.pods.Get("default/web-2")
		return o.Meta().ResourceVersion == rv
	}, "status write seen")
	if err := e.sched.Sync(e.ctx, "default/web-2"); err == nil {
		t.Fatal("want still unschedulable")
	}
	obj, _ = e.st.Get(e.ctx, api.Pods, "default", "web-2")
	if obj.Meta().ResourceVersion != rv {
		t.Fatalf("pod rewritten on an unchanged failure")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// conflictOnce fails the first binding with a Conflict, as the registry
// does when another writer wins the compare-and-swap.
type conflictOnce struct {
	store.Store
	failed atomic.Bool
}

func (c *conflictOnce) Create(ctx context.Context, obj api.Object) (api.Object, error) {
	if _, ok := obj.(*api.Binding); ok && c.failed.CompareAndSwap(false, true) {
		return nil, api.NewConflict("Binding", obj.Meta().ID, "lost the race")
	}
	return c.Store.Create(ctx, obj)
}

func TestBindConflictForgetsAssumption(t *testing.T) {
	e := newEnv(t, 1)
	e.createPods(t, testPod("p", nil, withHostPort(80)))
	e.start(t, &conflictOnce{Store: e.st})
	testutil.Eventually(t, 10*time.Second, func() bool { return len(e.sched.pods.Keys()) == 1 }, "pod")
	err := e.sched.Sync(e.ctx, "default/p")
	if !api.IsConflict(err) {
		t.Fatalf("first sync: want a conflict, got %v", err)
	}
	// Had the assumption stayed, the pod would now conflict with its own
	// hostPort on the only minion.
	if err := e.sched.Sync(e.ctx, "default/p"); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if h := e.hosts(t)["p"]; h != "minion-1" {
		t.Fatalf("pod bound to %q, want minion-1", h)
	}
}

// TestLoopBackoffAndWake runs the whole loop on a fake clock: an
// unschedulable pod is retried on the backoff schedule, and at once when a
// minion is added.
func TestLoopBackoffAndWake(t *testing.T) {
	e := newEnv(t, 1)
	e.createPods(t, testPod("a", nil, withHostPort(8080)), testPod("b", nil, withHostPort(8080)))
	e.sched = New(Config{Store: e.st, Recorder: e.rec, Clock: e.clk, Seed: 1, Workers: 2})
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	started := make(chan struct{})
	go func() { e.sched.Run(ctx, func() { close(started) }); close(done) }()
	defer func() { cancel(); <-done }()
	<-started
	var loser string
	testutil.Eventually(t, 10*time.Second, func() bool {
		h := e.hosts(t)
		switch {
		case h["a"] != "" && e.sched.Queue().Failures("default/b") == 1:
			loser = "default/b"
		case h["b"] != "" && e.sched.Queue().Failures("default/a") == 1:
			loser = "default/a"
		}
		return loser != ""
	}, "one pod bound, the other failed once")
	// The failure was recorded with a reason before the backoff started.
	e.blockUntilTimer(t)
	q := e.sched.Queue()
	for i, step := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		// Due timers fire inside Step: a timer still armed after it, with
		// the key still waiting, means the backoff did not end early.
		e.clk.Step(step - time.Millisecond)
		if q.Waiting() != 1 || e.clk.Waiters() != 1 || q.Failures(loser) != i+1 {
			t.Fatalf("before %v: %d keys waiting, %d timers, %d failures; want 1, 1, %d",
				step, q.Waiting(), e.clk.Waiters(), q.Failures(loser), i+1)
		}
		e.clk.Step(time.Millisecond)
		testutil.Eventually(t, 10*time.Second, func() bool { return q.Failures(loser) == i+2 }, "retry %d", i+2)
		e.blockUntilTimer(t)
	}
	// A new minion wakes the pod at once, without moving the clock.
	if err := clustertest.NewMinions(e.st, e.clk).Register(e.ctx, []string{"minion-9"}, nil); err != nil {
		t.Fatal(err)
	}
	id := strings.TrimPrefix(loser, "default/")
	testutil.Eventually(t, 10*time.Second, func() bool { return e.hosts(t)[id] == "minion-9" }, "pod bound to the new minion")
}

func TestSpreadIndex(t *testing.T) {
	s := New(Config{Store: memory.New()})
	s.mu.Lock()
	defer s.mu.Unlock()
	web := map[string]string{"name": "web"}
	if keys := s.spreadKeysLocked(web); len(keys) != 0 {
		t.Fatalf("empty index: %v", keys)
	}
	s.addLocked("a", testPod("p1", map[string]string{"name": "web", "v": "1"}))
	s.addLocked("a", testPod("p2", web))
	s.addLocked("b", testPod("p3", map[string]string{"name": "db"}))
	got := map[string]bool{}
	for _, k := range s.spreadKeysLocked(web) {
		got[k] = true
	}
	if len(got) != 2 || !got["name=web"] || !got["name=web,v=1"] {
		t.Fatalf("spread keys for name=web: %v", got)
	}
	if keys := s.spreadKeysLocked(map[string]string{"name": "web", "v": "1"}); len(keys) != 1 {
		t.Fatalf("spread keys for name=web,v=1: %v", keys)
	}
}

// TestSyncSpreadsServicePods: pods of two RCs behind one service spread as
// one set (a rolling update's new pods avoid the minions its old ones crowd).
func TestSyncSpreadsServicePods(t *testing.T) {
	e := newEnv(t, 2)
	// minion-1 runs two v1 pods, minion-2 one db pod and nothing of web.
	for i, host := range []string{"minion-1", "minion-1"} {
		p := testPod(fmt.Sprintf("web-v1-%d", i), map[string]string{"app": "web", "v": "1"})
		p.DesiredState.Host = host
		e.createPods(t, p)
	}
	for i := 0; i < 3; i++ {
		p := testPod(fmt.Sprintf("db-%d", i), map[string]string{"app": "db"})
		p.DesiredState.Host = "minion-2"
		e.createPods(t, p)
	}
	e.createPods(t, testPod("web-v2-0", map[string]string{"app": "web", "v": "2"}))
	if _, err := e.st.Create(e.ctx, &api.Service{TypeMeta: api.TypeMeta{ID: "web", Namespace: "default"}, Port: 80,
		Selector: map[string]string{"app": "web"}}); err != nil {
		t.Fatal(err)
	}
	e.start(t, nil)
	testutil.Eventually(t, 10*time.Second, func() bool { return len(e.sched.pods.Keys()) == 6 }, "pods")
	if err := e.sched.Sync(e.ctx, "default/web-v2-0"); err != nil {
		t.Fatal(err)
	}
	// Without the service both minions run 0 v2 pods and minion-1 (2 pods)
	// would win on pod count over minion-2 (3 pods); with it, minion-2 runs
	// no web pod and wins.
	if h := e.hosts(t)["web-v2-0"]; h != "minion-2" {
		t.Fatalf("v2 pod on %s, want minion-2", h)
	}
}

func TestSpreadIndexDropsGoneLabelSets(t *testing.T) {
	s := New(Config{Store: memory.New()})
	s.mu.Lock()
	defer s.mu.Unlock()
	keep := testPod("keep", map[string]string{"name": "keep"})
	s.addLocked("a", keep)
	for i := 0; i < maxLabelSets+10; i++ {
		p := testPod(fmt.Sprintf("p%d", i), map[string]string{"name": fmt.Sprintf("u%d", i)})
		s.addLocked("a", p)
		s.nodes["a"].Remove(p) // the pod is gone again
	}
	if n := len(s.labelSets); n > 20 {
		t.Fatalf("%d label sets kept, want only live ones plus the newest", n)
	}
	if keys := s.spreadKeysLocked(map[string]string{"name": "keep"}); len(keys) != 1 {
		t.Fatalf("live label set lost: %v", keys)
	}
}

// TestLoopWakesOnFreedPort: deleting the pod holding a hostPort binds the
// waiting pod at once, without waiting for its backoff.
func TestLoopWakesOnFreedPort(t *testing.T) {
	e := newEnv(t, 1)
	e.createPods(t, testPod("a", nil, withHostPort(8080)), testPod("b", nil, withHostPort(8080)))
	e.sched = New(Config{Store: e.st, Recorder: e.rec, Clock: e.clk, Seed: 1})
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	started := make(chan struct{})
	go func() { e.sched.Run(ctx, func() { close(started) }); close(done) }()
	defer func() { cancel(); <-done }()
	<-started
	var holder, waiter string
	testutil.Eventually(t, 10*time.Second, func() bool {
		h := e.hosts(t)
		for _, pair := range [][2]string{{"a", "b"}, {"b", "a"}} {
			if h[pair[0]] != "" && e.sched.Queue().Failures("default/"+pair[1]) >= 1 {
				holder, waiter = pair[0], pair[1]
				return true
			}
		}
		return false
	}, "one bound, one waiting")
	if _, err := e.st.Delete(e.ctx, api.Pods, "default", holder); err != nil {
		t.Fatal(err)
	}
	// The wake may come before the registry's own cache has seen the delete:
	// it then refuses the bind (port in use) and the pod waits for its
	// backoff, which passes on the fake clock.
	testutil.Eventually(t, 10*time.Second, func() bool {
		e.clk.Step(time.Second)
		return e.hosts(t)[waiter] == "minion-1"
	}, "the waiting pod bound")
}
