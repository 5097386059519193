package leader

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"kubelite/internal/clock"
)

var (
	t0     = time.Date(2026, 12, 4, 23, 30, 0, 0, time.UTC)
	ms     = time.Millisecond
	timing = LeaseTiming{Margin: time.Second, Every: time.Second, Retry: 500 * ms, InFlight: 3}
)

func at(d time.Duration) time.Time { return t0.Add(d) }

func TestDecideLease(t *testing.T) {
	const ttl = 5 * time.Second
	fresh := leaseState{renewed: t0, ttl: ttl}
	cases := []struct {
		name string
		s    leaseState
		now  time.Duration // after t0
		want leaseStep
	}{
		{"fresh: the next renewal Every after the grant", fresh, 0, leaseStep{wake: at(time.Second)}},
		{"due", fresh, time.Second, leaseStep{renew: true}},
		{"one waits: the next a Retry after it began", leaseState{renewed: t0, ttl: ttl, tried: at(time.Second), inFlight: 1}, 1200 * ms, leaseStep{wake: at(1500 * ms)}},
		{"one waits, a Retry later: another", leaseState{renewed: t0, ttl: ttl, tried: at(time.Second), inFlight: 1}, 1500 * ms, leaseStep{renew: true}},
		{"one failed: again a Retry after it began", leaseState{renewed: t0, ttl: ttl, tried: at(time.Second)}, 1100 * ms, leaseStep{wake: at(1500 * ms)}},
		{"as many wait as may: until the deadline", leaseState{renewed: t0, ttl: ttl, tried: at(2 * time.Second), inFlight: 3}, 3 * time.Second, leaseStep{wake: at(4 * time.Second)}},
		{"the next retry after the deadline: wake at the deadline", leaseState{renewed: t0, ttl: ttl, tried: at(3800 * ms), inFlight: 1}, 3900 * ms, leaseStep{wake: at(4 * time.Second)}},
		{"just before the deadline: not lost", leaseState{renewed: t0, ttl: ttl, tried: at(3800 * ms), inFlight: 1}, 4*time.Second - 1, leaseStep{wake: at(4 * time.Second)}},
		{"the deadline: TTL less the margin after the latest success began", leaseState{renewed: t0, ttl: ttl, tried: at(3800 * ms), inFlight: 1}, 4 * time.Second, leaseStep{lost: true}},
		{"past it, with nothing waiting", fresh, time.Minute, leaseStep{lost: true}},
		{"a renewal that began later moves the deadline", leaseState{renewed: at(3 * time.Second), ttl: ttl, tried: at(3800 * ms), inFlight: 2}, 4500 * ms, leaseStep{renew: true}},
		{"the granted TTL counts", leaseState{renewed: t0, ttl: 2 * time.Second}, 999 * ms, leaseStep{wake: at(time.Second)}},
		{"the granted TTL counts: lost", leaseState{renewed: t0, ttl: 2 * time.Second}, time.Second, leaseStep{lost: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := decideLease(timing, tc.s, at(tc.now)); got != tc.want {
				t.Fatalf("decideLease at +%s = %+v, want %+v", tc.now, got, tc.want)
			}
		})
	}
}

func TestLeaseTimingDefaults(t *testing.T) {
	got := LeaseTiming{Margin: time.Second}.withDefaults(5 * time.Second)
	want := LeaseTiming{Margin: time.Second, Every: time.Second, Retry: 500 * ms, InFlight: 8}
	if got != want {
		t.Fatalf("defaults for 5s: %+v, want %+v", got, want)
	}
	if got := (LeaseTiming{}).withDefaults(time.Second); got.Retry != 100*ms {
		t.Fatalf("retry for 1s: %s, want 100ms", got.Retry)
	}
}

// keeper runs keepLease on a fake clock and a FakeRenewer.
type keeper struct {
	t        *testing.T
	ctx      context.Context
	clk      *clock.Fake
	r        *FakeRenewer
	done     chan struct{} // closed when keepLease returned err
	err      error
	answered chan struct{}
}

func startKeeper(t *testing.T, ttl time.Duration) *keeper {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	k := &keeper{t: t, ctx: ctx, clk: clock.NewFake(t0), r: NewFakeRenewer(), done: make(chan struct{}), answered: make(chan struct{}, 16)}
	go func() {
		defer close(k.done)
		k.err = keepLease(ctx, k.clk, nil, timing, t0, ttl, k.r, func() { k.answered <- struct{}{} })
	}()
	t.Cleanup(func() {
		cancel()
		<-k.done
	})
	return k
}

// armed waits until the keeper waits on its timer again; it fails the
// test if the keeper returned instead.
func (k *keeper) armed() {
	k.t.Helper()
	ch := make(chan error, 1)
	go func() { ch <- k.clk.BlockUntil(k.ctx, 1) }()
	select {
	case <-k.done:
		k.t.Fatalf("the lease was given up at +%s: %v", k.clk.Since(t0), k.err)
	case err := <-ch:
		if err != nil {
			k.t.Fatal(err)
		}
	}
}

// stepTo moves the clock to t0+d once the keeper waits.
func (k *keeper) stepTo(d time.Duration) {
	k.t.Helper()
	k.armed()
	k.clk.Set(at(d))
}

// attempt returns the attempt that began.
func (k *keeper) attempt() *FakeAttempt {
	k.t.Helper()
	a, err := k.r.Next(k.ctx)
	if err != nil {
		k.t.Fatalf("no renewal began at +%s: %v", k.clk.Since(t0), err)
	}
	return a
}

