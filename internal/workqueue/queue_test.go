package workqueue

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"kubelite/internal/clock"
	"kubelite/internal/metrics"
	"kubelite/internal/testutil"
)

func TestDedupAndRequeueWhileProcessing(t *testing.T) {
	q := New(clock.NewFake(time.Unix(0, 0)), time.Second, time.Minute)
	q.Add("a")
	q.Add("a")
	q.Add("b")
	if q.Len() != 2 {
		t.Fatalf("len %d, want 2", q.Len())
	}
	k, _ := q.Get()
	if k != "a" {
		t.Fatalf("got %q", k)
	}
	q.Add("a") // while processing: not handed out twice
	if k2, _ := q.Get(); k2 != "b" {
		t.Fatalf("got %q, want b", k2)
	}
	if q.Len() != 0 {
		t.Fatalf("a was queued while processing")
	}
	q.Done("a")
	if k3, _ := q.Get(); k3 != "a" {
		t.Fatalf("a not requeued after Done, got %q", k3)
	}
}

func TestBackoff(t *testing.T) {
	cases := []struct {
		failures int
		want     time.Duration
	}{{0, time.Second}, {1, 2 * time.Second}, {2, 4 * time.Second}, {6, 60 * time.Second}, {20, 60 * time.Second}}
	for _, tc := range cases {
		q := New(clock.NewFake(time.Unix(0, 0)), time.Second, time.Minute)
		for i := 0; i < tc.failures; i++ {
			q.When("k")
		}
		if got := q.When("k"); got != tc.want {
			t.Errorf("after %d failures: %v, want %v", tc.failures, got, tc.want)
		}
	}
}

// get returns the next key, failing t if none comes within 5 s.
func get(t *testing.T, q *Queue) string {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		k, _ := q.Get()
		got <- k
	}()
	select {
	case k := <-got:
		return k
	case <-time.After(5 * time.Second):
		q.ShutDown()
		<-got
		t.Fatal("no key queued within 5s")
		return ""
	}
}

func blockUntil(t *testing.T, fc *clock.Fake, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := fc.BlockUntil(ctx, n); err != nil {
		t.Fatalf("waiting for %d timers on the fake clock: %v (have %d)", n, err, fc.Waiters())
	}
}

func TestAddRateLimitedFiresOnFakeClock(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0))
	q := New(fc, time.Second, time.Minute)
	defer q.ShutDown()
	q.AddRateLimited("k")
	blockUntil(t, fc, 1)
	fc.Step(time.Second - time.Nanosecond)
	if fc.Waiters() != 1 || q.Waiting() != 1 || q.Len() != 0 {
		t.Fatalf("before its backoff: waiters %d waiting %d queued %d, want 1 1 0", fc.Waiters(), q.Waiting(), q.Len())
	}
	fc.Step(time.Nanosecond)
	if k := get(t, q); k != "k" {
		t.Fatalf("got %q, want k", k)
	}
	if q.Waiting() != 0 {
		t.Fatalf("%d keys still waiting", q.Waiting())
	}
}

// TestAddAfterOneTimer: many delayed keys share one timer and come out
// earliest first; a key added again keeps its earlier time.
func TestAddAfterOneTimer(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0))
	q := New(fc, time.Second, time.Minute)
	defer q.ShutDown()
	for i := 100; i >= 1; i-- {
		q.AddAfter(fmt.Sprintf("k%03d", i), time.Duration(i)*time.Second)
	}
	q.AddAfter("k050", time.Hour)            // later: ignored
	q.AddAfter("k100", 500*time.Millisecond) // earlier: moves to the front
	// k100's move woke the loop, which stops the timer it had armed and
	// arms one for the new head: a moment with none, never one with two.
	testutil.Eventually(t, 5*time.Second, func() bool { return fc.Waiters() == 1 }, "one timer for 100 delayed keys")
	if n := q.Waiting(); n != 100 {
		t.Fatalf("%d keys waiting, want 100", n)
	}
	fc.Step(500 * time.Millisecond)
	if k := get(t, q); k != "k100" {
		t.Fatalf("first key %q, want k100 (moved earlier)", k)
	}
	fc.Step(100 * time.Second)
	for i := 1; i < 100; i++ {
		if k, want := get(t, q), fmt.Sprintf("k%03d", i); k != want {
			t.Fatalf("key %d: %q, want %q", i, k, want)
		}
	}
	if q.Waiting() != 0 || q.Len() != 0 {
		t.Fatalf("left: waiting %d queued %d", q.Waiting(), q.Len())
	}
}

