package leader

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kubelite/internal/component"
	"kubelite/internal/testutil"
)

func TestMain(m *testing.M) { os.Exit(testutil.NoLeaks(m).Run()) }

// exclusive counts the components running on every master and records the
// most that ever ran at once.
type exclusive struct {
	mu      sync.Mutex
	running map[string]bool
	max     int
	starts  map[string]int
	fail    map[string]error // a component of this master fails at once
	changed chan struct{}
}

func newExclusive() *exclusive {
	return &exclusive{running: map[string]bool{}, starts: map[string]int{}, fail: map[string]error{}, changed: make(chan struct{})}
}

func (x *exclusive) notifyLocked() {
	close(x.changed)
	x.changed = make(chan struct{})
}

// build returns the Build function of master id.
func (x *exclusive) build(id string) func() ([]component.Component, error) {
	return func() ([]component.Component, error) {
		return []component.Component{component.Loop("controller-"+id, func(ctx context.Context) error {
			x.mu.Lock()
			x.running[id] = true
			x.starts[id]++
			x.max = max(x.max, len(x.running))
			err := x.fail[id]
			x.notifyLocked()
			x.mu.Unlock()
			if err == nil {
				<-ctx.Done()
			}
			x.mu.Lock()
			delete(x.running, id)
			x.notifyLocked()
			x.mu.Unlock()
			return err
		})}, nil
	}
}

// waitRunning waits until exactly master id runs its components.
func (x *exclusive) waitRunning(t *testing.T, id string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		x.mu.Lock()
		ok := x.running[id] && len(x.running) == 1
		ch := x.changed
		x.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("%s never ran alone; running %v", id, x.running)
		}
	}
}

// waitStopped waits until master id runs nothing.
func (x *exclusive) waitStopped(t *testing.T, id string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		x.mu.Lock()
		ok := !x.running[id]
		ch := x.changed
		x.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("%s still runs its components", id)
		}
	}
}

// waitQueued waits until exactly ids wait to lead, in this order.
func waitQueued(t *testing.T, e *FakeElection, ids ...string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	want := fmt.Sprint(ids)
	for {
		ch := e.Changed()
		if got := fmt.Sprint(e.Waiting()); got == want {
			return
		}
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("waiting %v, want %s", e.Waiting(), want)
		}
	}
}

func (x *exclusive) maxAtOnce() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.max
}

type master struct {
	gate *Gate
	stop func()
}

func startGate(t *testing.T, e Elector, id string, build func() ([]component.Component, error)) *master {
	t.Helper()
	g, err := New(Config{Elector: e, Identity: id, Build: build, RetryDelay: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	started := make(chan struct{})
	go func() { done <- g.Run(ctx, func() { close(started) }) }()
	<-started
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("gate %s: %v", id, err)
			}
		})
	}
	t.Cleanup(stop)
	return &master{gate: g, stop: stop}
}

func TestGateOneLeaderAtATime(t *testing.T) {
	e := NewFakeElection()
	x := newExclusive()
	m1 := startGate(t, e.Candidate("m1"), "m1", x.build("m1"))
	x.waitRunning(t, "m1")
	m2 := startGate(t, e.Candidate("m2"), "m2", x.build("m2"))
	waitQueued(t, e, "m2")
	m3 := startGate(t, e.Candidate("m3"), "m3", x.build("m3"))
	waitQueued(t, e, "m2", "m3")

	// m1's lease expires: m1 stops its components, then the server lets
	// the lease go and the next candidate in line runs them.
	if !e.Expire("m1") {
		t.Fatal("m1 was not the leader")
	}
	x.waitStopped(t, "m1")
	if !e.HandOver() {
		t.Fatal("no hand over")
	}
	x.waitRunning(t, "m2")
	waitQueued(t, e, "m3", "m1") // m1 campaigns again after losing
	if m1.gate.Leading() || !m2.gate.Leading() || m3.gate.Leading() {
		t.Fatalf("leading: m1 %v m2 %v m3 %v", m1.gate.Leading(), m2.gate.Leading(), m3.gate.Leading())
	}
	// m2 shuts down: it resigns and m3 (queued first) takes over at once.
	m2.stop()
	x.waitRunning(t, "m3")
	// m1 campaigned again after losing, so it is next.
	m3.stop()
	x.waitRunning(t, "m1")
	if m1.gate.Terms() != 2 {
		t.Fatalf("m1 led %d terms, want 2", m1.gate.Terms())
	}
	if got := x.maxAtOnce(); got != 1 {
		t.Fatalf("%d masters ran the controllers at once", got)
	}
}