// answer answers a and waits until the keeper took it into account.
func (k *keeper) answer(a *FakeAttempt, ttl time.Duration, err error) {
	k.t.Helper()
	a.Answer(ttl, err)
	select {
	case <-k.answered:
	case <-k.done:
		k.t.Fatalf("the lease was given up at +%s: %v", k.clk.Since(t0), k.err)
	case <-k.ctx.Done():
		k.t.Fatal("the answer was not taken")
	}
}

func (k *keeper) givenUp() error {
	k.t.Helper()
	select {
	case <-k.done:
		if k.err == nil {
			k.t.Fatal("keepLease returned nil, want the lease lost")
		}
		return k.err
	case <-k.ctx.Done():
		k.t.Fatalf("the lease was not given up at +%s", k.clk.Since(t0))
		return nil
	}
}

// A renewal that answers late, but within the lease's time as measured
// from when it began, keeps the lease: meanwhile more attempts began, and
// the deadline moves to TTL - margin after the start of the latest that
// succeeded (an older success answering later does not move it back). The
// old keeper gave the lease up 4 s after the last answer it received.
func TestKeepLeaseSlowRenewalKeepsIt(t *testing.T) {
	k := startKeeper(t, 5*time.Second)
	k.stepTo(time.Second)
	a1 := k.attempt() // began at +1s; the server is slow to answer
	k.stepTo(1500 * ms)
	a2 := k.attempt()
	k.stepTo(2 * time.Second)
	a3 := k.attempt() // 3 wait: no more until one answers
	k.stepTo(3900 * ms)
	k.answer(a1, 5*time.Second, nil) // 2.9 s late: renewed from +1s, lost at +5s
	a4 := k.attempt()                // at once: the next was due
	k.stepTo(4500 * ms)              // past +4s, still held
	k.answer(a4, 5*time.Second, nil) // began +3.9s: lost at +7.9s
	k.answer(a2, 5*time.Second, nil) // began +1.5s: changes nothing
	k.answer(a3, 0, errors.New("etcdserver: request timed out"))
	k.stepTo(4900 * ms) // Every after a4 began
	k.attempt()
	k.stepTo(5400 * ms)
	k.attempt()
	k.stepTo(5900 * ms)
	k.attempt()
	// Nothing else answers: lost at +7.9s, not before.
	k.stepTo(7900*ms - 1)
	k.armed()
	k.clk.Set(at(7900 * ms))
	err := k.givenUp()
	for _, want := range []string{"not renewed since 4s ago", "1 attempts failed, 3 waiting", "etcdserver: request timed out"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// A renewal that does not answer before TTL - margin after the latest
// success began ends the lease, whatever still waits; the attempts still
// waiting are cancelled.
func TestKeepLeaseLateRenewalEndsIt(t *testing.T) {
	k := startKeeper(t, 5*time.Second)
	k.stepTo(time.Second)
	a1 := k.attempt()
	k.answer(a1, 5*time.Second, nil) // renewed from +1s: lost at +5s
	var waiting []*FakeAttempt
	for _, d := range []time.Duration{2 * time.Second, 2500 * ms, 3 * time.Second} {
		k.stepTo(d)
		waiting = append(waiting, k.attempt())
	}
	k.stepTo(5*time.Second - 1)
	k.armed()
	k.clk.Set(at(5 * time.Second))
	err := k.givenUp()
	if !strings.Contains(err.Error(), "not renewed since 4s ago") || !strings.Contains(err.Error(), "3 waiting") {
		t.Fatalf("error %q, want it to say since when and that 3 waited", err)
	}
	// The late answers find nobody; the keeper did not wait for them.
	for _, a := range waiting {
		a.Answer(5*time.Second, nil)
	}
}

// Failed renewals are tried again a Retry after each began, until the
// deadline; the error names the last failure.
func TestKeepLeaseFailuresRetryUntilTheDeadline(t *testing.T) {
	k := startKeeper(t, 5*time.Second)
	boom := errors.New("connection refused")
	k.stepTo(time.Second)
	for _, d := range []time.Duration{1500 * ms, 2 * time.Second, 2500 * ms, 3 * time.Second, 3500 * ms} {
		k.answer(k.attempt(), 0, boom)
		k.stepTo(d)
	}
	k.answer(k.attempt(), 0, boom)
	k.stepTo(4 * time.Second)
	err := k.givenUp()
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "6 attempts failed") {
		t.Fatalf("error %v, want 6 failures and the last", err)
	}
}

// A server that no longer has the lease ends it at once.
func TestKeepLeaseExpiredOnTheServer(t *testing.T) {
	for _, tc := range []struct {
		name string
		ttl  time.Duration
		err  error
	}{
		{"not found", 0, ErrLeaseExpired},
		{"granted nothing", -1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := startKeeper(t, 5*time.Second)
			k.stepTo(time.Second)
			k.attempt().Answer(tc.ttl, tc.err)
			if err := k.givenUp(); !errors.Is(err, ErrLeaseExpired) {
				t.Fatalf("error %v, want ErrLeaseExpired", err)
			}
		})
	}
}

// When ctx ends the keeper returns nil, its attempts cancelled.
func TestKeepLeaseStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	clk, r := clock.NewFake(t0), NewFakeRenewer()
	done := make(chan error, 1)
	go func() { done <- KeepLease(ctx, clk, nil, timing, t0, 5*time.Second, r) }()
	if err := clk.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clk.Set(at(time.Second))
	if _, err := r.Next(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("KeepLease returned %v when its ctx ended, want nil", err)
	}
}
