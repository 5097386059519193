package clock

import (
	"context"
	"sort"
	"sync"
	"time"
)

// Clock is what a control loop needs of time.
type Clock interface {
	Now() time.Time
	Since(t time.Time) time.Duration
	// After fires once d has passed.
	After(d time.Duration) <-chan time.Time
	// NewTimer returns a timer that fires once d has passed, unless stopped.
	NewTimer(d time.Duration) Timer
	// NewTimerAt returns a timer that fires once the clock reaches t (at
	// once if it has), unless stopped. A loop that waits for a deadline it
	// computed from an earlier reading arms it at the deadline itself: as a
	// delay from that reading, a fake clock moved meanwhile by a test's
	// whole step would put the timer a step late.
	NewTimerAt(t time.Time) Timer
}

// Timer is a one-shot timer that can be stopped before it fires.
type Timer interface {
	// C fires once, when the timer's time has come.
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it stopped it
	// (false: it had fired or was stopped already).
	Stop() bool
}

// Real is the wall clock.
type Real struct{}

var _ Clock = Real{}

// Now implements Clock.
func (Real) Now() time.Time { return time.Now() }

// Since implements Clock.
func (Real) Since(t time.Time) time.Duration { return time.Since(t) }

// After implements Clock.
func (Real) After(d time.Duration) <-chan time.Time { return time.After(d) }

// NewTimer implements Clock.
func (Real) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

// NewTimerAt implements Clock.
func (Real) NewTimerAt(t time.Time) Timer { return realTimer{time.NewTimer(time.Until(t))} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }

// Fake is a clock tests move by hand. Its waiters are the After channels and
// Timers that have not fired (nor been stopped) yet; BlockUntil lets a test
// wait until the code under test has set its timers, instead of sleeping.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	waiters []*waiter
	changed chan struct{} // closed and replaced whenever waiters change
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

var _ Clock = (*Fake)(nil)

// NewFake returns a fake clock at t.
func NewFake(t time.Time) *Fake { return &Fake{now: t, changed: make(chan struct{})} }

// Now implements Clock.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Since implements Clock.
func (f *Fake) Since(t time.Time) time.Duration { return f.Now().Sub(t) }

// After implements Clock.
func (f *Fake) After(d time.Duration) <-chan time.Time { return f.add(d).ch }

// NewTimer implements Clock.
func (f *Fake) NewTimer(d time.Duration) Timer { return &fakeTimer{f: f, w: f.add(d)} }

// NewTimerAt implements Clock.
func (f *Fake) NewTimerAt(t time.Time) Timer {
	return &fakeTimer{f: f, w: f.addAt(func(time.Time) time.Time { return t })}
}

func (f *Fake) add(d time.Duration) *waiter {
	return f.addAt(func(now time.Time) time.Time { return now.Add(d) })
}

// addAt adds a waiter at the time when(now) returns, read under the
// clock's lock: a concurrent Set cannot come between the reading and the
// waiter.
func (f *Fake) addAt(when func(now time.Time) time.Time) *waiter {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := when(f.now)
	w := &waiter{at: t, ch: make(chan time.Time, 1)}
	if !t.After(f.now) {
		w.ch <- f.now
		return w
	}
	f.waiters = append(f.waiters, w)
	f.notifyLocked()
	return w
}

func (f *Fake) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

type fakeTimer struct {
	f *Fake
	w *waiter
}

func (t *fakeTimer) C() <-chan time.Time { return t.w.ch }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	for i, w := range t.f.waiters {
		if w == t.w {
			t.f.waiters = append(t.f.waiters[:i], t.f.waiters[i+1:]...)
			t.f.notifyLocked()
			return true
		}
	}
	return false
}

// Waiters returns how many After channels and Timers have not fired yet.
func (f *Fake) Waiters() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.waiters)
}

// BlockUntil blocks until at least n After channels or Timers wait on the
// clock, or ctx ends (its error). A test calls it before Step to know that
// the code under test has armed the timer the step is meant to fire (or
// not to fire), with no sleep.
func (f *Fake) BlockUntil(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		have, changed := len(f.waiters), f.changed
		f.mu.Unlock()
		if have >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Step moves the clock forward by d, firing every timer now due.
func (f *Fake) Step(d time.Duration) { f.Set(f.Now().Add(d)) }

// Set moves the clock to t, firing every timer now due, earliest first.
// Timers fire before Set returns: a timer still counted by Waiters after Set
// was not due.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = t
	sort.SliceStable(f.waiters, func(i, j int) bool { return f.waiters[i].at.Before(f.waiters[j].at) })
	var keep []*waiter
	for _, w := range f.waiters {
		if !w.at.After(t) {
			w.ch <- t
		} else {
			keep = append(keep, w)
		}
	}
	if len(keep) != len(f.waiters) {
		f.waiters = keep
		f.notifyLocked()
	}
}