func TestGateFailedComponentHandsOver(t *testing.T) {
	e := NewFakeElection()
	x := newExclusive()
	x.fail["bad"] = errors.New("boom")
	startGate(t, e.Candidate("bad"), "bad", x.build("bad"))
	// bad led first, and its components failed at once.
	for deadline := time.After(10 * time.Second); ; {
		x.mu.Lock()
		n, ch := x.starts["bad"], x.changed
		x.mu.Unlock()
		if n > 0 {
			break
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatal("bad never led")
		}
	}
	startGate(t, e.Candidate("good"), "good", x.build("good"))
	x.waitRunning(t, "good")
	if e.Leader() != "good" {
		t.Fatalf("leader %q, want good", e.Leader())
	}
	if got := x.maxAtOnce(); got != 1 {
		t.Fatalf("%d masters ran the controllers at once", got)
	}
}

func TestGateBuildErrorRetries(t *testing.T) {
	e := NewFakeElection()
	var calls atomic.Int32
	x := newExclusive()
	build := func() ([]component.Component, error) {
		if calls.Add(1) < 3 {
			return nil, errors.New("not yet")
		}
		return x.build("m")()
	}
	startGate(t, e.Candidate("m"), "m", build)
	x.waitRunning(t, "m")
	if calls.Load() != 3 {
		t.Fatalf("build called %d times, want 3", calls.Load())
	}
}

func TestHealthCheck(t *testing.T) {
	e := NewFakeElection()
	ctx := context.Background()
	within := HealthCheck(e.Candidate("m1"), time.Hour)
	if err := within(ctx); err != nil {
		t.Fatalf("unhealthy within the grace of a start: %v", err)
	}
	past := HealthCheck(e.Candidate("m1"), -time.Second) // grace already over
	if err := past(ctx); err == nil || !strings.Contains(err.Error(), "no master has led") {
		t.Fatalf("healthy with no leader past the grace: %v", err)
	}
	term, err := e.Candidate("m1").Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, check := range []func(context.Context) error{within, past} {
		if err := check(ctx); err != nil {
			t.Fatalf("unhealthy with a leader: %v", err)
		}
	}
	if err := term.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	if err := within(ctx); err != nil {
		t.Fatalf("unhealthy during a hand-over within grace: %v", err)
	}
	if err := past(ctx); err == nil {
		t.Fatal("healthy with no leader past the grace")
	}
}

func TestFakeCampaignCancelled(t *testing.T) {
	e := NewFakeElection()
	if _, err := e.Candidate("a").Campaign(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ch := e.Changed()
	done := make(chan error, 1)
	go func() {
		_, err := e.Candidate("b").Campaign(ctx)
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled campaign: %v", err)
	}
	// b is no longer queued: a's expiry leaves no leader.
	e.Expire("a")
	if !e.HandOver() {
		t.Fatal("no hand over")
	}
	<-ch
	if e.Leader() != "" {
		t.Fatalf("leader %q after a cancelled candidate", e.Leader())
	}
}

func TestHealthNote(t *testing.T) {
	e := NewFakeElection()
	ctx := context.Background()
	m1 := HealthNote(e.Candidate("m1 10.0.0.1:8080"), "m1 10.0.0.1:8080", time.Hour)
	m2 := HealthNote(e.Candidate("m2 10.0.0.2:8080"), "m2 10.0.0.2:8080", time.Hour)
	if note, err := m1(ctx); err != nil || note != "no master leads now (a hand-over)" {
		t.Fatalf("no leader yet: %q %v", note, err)
	}
	if _, err := e.Candidate("m1 10.0.0.1:8080").Campaign(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		check func(context.Context) (string, error)
		want  string
	}{
		{m1, "leader: m1 10.0.0.1:8080, this master: yes"},
		{m2, "leader: m1 10.0.0.1:8080, this master: no"},
	} {
		if note, err := tc.check(ctx); err != nil || note != tc.want {
			t.Errorf("note %q %v, want %q", note, err, tc.want)
		}
	}
}