// TestAddAfterEarlierRearms: a key due before the armed timer replaces it.
func TestAddAfterEarlierRearms(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0))
	q := New(fc, time.Second, time.Minute)
	defer q.ShutDown()
	q.AddAfter("late", time.Hour)
	blockUntil(t, fc, 1)
	q.AddAfter("soon", time.Second)
	fc.Step(time.Second)
	if k := get(t, q); k != "soon" {
		t.Fatalf("got %q, want soon", k)
	}
	if q.Waiting() != 1 {
		t.Fatalf("%d waiting, want late still waiting", q.Waiting())
	}
}

// TestAddAtIsADeadline: a key added at a time stays due at that time
// however far the clock moved before the call; one whose time has passed is
// queued at once.
func TestAddAtIsADeadline(t *testing.T) {
	t0 := time.Unix(0, 0)
	fc := clock.NewFake(t0)
	q := New(fc, time.Second, time.Minute)
	defer q.ShutDown()
	fc.Step(30 * time.Second) // the caller read t0, decided on t0+40s, then the clock moved
	q.AddAt("check", t0.Add(40*time.Second))
	blockUntil(t, fc, 1)
	fc.Step(10 * time.Second)
	if k := get(t, q); k != "check" {
		t.Fatalf("got %q, want check at its deadline", k)
	}
	q.Done("check")
	q.AddAt("late", t0) // already past
	if k := get(t, q); k != "late" {
		t.Fatalf("got %q, want late at once", k)
	}
}

// TestShutDownStopsDelays: ShutDown drops waiting keys, stops the timer and
// the goroutine (goleak in TestMain checks it), and later AddAfters do nothing.
func TestShutDownStopsDelays(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0))
	q := New(fc, time.Second, time.Minute)
	q.AddAfter("a", time.Minute)
	blockUntil(t, fc, 1)
	q.ShutDown()
	if n := fc.Waiters(); n != 0 {
		t.Fatalf("%d timers left after ShutDown", n)
	}
	q.AddAfter("b", time.Second)
	q.ShutDown() // twice is fine
	fc.Step(time.Hour)
	if q.Waiting() != 0 || q.Len() != 0 || fc.Waiters() != 0 {
		t.Fatalf("after ShutDown: waiting %d queued %d timers %d", q.Waiting(), q.Len(), fc.Waiters())
	}
	if _, ok := q.Get(); ok {
		t.Fatal("Get after ShutDown returned a key")
	}
}

func TestAddAfterRealClock(t *testing.T) {
	q := New(nil, time.Millisecond, time.Second)
	defer q.ShutDown()
	start := time.Now()
	q.AddAfter("b", 20*time.Millisecond)
	q.AddAfter("a", 10*time.Millisecond)
	if k := get(t, q); k != "a" {
		t.Fatalf("got %q, want a", k)
	}
	if k := get(t, q); k != "b" {
		t.Fatalf("got %q, want b", k)
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Fatalf("b came after %v, before its 20ms delay", d)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0))
	q := New(fc, time.Second, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	synced := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		q.Run(ctx, 2, func(_ context.Context, key string) error {
			synced <- key
			return errors.New("fail")
		})
	}()
	q.Add("x")
	if k := <-synced; k != "x" {
		t.Fatalf("synced %q", k)
	}
	blockUntil(t, fc, 1) // the failure's backoff
	if q.Failures("x") != 1 {
		t.Fatalf("failures %d, want 1", q.Failures("x"))
	}
	cancel()
	<-done
	if fc.Waiters() != 0 {
		t.Fatalf("backoff timer left after Run returned")
	}
}

func TestNamedQueueReportsDepthAndRetries(t *testing.T) {
	name := t.Name()
	depth := metrics.WorkqueueDepth.WithLabelValues(name)
	retries := metrics.WorkqueueRetries.WithLabelValues(name)
	read := func(c prometheus.Collector) float64 {
		t.Helper()
		v, err := metrics.Value(c)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// The counter is the process's: a run before this one (-count) left its retry.
	retried := read(retries)
	a := New(clock.NewFake(time.Unix(0, 0)), time.Second, time.Minute).Named(name)
	b := New(clock.NewFake(time.Unix(0, 0)), time.Second, time.Minute).Named(name)
	a.Add("x")
	a.Add("y")
	b.Add("z")
	if d := read(depth); d != 3 {
		t.Fatalf("depth %v after 3 adds over two queues, want 3", d)
	}
	k, _ := a.Get()
	if d := read(depth); d != 2 {
		t.Fatalf("depth %v after a Get, want 2", d)
	}
	a.AddRateLimited(k)
	a.Done(k)
	if r := read(retries) - retried; r != 1 {
		t.Fatalf("retries %v, want 1", r)
	}
	a.ShutDown()
	b.ShutDown()
	if d := read(depth); d != 0 {
		t.Fatalf("depth %v after shutdown, want 0", d)
	}
}
